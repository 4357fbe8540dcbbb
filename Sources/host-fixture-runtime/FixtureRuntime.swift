#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import OasisCommon
import RuntimeHostProtocol

/// Test fixture for the runtime supervisor: a guest that misbehaves on purpose.
///
/// The mode is the first argument, or else the part of the program's name after the last
/// `--` (so a symlink `…/fixture--hang-pings` selects `hang-pings` without arguments, which a
/// provisioner does not pass):
/// * `exit-after-handshake`: answers the handshake, then exits with status 1 shortly after;
/// * `hang-pings`: answers the handshake and aborts, but never answers a ping;
/// * `hang-aborts`: answers the handshake and pings, but never answers an abort;
/// * `chatty`: writes 1,500 lines to stderr once connected, then behaves;
/// * `close-on-usr1`: behaves until it gets SIGUSR1, then closes its connection and keeps
///   running (until killed);
/// * anything else: answers the handshake, pings and aborts.
@main
enum FixtureRuntime {
    static func main() async {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "host-fixture-runtime")
        let arguments = CommandLine.arguments
        let name = arguments[0].split(separator: "/").last.map(String.init) ?? ""
        let mode: String
        if arguments.count > 1 {
            mode = arguments[1]
        } else if case let parts = name.split(separator: "--", omittingEmptySubsequences: false), parts.count > 1 {
            mode = String(parts[parts.count - 1])
        } else {
            mode = "well-behaved"
        }
        guard let socketPath = getenv("OASIS_WORKER_HOST").map({ String(cString: $0) }) else {
            logger.critical("host-fixture-runtime: OASIS_WORKER_HOST is not set")
            exit(2)
        }
        let (handshakes, handshakeSeen) = AsyncStream.makeStream(of: Void.self)
        let handler = FixtureHandler(mode: mode, onHandshake: { handshakeSeen.yield() })
        let connection: Connection
        do {
            connection = try await Connection.connect(unixSocketPath: socketPath, handler: handler, logger: logger)
        } catch {
            logger.critical("host-fixture-runtime: cannot connect", metadata: ["error": "\(error)"])
            exit(2)
        }
        // Ready before the handshake, so a SIGUSR1 sent once the host has seen it is caught;
        // the source lives as long as the process.
        let (signals, signalled) = AsyncStream.makeStream(of: Void.self)
        signal(SIGUSR1, SIG_IGN)
        let usr1 = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
        usr1.setEventHandler { signalled.yield() }
        usr1.resume()
        defer { usr1.cancel() }
        connection.initGuest()
        if mode == "chatty" {
            for line in 1...1500 {
                let text = "chatty line \(line)\n"
                _ = text.withCString { write(2, $0, strlen($0)) }
            }
        }
        logger.info("host-fixture-runtime: connected", metadata: ["fixture.mode": "\(mode)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await connection.run() }
            if mode == "exit-after-handshake" {
                group.addTask {
                    for await _ in handshakes {
                        // Long enough for the answer to reach the host.
                        try? await Task.sleep(for: .milliseconds(100))
                        logger.info("host-fixture-runtime: exiting after the handshake")
                        exit(1)
                    }
                }
            }
            if mode == "close-on-usr1" {
                group.addTask {
                    for await _ in signals {
                        logger.info("host-fixture-runtime: closing the connection on SIGUSR1")
                        await connection.close()
                        // Alive, but with nobody to talk to.
                        while true { pause() }
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}

/// Answers the handshake, and pings and aborts unless told to hang on them.
struct FixtureHandler: RequestHandler {
    let mode: String
    let onHandshake: @Sendable () -> Void

    func handle(_ request: Body) async throws -> Body {
        switch request {
        case .runtimeInfoRequest:
            onHandshake()
            return .runtimeInfoResponse(
                RuntimeInfoResponse(protocolVersion: .runtimeHostProtocol, runtimeVersion: Version(major: 9, minor: 9)))
        case .runtimePingRequest:
            if mode == "hang-pings" {
                while true { try await Task.sleep(for: .seconds(3600)) }
            }
            return .empty
        case .runtimeAbortRequest:
            if mode == "hang-aborts" {
                while true { try await Task.sleep(for: .seconds(3600)) }
            }
            return .runtimeAbortResponse
        default:
            throw MethodNotSupported()
        }
    }
}
