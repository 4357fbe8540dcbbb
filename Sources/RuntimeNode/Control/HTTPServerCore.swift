import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// One accepted HTTP/1.1 connection, as the server reads and writes it.
typealias HTTPServerConnection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
/// A bound listener whose inbound sequence yields accepted connections.
typealias HTTPListenerChannel = NIOAsyncChannel<HTTPServerConnection, Never>

/// The HTTP/1.1 serving shared by ``ControlServer`` (Unix socket) and ``MetricsServer`` (TCP):
/// binding, the accept loop, reading whole requests under a body limit, writing responses, and
/// the graceful drain.
///
/// Every connection is a child task of ``serve(_:)``'s task group, so nothing outlives `run()`.
final class HTTPServerCore: Sendable {
    /// Where to listen.
    enum Address: Sendable {
        case unix(path: String)
        case tcp(host: String, port: Int)
    }

    /// Bounds on what idle clients may hold; tests shorten them.
    struct Limits: Sendable {
        /// How long a new connection may take to send a whole request head.
        var headTimeout: Duration = .seconds(10)
        /// How long a request may take to send its whole body once its head is in.
        var bodyTimeout: Duration = .seconds(10)
        /// How long a connection may wait after a response before the next request head is whole.
        var idleTimeout: Duration = .seconds(60)
        /// Connections served at once on one listener; more are closed as soon as they are accepted.
        var maxConnections = 256
    }

    let handler: ControlHandler
    let logger: Logger
    let maxBodySize: Int
    let drainTimeout: Duration
    let limits: Limits
    /// Connections being served, against ``Limits/maxConnections``.
    private let openConnections = Atomic<Int>(0)
    /// Set when graceful shutdown begins: responses written after it close their connection.
    private let draining = Atomic<Bool>(false)

    init(
        handler: @escaping ControlHandler, logger: Logger, maxBodySize: Int, drainTimeout: Duration,
        limits: Limits = Limits()
    ) {
        self.handler = handler
        self.logger = logger
        self.maxBodySize = maxBodySize
        self.drainTimeout = drainTimeout
        self.limits = limits
    }

