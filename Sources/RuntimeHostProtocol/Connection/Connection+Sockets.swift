public import Logging
public import NIOCore
public import NIOPosix
import Synchronization

extension Connection {
    /// Guest side: connects to the host's Unix socket (`OASIS_WORKER_HOST`).
    public static func connect(
        unixSocketPath path: String, handler: any RequestHandler, configuration: Configuration = Configuration(),
        logger: Logger, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> Connection {
        let channel = try await ClientBootstrap(group: eventLoopGroup)
            .channelOption(ChannelOptions.autoRead, value: false)
            .connect(unixDomainSocketPath: path).get()
        return try await wrapping(channel: channel, handler: handler, configuration: configuration, logger: logger)
    }

    /// Either side: adopts an already connected stream socket (an end of a `socketpair`, or an
    /// inherited descriptor). The connection owns the descriptor from then on.
    public static func adopting(
        connectedSocket descriptor: CInt, handler: any RequestHandler, configuration: Configuration = Configuration(),
        logger: Logger, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> Connection {
        let channel = try await ClientBootstrap(group: eventLoopGroup)
            .channelOption(ChannelOptions.autoRead, value: false)
            .withConnectedSocket(descriptor).get()
        return try await wrapping(channel: channel, handler: handler, configuration: configuration, logger: logger)
    }
}

/// Host side: a Unix socket the runtime connects to. Like v21.1, one connection is accepted;
/// any later connection attempt is closed at once.
public final class ConnectionListener: Sendable {
    /// Where the socket is bound.
    public let socketPath: String
    private let server: any Channel
    private let slot: AcceptSlot

    private init(socketPath: String, server: any Channel, slot: AcceptSlot) {
        self.socketPath = socketPath
        self.server = server
        self.slot = slot
    }

    /// Binds `path` (replacing a stale socket file there) and starts listening.
    public static func bind(
        unixSocketPath path: String, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ConnectionListener {
        let slot = AcceptSlot()
        let server = try await ServerBootstrap(group: eventLoopGroup)
            .childChannelOption(ChannelOptions.autoRead, value: false)
            .childChannelInitializer { child in
                slot.offer(child)
                return child.eventLoop.makeSucceededVoidFuture()
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        return ConnectionListener(socketPath: path, server: server, slot: slot)
    }

    /// Waits (at most `timeout`) for the runtime to connect and returns the uninitialised
    /// connection; the caller runs the handshake. Stops listening once a connection is in.
    public func accept(
        handler: any RequestHandler, configuration: Connection.Configuration = Connection.Configuration(),
        logger: Logger, timeout: Duration
    ) async throws -> Connection {
        let promise = server.eventLoop.makePromise(of: (any Channel).self)
        slot.wait(promise)
        let path = socketPath
        let timer = server.eventLoop.scheduleTask(in: TimeAmount(timeout)) { [slot] in
            slot.giveUp(with: AcceptTimedOut(path: path, after: timeout))
        }
        defer { timer.cancel() }
        let channel = try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: { [slot] in
            slot.giveUp(with: CancellationError())
        }
        // `wrapping` returns once the channel is active. Only then may the server close: the
        // bootstrap closes a child whose server closed while the child was being set up.
        let connection: Connection
        do {
            connection = try await Connection.wrapping(
                channel: channel, handler: handler, configuration: configuration, logger: logger)
        } catch ChannelError.ioOnClosedChannel {
            // The peer connected and closed (typically: it exited) before the channel was set up.
            throw PeerClosedDuringAccept(path: path)
        }
        server.close(promise: nil)
        return connection
    }

    /// Stops listening. A connection already accepted is not affected.
    public func close() async {
        server.close(promise: nil)
        try? await server.closeFuture.get()
        slot.giveUp(with: ChannelError.ioOnClosedChannel)
    }
}

/// The peer connected and closed its end before the connection was set up.
public struct PeerClosedDuringAccept: Error, Hashable, Sendable, CustomStringConvertible {
    /// The socket path listened on.
    public let path: String
    public var description: String { "rhp: the peer on \(path) closed its connection as it was accepted" }
}

/// Nobody connected to the socket in time.
public struct AcceptTimedOut: Error, Hashable, Sendable, CustomStringConvertible {
    /// The socket path listened on.
    public let path: String
    /// How long accept waited.
    public let after: Duration
    public var description: String { "rhp: no connection on \(path) within \(after)" }
}

/// Hands the first accepted channel to the one waiting `accept`, whichever comes first.
private final class AcceptSlot: Sendable {
    private enum State {
        case empty
        case waiting(EventLoopPromise<any Channel>)
        case arrived(any Channel)
        case done
    }

    private let state = Mutex(State.empty)

    func offer(_ channel: any Channel) {
        let promise: EventLoopPromise<any Channel>? = state.withLock { state in
            switch state {
            case .empty:
                state = .arrived(channel)
                return nil
            case .waiting(let promise):
                state = .done
                return promise
            case .arrived, .done:
                channel.close(promise: nil)
                return nil
            }
        }
        promise?.succeed(channel)
    }

    func wait(_ promise: EventLoopPromise<any Channel>) {
        let result: Result<any Channel, any Error>? = state.withLock { state in
            switch state {
            case .empty:
                state = .waiting(promise)
                return nil
            case .arrived(let channel):
                state = .done
                return .success(channel)
            case .waiting, .done:
                return .failure(ChannelError.inappropriateOperationForState)
            }
        }
        if let result { promise.completeWith(result) }
    }

    func giveUp(with error: any Error) {
        let promise: EventLoopPromise<any Channel>? = state.withLock { state in
            switch state {
            case .waiting(let promise):
                state = .done
                return promise
            case .arrived(let channel):
                // Accepted but never taken: nobody will use it.
                channel.close(promise: nil)
                state = .done
                return nil
            case .empty:
                state = .done
                return nil
            case .done:
                return nil
            }
        }
        promise?.fail(error)
    }
}
