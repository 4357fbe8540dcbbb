import Foundation
public import Logging
public import OasisCommon
public import ProcessTesting
public import RuntimeHostProtocol

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
    acceptTimeout: Duration = .seconds(300),
    handshakeTimeout: Duration = .seconds(120),
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

private func makeTemporaryDirectory() throws -> String {
    // Short, because a Unix socket path must fit in 108 bytes.
    var template = Array("/tmp/rhp-XXXXXX".utf8CString)
    guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw SystemCallFailed(call: "mkdtemp", errno: errno)
    }
    return String(cString: result)
}
