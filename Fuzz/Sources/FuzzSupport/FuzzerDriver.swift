// SwiftPM links an executable target's entry point under a per-target name and aliases `main`
// to it, which leaves no room for libFuzzer's own `main`. So each target has a Swift `@main`
// that hands libFuzzer its `LLVMFuzzerTestOneInput` through `LLVMFuzzerRunDriver`.
import CLibFuzzerDriver
#if canImport(Glibc)
import Glibc
#endif

/// The signature of `LLVMFuzzerTestOneInput`.
public typealias FuzzTestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer on `testOneInput` with the process's command line, then exits with its status.
public func runLibFuzzer(_ testOneInput: FuzzTestOneInput) -> Never {
    exit(fuzz_run_driver(CommandLine.argc, CommandLine.unsafeArgv, testOneInput))
}
