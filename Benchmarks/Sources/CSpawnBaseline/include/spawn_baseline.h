#ifndef SPAWN_BASELINE_H
#define SPAWN_BASELINE_H

#include <stddef.h>
#include <stdint.h>

/// The raw spawn-to-answer baseline of host-bench (after /work/shared/baselines/spawn.c):
/// listens on `socket_path`, posix_spawns `argv` with `envp`, accepts the child's connection,
/// writes `request` (a complete length-prefixed frame) and reads one length-prefixed frame
/// back. The time from just before the spawn to the answer goes to `*elapsed_ns`. Then closes
/// the connection, kills the child (SIGKILL) and reaps it, untimed.
/// Returns 0 on success, -1 (with a message on stderr) on failure.
int spawn_ping_once(const char *socket_path, char *const argv[], char *const envp[], const uint8_t *request,
                    size_t request_length, uint64_t *elapsed_ns);

#endif
