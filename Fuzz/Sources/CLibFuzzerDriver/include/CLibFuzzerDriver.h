#ifndef C_LIBFUZZER_DRIVER_H
#define C_LIBFUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for programs that have their own `main` (libFuzzer >= 12).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test_one_input)(const uint8_t *data, size_t size));

/// Runs libFuzzer over `test_one_input` with the program's arguments; returns its exit status.
int fuzz_run_driver(int argc, char **argv, int (*test_one_input)(const uint8_t *data, size_t size));

#endif
