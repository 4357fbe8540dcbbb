public import Logging
public import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import Synchronization

/// The node's control API: HTTP/1.1 on a Unix socket that only the node's user can open.
///
/// ``bind()`` takes the socket early, so a second node on the same data directory fails before
/// it starts anything else; ``run()`` serves until graceful shutdown, then drains and removes
/// the socket file. Requests go to one ``ControlHandler``; the transport answers malformed HTTP
/// with 400 and bodies over ``maxBodySize`` with 413 itself.
public final class ControlServer: Service, Sendable {
    /// The largest request body accepted (1 MiB).
    public static let maxBodySize = 1 << 20
    /// How long in-flight requests may run once graceful shutdown has closed the listener.
    public static let drainTimeout: Duration = .seconds(5)

    /// The socket path.
    public let socketPath: String
    private let core: HTTPServerCore
    private let logger: Logger
    private let state = Mutex<State>(.idle)

    private enum State {
        case idle
        case bound(HTTPListenerChannel, SocketFile.Entry)
        case running
        case finished
    }

    /// A server for `socketPath` that answers every request with `handler`.
    public convenience init(socketPath: String, handler: @escaping ControlHandler, logger: Logger) {
        self.init(socketPath: socketPath, handler: handler, logger: logger, drainTimeout: Self.drainTimeout)
    }

    /// Tests shorten the drain to see a stuck request cancelled, and the connection limits to
    /// see idle connections closed.
    init(
        socketPath: String, handler: @escaping ControlHandler, logger: Logger, drainTimeout: Duration,
        limits: HTTPServerCore.Limits = HTTPServerCore.Limits()
    ) {
        self.socketPath = socketPath
        self.logger = logger
        self.core = HTTPServerCore(
            handler: handler, logger: logger, maxBodySize: Self.maxBodySize, drainTimeout: drainTimeout,
            limits: limits)
    }

    /// Binds the socket now, so the node fails before starting anything else.
    ///
    /// A socket file left by a dead process is removed and replaced; a live one is not touched.
    /// Calling it again after success does nothing.
    ///
    /// - Throws: ``ControlServerError`` when the path is too long, its directory is missing, a
    ///   node already answers on it, something other than a socket is there, or binding fails.
    public func bind() async throws {
        if state.withLock({ if case .idle = $0 { false } else { true } }) { return }
        let path = socketPath
        guard path.utf8.count <= SocketFile.maxPathLength else {
            throw ControlServerError(
                .pathTooLong,
                "the control socket path \(path) is \(path.utf8.count) bytes, longer than the "
                    + "\(SocketFile.maxPathLength)-byte Unix socket limit; use a shorter data directory")
        }
        let directory = SocketFile.parentDirectory(of: path)
        guard SocketFile.isDirectory(directory) else {
            throw ControlServerError(
                .directoryMissing,
                "the directory \(directory) of the control socket \(path) does not exist; create it first")
        }
        switch SocketFile.entry(at: path) {
        case .missing:
            break
        case .other:
            throw ControlServerError(
                .notASocket, "\(path) exists and is not a socket; move it away so the control socket can be created")
        case .socket:
            switch await ControlClient.probe(socketPath: path) {
            case .live:
                throw ControlServerError(.inUse, "another node is running on \(path)")
            case .stale:
                if let failure = SocketFile.unlinkStale(path) {
                    throw ControlServerError(
                        .bindFailed, "cannot remove the stale control socket \(path) (unlink: \(failure))")
                }
                logger.info("removed a stale control socket", metadata: ["control.socket": "\(path)"])
            case .unknown(let failure):
                throw ControlServerError(
                    .inUse,
                    "cannot tell whether a node is running on \(path) (\(failure)); remove the file if no node uses it")
            }
        }

        let listener: HTTPListenerChannel
        do {
            listener = try await core.bind(.unix(path: path))
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            // Another node bound between our probe and our bind.
            throw ControlServerError(.inUse, "another node is running on \(path)")
        } catch {
            throw ControlServerError(.bindFailed, "cannot bind the control socket \(path) (\(error))")
        }
        let identity = SocketFile.entry(at: path)
        // Between bind and chmod the socket has the umask's mode; a connection made in that
        // window would be served once run() starts. The data directory's own mode is the
        // guard for that instant (umask is process-wide, so changing it here would race).
        if let failure = SocketFile.restrictToOwner(path) {
            try? await listener.channel.close()
            SocketFile.remove(path, ifStill: identity)
            throw ControlServerError(.bindFailed, "cannot restrict the control socket \(path) to its owner (chmod: \(failure))")
        }
        let raced = state.withLock { state -> Bool in
            guard case .idle = state else { return true }
            state = .bound(listener, identity)
            return false
        }
        if raced {
            // A concurrent bind() finished first and keeps its listener.
            try? await listener.channel.close()
        }
        logger.info("control API listening", metadata: ["control.socket": "\(path)"])
    }

    /// Serves until graceful shutdown or cancellation (binding first if ``bind()`` was not
    /// called), then closes the listener, gives in-flight requests ``drainTimeout`` and removes
    /// the socket file.
    public func run() async throws {
        try await bind()
        let taken = state.withLock { state -> (HTTPListenerChannel, SocketFile.Entry)? in
            guard case .bound(let listener, let identity) = state else { return nil }
            state = .running
            return (listener, identity)
        }
        guard let (listener, identity) = taken else {
            throw ControlServerError(.bindFailed, "the control server on \(socketPath) has already run")
        }
        await core.serve(listener)
        SocketFile.remove(socketPath, ifStill: identity)
        state.withLock { $0 = .finished }
        logger.info("control API stopped", metadata: ["control.socket": "\(socketPath)"])
    }

    /// Gives up a socket that ``bind()`` took but ``run()`` will never serve (the node failed
    /// to start after binding): closes the listener and removes the socket file.
    func abandon() async {
        let taken = state.withLock { state -> (HTTPListenerChannel, SocketFile.Entry)? in
            guard case .bound(let listener, let identity) = state else { return nil }
            state = .finished
            return (listener, identity)
        }
        guard let (listener, identity) = taken else { return }
        try? await listener.channel.close()
        SocketFile.remove(socketPath, ifStill: identity)
    }
}
