import CSandbox
import Foundation
import Glibc
import Synchronization

/// A child process for tests and tools, with the standard streams it is given.
///
/// It is started by `csb_spawn` (vfork + exec with an exact descriptor map), not by
/// Foundation's `Process`: on Linux, `Process.run()` of swift-corelibs-foundation 6.3 copies a
/// fixed 256 bytes out of every `/proc/self/fd` entry and so reads past `opendir`'s buffer
/// (swiftlang/swift-corelibs-foundation#5472). When that buffer ends a heap mapping, the test
/// process dies with SIGSEGV; it did so in about one full test run in twenty.
///
/// The child gets exactly the three standard descriptors chosen here, and dies with the test
/// process (`PR_SET_PDEATHSIG`), so a crashed run leaves no children behind. Its exit is
/// watched through a pidfd by a thread of its own, so it is never reaped twice and a signal is
/// never sent to a recycled pid.
public final class ChildProcess: Sendable {
    /// How a child ended.
    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        /// It called `exit` with this code.
        case exited(Int32)
        /// A signal with this number killed it.
        case signaled(Int32)

        public var description: String {
            switch self {
            case .exited(let code): "exit code \(code)"
            case .signaled(let signal): "signal \(signal)"
            }
        }

        /// Whether it exited with code 0.
        public var succeeded: Bool { self == .exited(0) }
    }

    /// What the child reads as its standard input.
    public enum Input: Sendable {
        /// `/dev/null`.
        case null
        /// A pipe this side writes with ``writeInput(_:)`` and ends with ``closeInput()``.
        case pipe
    }

    /// Where the child's standard output or error goes.
    public enum Output: Sendable {
        /// This process's own descriptor of the same number.
        case inherit
        /// `/dev/null`.
        case null
        /// A pipe this side reads with ``readOutput(_:)``.
        case pipe
        /// A file, created or truncated.
        case file(String)
    }

    /// Which pipe ``readOutput(_:)`` reads.
    public enum Stream: Sendable {
        case standardOutput
        case standardError
    }

    /// Starting the child failed; nothing is left running.
    public struct LaunchFailed: Error, CustomStringConvertible {
        public let executable: String
        public let step: String
        public let errno: Int32

        public var description: String {
            "cannot start \(executable): \(step) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }

    private struct State {
        var termination: Termination?
        var waiters: [@Sendable (Termination) -> Void] = []
        var input: Int32?
    }

    /// The process id.
    public let processIdentifier: Int32
    private let state: Mutex<State>
    private let output: Int32?
    private let error: Int32?

    private init(pid: Int32, input: Int32?, output: Int32?, error: Int32?) {
        processIdentifier = pid
        state = Mutex(State(input: input))
        self.output = output
        self.error = error
    }

    deinit {
        if let input = state.withLock({ $0.input }) { close(input) }
        if let output { close(output) }
        if let error { close(error) }
    }

    /// Starts `executable` (a path, or a name looked up in the `PATH` of `environment`) with
    /// `arguments` and `environment` (this process's own when nil).
    public static func launch(
        executable: String, arguments: [String] = [], environment: [String: String]? = nil,
        standardInput: Input = .null, standardOutput: Output = .inherit, standardError: Output = .inherit
    ) throws -> ChildProcess {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let path = try resolve(executable, searchPath: environment["PATH"])

        // Descriptors to close once the child has them (its ends) or on failure (all).
        var childEnds: [Int32] = []
        var parentEnds: [Int32] = []
        func fail(_ step: String, _ code: Int32) -> LaunchFailed {
            (childEnds + parentEnds).forEach { close($0) }
            return LaunchFailed(executable: executable, step: step, errno: code)
        }
        func pipeEnds() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            let result = csb_pipe_cloexec(&fds)
            guard result == 0 else { throw fail("pipe", -result) }
            return (fds[0], fds[1])
        }
        func openChildEnd(_ file: String, _ flags: Int32) throws -> Int32 {
            let fd = open(file, flags | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw fail("open \(file)", errno) }
            childEnds.append(fd)
            return fd
        }

        var map: [Int32] = []
        var inputEnd: Int32?
        switch standardInput {
        case .null:
            map += [try openChildEnd("/dev/null", O_RDONLY), 0]
        case .pipe:
            let ends = try pipeEnds()
            childEnds.append(ends.read)
            parentEnds.append(ends.write)
            inputEnd = ends.write
            map += [ends.read, 0]
        }
        func route(_ output: Output, to target: Int32) throws -> Int32? {
            switch output {
            case .inherit:
                map += [target, target]
                return nil
            case .null:
                map += [try openChildEnd("/dev/null", O_WRONLY), target]
                return nil
            case .file(let file):
                map += [try openChildEnd(file, O_WRONLY | O_CREAT | O_TRUNC), target]
                return nil
            case .pipe:
                let ends = try pipeEnds()
                childEnds.append(ends.write)
                parentEnds.append(ends.read)
                map += [ends.write, target]
                return ends.read
            }
        }
        let outputEnd = try route(standardOutput, to: 1)
        let errorEnd = try route(standardError, to: 2)

        var pid: pid_t = 0
        let spawned = withCStrings([path] + arguments) { argv in
            withCStrings(environment.map { "\($0.key)=\($0.value)" }) { envp in
                csb_spawn(path, argv, envp, map, map.count / 2, CSB_SPAWN_DIE_WITH_PARENT, &pid)
            }
        }
        guard spawned == 0 else { throw fail("exec", -spawned) }
        childEnds.forEach { close($0) }
        childEnds = []

        let pidfd = csb_pidfd_open(pid)
        guard pidfd >= 0 else {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            throw fail("pidfd_open", -pidfd)
        }
        let child = ChildProcess(pid: pid, input: inputEnd, output: outputEnd, error: errorEnd)
        let watcher = Thread { [child] in child.watch(pidfd: pidfd) }
        watcher.name = "child \(pid)"
        watcher.start()
        return child
    }

    /// Runs `executable` to its end, feeding it `input` and collecting both of its outputs.
    /// The blocking work happens on threads of its own, never on the cooperative pool.
    public static func run(
        executable: String, arguments: [String] = [], environment: [String: String]? = nil, input: [UInt8] = []
    ) async throws -> (termination: Termination, output: [UInt8], error: [UInt8]) {
        let child = try launch(
            executable: executable, arguments: arguments, environment: environment,
            standardInput: .pipe, standardOutput: .pipe, standardError: .pipe)
        // Feed and drain at the same time, so neither side blocks on a full pipe.
        async let fed: Void = onOwnThread {
            child.writeInput(input)
            child.closeInput()
        }
        async let output = onOwnThread { child.readToEnd(.standardOutput) }
        async let error = onOwnThread { child.readToEnd(.standardError) }
        let collected = try await (output, error)
        try await fed
        return (await child.exitStatus(), collected.0, collected.1)
    }

    /// How the child ended, or nil while it runs.
    public var termination: Termination? {
        state.withLock { $0.termination }
    }

    /// Waits for the child to end.
    public func exitStatus() async -> Termination {
        await withCheckedContinuation { continuation in
            whenEnded { continuation.resume(returning: $0) }
        }
    }

    /// Blocks the calling thread until the child ends; for synchronous contexts such as a
    /// test trait's condition, never for the cooperative pool.
    public func waitUntilExit() -> Termination {
        let ended = DispatchSemaphore(value: 0)
        let result = Mutex<Termination?>(nil)
        whenEnded { termination in
            result.withLock { $0 = termination }
            ended.signal()
        }
        ended.wait()
        return result.withLock { $0! }
    }

    /// Calls `action` with the termination once the child has ended (at once if it has).
    private func whenEnded(_ action: @escaping @Sendable (Termination) -> Void) {
        let ended: Termination? = state.withLock { state in
            if let termination = state.termination { return termination }
            state.waiters.append(action)
            return nil
        }
        if let ended { action(ended) }
    }

    /// Sends `signal` unless the child has ended.
    public func signal(_ signal: Int32) {
        // Under the lock the watcher reaps with, so the pid cannot have been recycled.
        state.withLock { state in
            if state.termination == nil { _ = Glibc.kill(processIdentifier, signal) }
        }
    }

    /// Sends SIGKILL unless the child has ended, and waits for it.
    public func kill() async {
        signal(SIGKILL)
        _ = await exitStatus()
    }

    /// Writes all of `bytes` to the child's standard input (a `.pipe`); blocks. Returns false
    /// if the child closed its end first.
    @discardableResult
    public func writeInput(_ bytes: [UInt8]) -> Bool {
        guard let fd = state.withLock({ $0.input }) else { return false }
        return bytes.withUnsafeBytes { csb_write_all(fd, $0.baseAddress, $0.count) } == 0
    }

    /// Ends the child's standard input.
    public func closeInput() {
        if let fd = state.withLock({ state in defer { state.input = nil }; return state.input }) { close(fd) }
    }

    /// Reads what the child has written to `stream` (a `.pipe`), waiting until there is
    /// something; empty at the end. Blocks: call it from a thread of its own.
    public func readOutput(_ stream: Stream, maximumCount: Int = 65536) -> [UInt8] {
        guard let fd = stream == .standardOutput ? output : error else { return [] }
        var buffer = [UInt8](repeating: 0, count: maximumCount)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count >= 0 { return Array(buffer[..<count]) }
            if errno != EINTR { return [] }
        }
    }

    /// Reads `stream` to its end. Blocks: call it from a thread of its own.
    public func readToEnd(_ stream: Stream) -> [UInt8] {
        var all: [UInt8] = []
        while true {
            let chunk = readOutput(stream)
            if chunk.isEmpty { return all }
            all += chunk
        }
    }

    /// The watcher thread: waits for the pidfd to become readable, then reaps.
    private func watch(pidfd: Int32) {
        var ready = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        while poll(&ready, 1, -1) < 0 && errno == EINTR {}
        let (termination, waiters) = state.withLock { state -> (Termination, [@Sendable (Termination) -> Void]) in
            var exited: Int32 = 0
            var status: Int32 = 0
            let reaped = csb_pidfd_reap(pidfd, &exited, &status)
            // 0 (still running) cannot follow a readable pidfd; a failure is reported as
            // SIGKILL, the only way a test child is ended from outside.
            let termination: Termination =
                reaped == 1 ? (exited == 1 ? .exited(status) : .signaled(status)) : .signaled(SIGKILL)
            state.termination = termination
            defer { state.waiters = [] }
            return (termination, state.waiters)
        }
        close(pidfd)
        for waiter in waiters { waiter(termination) }
    }

    private static func resolve(_ executable: String, searchPath: String?) throws -> String {
        if executable.contains("/") { return executable }
        for directory in (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw LaunchFailed(executable: executable, step: "looking it up in PATH", errno: ENOENT)
    }
}

/// Runs `body`, which blocks (pipes, waiting for a process), on a thread of its own, so it
/// never holds one of the cooperative pool's few threads that every other test needs.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result)
    -> Result
{
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