    /// Binds a listener at `address`; connections queue until ``serve(_:)`` runs.
    func bind(_ address: Address) async throws -> HTTPListenerChannel {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 128)
            // A client may shut down its sending side once its request is out (socat, `nc -N`
            // and scripts do): the request is still answered. Without this NIO closed the whole
            // connection at the end of input, and such a client got nothing.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        let limits = limits
        let logger = logger
        let initializer: @Sendable (any Channel) -> EventLoopFuture<HTTPServerConnection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                // Our error handler answers unparsable requests with 400 and closes the connection.
                // NIO's own one also writes after the connection has closed (a partial request
                // head is a parse error once graceful shutdown has closed its connection), which
                // trips the pipeline handler's "wrote in quiescing completed state" assertion.
                let pipeline = channel.pipeline.syncOperations
                try pipeline.configureHTTPServerPipeline(withErrorHandling: false)
                try pipeline.addHandler(BadRequestHandler())
                try pipeline.addHandler(
                    IdleConnectionHandler(
                        headTimeout: TimeAmount(limits.headTimeout), bodyTimeout: TimeAmount(limits.bodyTimeout),
                        idleTimeout: TimeAmount(limits.idleTimeout), logger: logger))
                return try HTTPServerConnection(wrappingChannelSynchronously: channel)
            }
        }
        switch address {
        case .unix(let path):
            return try await bootstrap.bind(unixDomainSocketPath: path, childChannelInitializer: initializer)
        case .tcp(let host, let port):
            return try await bootstrap.serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port, childChannelInitializer: initializer)
        }
    }

    /// Serves `listener` until graceful shutdown or cancellation.
    ///
    /// Graceful shutdown closes the listener at once; requests already in flight then get
    /// ``drainTimeout`` to finish before their tasks are cancelled.
    func serve(_ listener: HTTPListenerChannel) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withGracefulShutdownHandler {
                    await self.acceptLoop(listener)
                } onGracefulShutdown: {
                    self.draining.store(true, ordering: .relaxed)
                    listener.channel.close(promise: nil)
                }
            }
            group.addTask {
                // The drain bound: it starts when the listener closes, for whatever reason.
                try? await listener.channel.closeFuture.get()
                do {
                    try await Task.sleep(for: self.drainTimeout)
                    self.logger.warning(
                        "requests still running after the drain timeout; cancelling them",
                        metadata: ["drain.timeout": "\(self.drainTimeout)"])
                } catch {
                    // Cancelled: the accept loop and every connection finished first.
                }
            }
            _ = await group.next()
            group.cancelAll()
        }
    }

    private func acceptLoop(_ listener: HTTPListenerChannel) async {
        await withDiscardingTaskGroup { connections in
            do {
                try await listener.executeThenClose { inbound in
                    for try await connection in inbound {
                        // Each connection holds a descriptor: a flood of idle ones must not starve
                        // the node of them.
                        guard self.openConnections.add(1, ordering: .relaxed).newValue <= self.limits.maxConnections
                        else {
                            self.openConnections.subtract(1, ordering: .relaxed)
                            self.logger.debug(
                                "refused a connection: too many open",
                                metadata: ["connections.max": "\(self.limits.maxConnections)"])
                            try? await connection.executeThenClose { _, _ in }
                            continue
                        }
                        connections.addTask {
                            defer { self.openConnections.subtract(1, ordering: .relaxed) }
                            await withGracefulShutdownHandler {
                                await self.serveConnection(connection)
                            } onGracefulShutdown: {
                                // NIO's pipeline handler closes an idle keep-alive connection at
                                // once and a busy one after its response, so the drain does not
                                // wait for clients that keep connections open.
                                connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                            }
                        }
                    }
                }
            } catch is CancellationError {
                // Ordinary end of a cancelled service.
            } catch {
                self.logger.error("the listener failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Reads requests off one connection and answers them in order, until the client closes,
    /// asks for `Connection: close`, sends something unparsable, or the server drains.
    private func serveConnection(_ connection: HTTPServerConnection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body: [UInt8] = []
                var tooLarge = false
                for try await part in inbound {
                    switch part {
                    case .head(let requestHead):
                        head = requestHead
                        body = []
                        let declared = requestHead.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
                        tooLarge = declared > self.maxBodySize
                    case .body(let buffer):
                        // An oversized body is read to its end and dropped, so the client gets the
                        // 413 instead of a reset connection in the middle of its write.
                        if !tooLarge {
                            if body.count + buffer.readableBytes > self.maxBodySize {
                                tooLarge = true
                                body = []
                            } else {
                                body.append(contentsOf: buffer.readableBytesView)
                            }
                        }
                    case .end:
                        guard let requestHead = head else { continue }
                        head = nil
                        let response: ControlResponse
                        if tooLarge {
                            response = .error(
                                status: 413, "the request body is larger than the limit of \(self.maxBodySize) bytes")
                        } else {
                            response = await self.respond(to: requestHead, body: body)
                        }
                        body = []
                        let keepAlive =
                            requestHead.isKeepAlive && !tooLarge && !self.draining.load(ordering: .relaxed)
                        try await Self.write(response, keepAlive: keepAlive, version: requestHead.version, to: outbound)
                        if !keepAlive { return }
                    }
                }
            }
        } catch is CancellationError {
            // The drain timeout or the service's cancellation ended this connection.
        } catch {
            // Malformed requests land here after the pipeline has answered 400; a client going
            // away mid-request too. Neither concerns the node beyond a debug line.
            logger.debug("control connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    private func respond(to head: HTTPRequestHead, body: [UInt8]) async -> ControlResponse {
        guard let target = RequestTarget(uri: head.uri) else {
            return .error(status: 400, "the query string of \(head.uri) is not valid percent-encoded UTF-8")
        }
        let request = ControlRequest(method: head.method.rawValue, path: target.path, query: target.query, body: body)
        return await handler(request)
    }

    private static func write(
        _ response: ControlResponse, keepAlive: Bool, version: HTTPVersion,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        }
        let head = HTTPResponseHead(
            version: version.major == 1 ? version : .http1_1,
            status: HTTPResponseStatus(statusCode: response.status),
            headers: headers)
        try await outbound.write(contentsOf: [
            .head(head), .body(.byteBuffer(ByteBuffer(bytes: response.body))), .end(nil),
        ])
    }
}

/// Closes a connection that has not sent a whole request head ``headTimeout`` after it opened,
/// has not sent a request's whole body ``bodyTimeout`` after its head, or has not sent a head
/// ``idleTimeout`` after its last response ended. No bound runs while a request is being
/// answered.
final class IdleConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let headTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let logger: Logger
    private var timer: Scheduled<Void>?
    private var started = false

    init(headTimeout: TimeAmount, bodyTimeout: TimeAmount, idleTimeout: TimeAmount, logger: Logger) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            // A client that stops in the middle of its body would otherwise hold the connection
            // (and a place under the connection cap) for ever.
            arm(context, bodyTimeout, "no whole request body within the body timeout after its head")
        case .end:
            cancel()
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Armed before the write goes on: ending a response may deliver a pipelined request's
        // head at once, which cancels the bound again.
        if case .end = unwrapOutboundIn(data) {
            arm(context, idleTimeout, "no request head within the idle timeout after a response")
        }
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        arm(context, headTimeout, "no whole request head within the head timeout")
    }

    private func arm(_ context: ChannelHandlerContext, _ timeout: TimeAmount, _ reason: String) {
        cancel()
        let logger = logger
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            logger.debug("closing an idle connection", metadata: ["reason": "\(reason)"])
            context.close(promise: nil)
        }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }
}

@available(*, unavailable)
extension IdleConnectionHandler: Sendable {}

/// Answers a request NIO cannot parse with 400 and lets the decoder close the connection, like
/// NIO's `HTTPServerProtocolErrorHandler`, but writes nothing once the connection is closed:
/// there is no one to answer then, and a write after graceful shutdown closed an idle
/// connection trips the `HTTPServerPipelineHandler`'s debug assertion.
final class BadRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// A response has started and not ended: a 400 cannot be written into it.
    private var responseInProgress = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError, !responseInProgress, context.channel.isActive {
            let headers = HTTPHeaders([("Connection", "close"), ("Content-Length", "0")])
            let head = HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200:
            // 1xx heads are interim; the final head starts the response.
            responseInProgress = true
        case .end:
            responseInProgress = false
        case .head, .body:
            break
        }
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension BadRequestHandler: Sendable {}
