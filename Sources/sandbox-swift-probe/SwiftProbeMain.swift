// sandbox-swift-probe: a test fixture that is a Swift program linked against the shared Swift
// runtime (libswiftCore, the concurrency runtime, libdispatch), to show that such a runtime
// starts inside the sandbox: its libraries are found through RUNPATH and bound, and the seccomp
// filter lets the concurrency runtime start its threads (clone3 → ENOSYS → clone). It also
// reports whether /proc is there, which libdispatch's worker monitor needs.

import Glibc

/// Runs a few child tasks on the global executor and prints their sum.
@main
struct SwiftProbeMain {
    static func main() async {
        let sum = await withTaskGroup(of: Int.self) { group in
            for value in 1...8 { group.addTask { value * value } }
            var sum = 0
            for await square in group { sum += square }
            return sum
        }
        print("swift ok \(sum) proc=\(access("/proc/self/stat", F_OK) == 0 ? 1 : 0)")
    }
}
