#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1
import NIOPosix

/// Talks to a node's control API over its Unix socket: the CLI subcommands and tests use it.
///
/// Each request opens its own connection with `Connection: close`; the control API is not
/// chatty enough for pooling to pay for its state.
public struct ControlClient: Sendable {
    /// The node's control socket (`<datadir>/internal.sock`).
    public let socketPath: String
    /// Bodies of responses larger than this are refused, so a confused server cannot exhaust the CLI.
    public static let maxResponseSize = 64 << 20

    /// A client for the node listening on `socketPath`.
    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// Sends one request and returns the node's response, whatever its status.
    ///
    /// - Parameters:
    ///   - method: `"GET"`, `"POST"`, …
    ///   - path: the request target, with its query if any (`/v1/history/block?round=3`).
    ///   - body: the request body (`nil` sends none).
    ///   - timeout: covers connecting and the whole response.
    /// - Throws: ``ControlClientError`` when no complete response arrived.
    public func request(method: String, path: String, body: [UInt8]? = nil, timeout: Duration = .seconds(60))
        async throws -> ControlResponse
    {
        let socketPath = self.socketPath
        return try await withThrowingTaskGroup(of: ControlResponse?.self) { group in
            group.addTask {
                try await Self.exchange(socketPath: socketPath, method: method, path: path, body: body)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw ControlClientError(
                    .timedOut, "the node on \(socketPath) did not answer \(method) \(path) within \(timeout)")
            }
            return response
        }
    }

    /// `GET path`.
    public func get(_ path: String) async throws -> ControlResponse {
        try await request(method: "GET", path: path)
    }

    /// `POST path` with a JSON body.
    public func post(_ path: String, json: [UInt8]) async throws -> ControlResponse {
        try await request(method: "POST", path: path, body: json)
    }

    private typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    private static func exchange(socketPath: String, method: String, path: String, body: [UInt8]?) async throws
        -> ControlResponse
    {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "localhost")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        if body != nil {
            headers.add(name: "Content-Type", value: ControlResponse.jsonContentType)
        }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: headers)
        var parts: [HTTPClientRequestPart] = [.head(head)]
        if let body, !body.isEmpty {
            parts.append(.body(.byteBuffer(ByteBuffer(bytes: body))))
        }
        parts.append(.end(nil))
        let request = parts

        let connection: Connection
        do {
            connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHTTPClientHandlers()
                        try pipeline.addHandler(SendOnConnect(request))
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw ControlClientError(.notRunning, "no node is running on \(socketPath) (\(connectFailure(error)))")
        }
        do {
            return try await connection.executeThenClose { inbound, _ in
                var responseHead: HTTPResponseHead?
                var responseBody: [UInt8] = []
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        // 1xx heads precede the real one; HTTP/1.1 clients must skip them.
                        if head.status.code >= 200 { responseHead = head }
                    case .body(let buffer):
                        guard responseBody.count + buffer.readableBytes <= maxResponseSize else {
                            throw ControlClientError(
                                .responseTooLarge,
                                "the node on \(socketPath) sent a response larger than \(maxResponseSize) bytes")
                        }
                        responseBody.append(contentsOf: buffer.readableBytesView)
                    case .end:
                        if let responseHead {
                            return ControlResponse(
                                status: Int(responseHead.status.code),
                                contentType: responseHead.headers.first(name: "content-type") ?? "",
                                body: responseBody)
                        }
                    }
                }
                throw ControlClientError(
                    .connectionFailed, "the node on \(socketPath) closed the connection before answering")
            }
        } catch let error as ControlClientError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ControlClientError(
                .connectionFailed, "the connection to the node on \(socketPath) failed (\(error))")
        }
    }

    /// `connect: <strerror>` for a failed connect, whatever shape NIO gave the error.
    static func connectFailure(_ error: any Error) -> String {
        if let error = error as? IOError {
            return "connect: \(SocketFile.errorText(error.errnoCode))"
        }
        if let error = error as? SocketAddressError, case .unixDomainSocketPathTooLong = error {
            return "the path is longer than \(SocketFile.maxPathLength) bytes"
        }
        return "connect: \(error)"
    }

    /// Whether a server accepts connections on `socketPath`, for deciding if a socket file is stale.
    static func probe(socketPath: String) async -> ProbeResult {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(unixDomainSocketPath: socketPath).get()
            try? await channel.close()
            return .live
        } catch let error as IOError where error.errnoCode == ECONNREFUSED || error.errnoCode == ENOENT {
            return .stale
        } catch {
            return .unknown(connectFailure(error))
        }
    }

    enum ProbeResult: Equatable {
        case live
        case stale
        case unknown(String)
    }
}

/// Writes the request as soon as the connection is up, on the event loop. Written from the
/// calling task instead, it could wait behind a busy concurrency pool for longer than the
/// server's bound on a request head, and the server would close the connection first.
private final class SendOnConnect: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private var request: [HTTPClientRequestPart]?

    init(_ request: [HTTPClientRequestPart]) {
        self.request = request
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { send(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context)
        context.fireChannelActive()
    }

    private func send(_ context: ChannelHandlerContext) {
        guard let parts = request else { return }
        request = nil
        for part in parts { context.write(wrapOutboundOut(part), promise: nil) }
        context.flush()
    }
}
