import Foundation
public import Logging
public import OasisCommon
public import RuntimeHostProtocol
import Synchronization

/// A runtime process started by ``withHostedRuntime(executable:arguments:environment:runtimeID:hostInfo:handler:logger:acceptTimeout:_:)``.
public struct HostedRuntime: Sendable {
    /// The host-mode connection, Ready (the handshake is done) and served by a running `run()`.
    public let connection: Connection
    /// The version the runtime reported in the handshake.
    public let runtimeVersion: Version
    /// The child process.
    public let process: ChildProcess
    /// The socket path the runtime connected to.
    public let socketPath: String
}

/// Test support: plays the node's side for a runtime binary.
///
/// Binds a Unix socket in a fresh temporary directory, starts `executable` with
/// `OASIS_WORKER_HOST=<socket>` in its environment, accepts its connection, runs the RHP
/// handshake as the host, and hands the Ready connection to `body` while `Connection.run()`
/// serves the runtime's requests with `handler`. Afterwards — however `body` ends — the
/// connection is closed, the child killed (SIGKILL) and reaped, and the directory removed.
///
/// The handshake deadline is generous by default (a loaded test machine can be slow); the
/// node's own 1 s deadline belongs to the provisioner.
public func withHostedRuntime<T: Sendable>(
    executable: String, arguments: [String] = [], environment: [String: String] = [:],
    runtimeID: Namespace = Namespace.test(seed: "rhp-testing"),
    hostInfo: HostInfo = HostInfo(
        consensusBackend: "tendermint", consensusProtocolVersion: Version.consensusProtocol.packed,
        consensusChainContext: "rhp-testing"),
    handler: any RequestHandler = UnsupportedRequestHandler(),
    logger: Logger,
    acceptTimeout: Duration = .seconds(60),
    handshakeTimeout: Duration = .seconds(30),
    _ body: @Sendable (HostedRuntime) async throws -> T
) async throws -> T {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let socketPath = directory + "/rhp.sock"
    let listener = try await ConnectionListener.bind(unixSocketPath: socketPath)

    var childEnvironment = ProcessInfo.processInfo.environment
    childEnvironment.merge(environment) { _, new in new }
    childEnvironment["OASIS_WORKER_HOST"] = socketPath
    let child: ChildProcess
    do {
        child = try ChildProcess.launch(executable: executable, arguments: arguments, environment: childEnvironment)
    } catch {
        await listener.close()
        throw error
    }

    let connection: Connection
    do {
        connection = try await listener.accept(handler: handler, logger: logger, timeout: acceptTimeout)
    } catch {
        await listener.close()
        await child.kill()
        throw error
    }

    do {
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            defer { group.cancelAll() }
            let version = try await connection.initHost(
                runtimeID: runtimeID, hostInfo: hostInfo, timeout: handshakeTimeout)
            let result = try await body(
                HostedRuntime(connection: connection, runtimeVersion: version, process: child, socketPath: socketPath))
            await connection.close()
            await child.kill()
            return result
        }
    } catch {
        await connection.close()
        await child.kill()
        throw error
    }
}

/// A child process whose exit can be awaited.
public final class ChildProcess: Sendable {
    private struct State {
        var status: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }

    private let state = Mutex(State())
    /// Kept alive for as long as the child runs; `Process` is not Sendable, so it sits behind
    /// the lock and nothing but `launch` touches it.
    private let process: Mutex<Process>
    /// The process id.
    public let processIdentifier: Int32

    private init(running process: sending Process, pid: Int32) {
        self.processIdentifier = pid
        self.process = Mutex(process)
    }

    /// Starts `executable` (a path, or a name looked up in `PATH`).
    public static func launch(executable: String, arguments: [String], environment: [String: String]) throws
        -> ChildProcess
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolve(executable, path: environment["PATH"]))
        process.arguments = arguments
        process.environment = environment
        // The handler may run before `launch` returns, so the exit lands in a box the child
        // object picks up.
        let exit = ExitBox()
        process.terminationHandler = { finished in
            exit.record(finished.terminationStatus)
        }
        try process.run()
        let pid = process.processIdentifier
        let child = ChildProcess(running: process, pid: pid)
        exit.forward(to: child)
        return child
    }

    /// Waits for the process to exit and returns its status (the signal number if killed).
    public func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status: Int32? = state.withLock { state in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Sends SIGKILL unless the process has exited, and waits for it.
    public func kill() async {
        let running = state.withLock { $0.status == nil }
        if running { Foundation.kill(processIdentifier, SIGKILL) }
        _ = await exitStatus()
    }

    fileprivate func didExit(status: Int32) {
        let waiters = state.withLock { state in
            state.status = status
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    private static func resolve(_ executable: String, path: String?) throws -> String {
        if executable.contains("/") { return executable }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: executable])
    }
}

/// Carries a child's exit status from the termination handler to its `ChildProcess`, whichever
/// of the two comes first.
private final class ExitBox: Sendable {
    private enum State {
        case empty
        case exited(Int32)
        case forwarding(ChildProcess)
    }

    private let state = Mutex(State.empty)

    func record(_ status: Int32) {
        let child: ChildProcess? = state.withLock { state in
            if case .forwarding(let child) = state { return child }
            state = .exited(status)
            return nil
        }
        child?.didExit(status: status)
    }

    func forward(to child: ChildProcess) {
        let status: Int32? = state.withLock { state in
            if case .exited(let status) = state { return status }
            state = .forwarding(child)
            return nil
        }
        if let status { child.didExit(status: status) }
    }
}

private func makeTemporaryDirectory() throws -> String {
    // Short, because a Unix socket path must fit in 108 bytes.
    var template = Array("/tmp/rhp-XXXXXX".utf8CString)
    guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw SystemCallFailed(call: "mkdtemp", errno: errno)
    }
    return String(cString: result)
}
