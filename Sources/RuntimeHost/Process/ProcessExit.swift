/// How a runtime process ended.
///
/// `description` reads like oasis-core's `Process.Error()`: `process terminated with exit code 3`,
/// `process died due to signal killed` (a clean exit reads `process exited successfully`).
public enum ProcessExit: Sendable, Hashable, CustomStringConvertible {
    /// The process called `exit` with this code.
    case exited(code: Int32)
    /// The process was terminated by this signal number.
    case signaled(signal: Int32)
    /// The process is gone but could not be reaped here (errno of the wait), so how it ended
    /// is unknown; happens only if something else in the node reaps children.
    case waitFailed(errno: Int32)

    /// True for exit code 0, which oasis-core reports as "no error".
    public var isSuccess: Bool { self == .exited(code: 0) }

    /// The error text oasis-core gives, or nil for a clean exit.
    public var errorText: String? {
        switch self {
        case .exited(code: 0): return nil
        case .exited(let code): return "process terminated with exit code \(code)"
        case .signaled(let signal): return "process died due to signal \(Self.signalName(signal))"
        case .waitFailed(let code): return "failed to wait for the process: \(errnoText(code))"
        }
    }

    /// `errorText`, or `process exited successfully`.
    public var description: String { errorText ?? "process exited successfully" }

    /// Go's names for the Linux signals (`syscall.Signal.String()`), so logs match oasis-core's.
    static func signalName(_ signal: Int32) -> String {
        let names = [
            "hangup", "interrupt", "quit", "illegal instruction", "trace/breakpoint trap", "aborted",
            "bus error", "floating point exception", "killed", "user defined signal 1",
            "segmentation fault", "user defined signal 2", "broken pipe", "alarm clock", "terminated",
            "stack fault", "child exited", "continued", "stopped (signal)", "stopped",
            "stopped (tty input)", "stopped (tty output)", "urgent I/O condition",
            "CPU time limit exceeded", "file size limit exceeded", "virtual timer expired",
            "profiling timer expired", "window changed", "I/O possible", "power failure",
            "bad system call",
        ]
        return (1...names.count).contains(Int(signal)) ? names[Int(signal) - 1] : "signal \(signal)"
    }
}
