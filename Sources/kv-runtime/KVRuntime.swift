#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOPosix
import RuntimeHostProtocol

/// The reference key-value runtime: connects to the host's socket (`OASIS_WORKER_HOST`),
/// serves RHP as the guest until the host closes the connection, then exits 0.
///
/// Exit status 2 means it could not start (no socket path, nothing listening there).
@main
enum KVRuntime {
    static func main() async {
        // JSON lines on stderr, which the node relays at their own level.
        LoggingSystem.bootstrap { _ in
            var handler = JSONLineLogHandler()
            handler.logLevel = ProcessInfo.processInfo.environment["KV_RUNTIME_LOG_LEVEL"]
                .flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let logger = Logger(label: "kv-runtime")
        guard let socketPath = ProcessInfo.processInfo.environment["OASIS_WORKER_HOST"], !socketPath.isEmpty else {
            logger.critical("kv-runtime: OASIS_WORKER_HOST is not set; the host sets it to its RHP socket path")
            exit(2)
        }
        // State is read from the host over the same connection, which exists only once the
        // handler does: the link is attached before the connection becomes Ready.
        let host = HostLink()
        let handler = KVHandler(state: HostState(host: host), logger: logger)
        // One connection needs one event loop. NIO's shared group would start one per core, each
        // thread's stack counting in full against a memory limit the node may set
        // (`runtime.limits.memory`), so what the runtime needs would grow with the machine.
        let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connection: Connection
        do {
            // The handler mostly waits (on the host, for state), so it runs on the event loop.
            connection = try await Connection.connect(
                unixSocketPath: socketPath, handler: handler,
                configuration: Connection.Configuration(servesRequestsOnEventLoop: true, ignoresUnknownFields: true),
                logger: logger, eventLoopGroup: eventLoops)
        } catch {
            logger.critical("kv-runtime: cannot connect to the host", metadata: ["rhp.socket": "\(socketPath)", "error": "\(error)"])
            exit(2)
        }
        host.attach(connection)
        connection.initGuest()
        do {
            try await connection.run()
        } catch {
            logger.error("kv-runtime: connection ended with an error", metadata: ["error": "\(error)"])
        }
        logger.info("kv-runtime: host closed the connection", metadata: ["rhp.reason": "\(connection.closeReason ?? "")"])
        try? await eventLoops.shutdownGracefully()
    }
}
