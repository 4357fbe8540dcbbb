public import Logging
public import ServiceLifecycle
import NIOCore
import Synchronization

/// Serves ``NodeMetrics`` to Prometheus over TCP: `GET /metrics`, and 404 for anything else.
public final class MetricsServer: Service, Sendable {
    /// The configured listen address (`metrics.address`).
    public let address: String
    private let host: String
    private let port: Int
    private let core: HTTPServerCore
    private let logger: Logger
    private let state = Mutex<State>(.idle)

    private enum State {
        case idle
        case bound(HTTPListenerChannel, port: Int?)
        case running(port: Int?)
        case finished
    }

    /// A server for `address` (`host:port`, `[v6]:port`; port 0 picks a free port).
    ///
    /// - Throws: ``MetricsServerError`` when `address` is not `host:port` with a port in 0…65535.
    public convenience init(address: String, metrics: NodeMetrics, logger: Logger) throws {
        try self.init(address: address, metrics: metrics, logger: logger, limits: HTTPServerCore.Limits())
    }

    /// Tests lengthen the connection bounds: a starved test process can take longer than the
    /// head bound between connecting and writing its request.
    init(address: String, metrics: NodeMetrics, logger: Logger, limits: HTTPServerCore.Limits) throws {
        let parsed = try Self.parse(address)
        self.host = parsed.host
        self.port = parsed.port
        self.address = address
        self.logger = logger
        self.core = HTTPServerCore(
            handler: { request in
                guard request.path == "/metrics" else {
                    return .error(status: 404, "no such path: \(request.path) (metrics are at /metrics)")
                }
                guard request.method == "GET" || request.method == "HEAD" else {
                    return .error(status: 405, "\(request.method) is not allowed on /metrics; use GET")
                }
                return ControlResponse(status: 200, contentType: NodeMetrics.contentType, body: metrics.exposition())
            },
            logger: logger, maxBodySize: 64 << 10, drainTimeout: .seconds(2), limits: limits)
    }

    /// Binds the listener now, so a taken port fails the node before it starts anything else.
    /// Calling it again after success does nothing.
    ///
    /// - Throws: ``MetricsServerError`` when the address cannot be bound.
    public func bind() async throws {
        if state.withLock({ if case .idle = $0 { false } else { true } }) { return }
        let listener: HTTPListenerChannel
        do {
            listener = try await core.bind(.tcp(host: host, port: port))
        } catch {
            throw MetricsServerError("cannot listen for metrics on \(address) (\(error))")
        }
        let port = listener.channel.localAddress?.port
        let raced = state.withLock { state -> Bool in
            guard case .idle = state else { return true }
            state = .bound(listener, port: port)
            return false
        }
        if raced {
            try? await listener.channel.close()
            return
        }
        logger.info("metrics listening", metadata: ["metrics.address": "\(host):\(port.map(String.init) ?? "?")"])
    }

    /// The TCP port after ``bind()`` (the chosen one when the address asked for port 0).
    public var boundPort: Int? {
        state.withLock { state in
            switch state {
            case .bound(_, let port), .running(let port): port
            case .idle, .finished: nil
            }
        }
    }

    /// Serves `GET /metrics` until graceful shutdown or cancellation, binding first if
    /// ``bind()`` was not called.
    public func run() async throws {
        try await bind()
        let listener = state.withLock { state -> HTTPListenerChannel? in
            guard case .bound(let listener, let port) = state else { return nil }
            state = .running(port: port)
            return listener
        }
        guard let listener else {
            throw MetricsServerError("the metrics server on \(address) has already run")
        }
        await core.serve(listener)
        state.withLock { $0 = .finished }
    }

    /// Splits `host:port`; IPv6 hosts are bracketed (`[::1]:9100`).
    static func parse(_ address: String) throws -> (host: String, port: Int) {
        let problem = MetricsServerError(
            "metrics.address must be host:port with a port from 0 to 65535, e.g. 127.0.0.1:3000 (got \"\(address)\")")
        guard let colon = address.lastIndex(of: ":") else { throw problem }
        var host = address[..<colon]
        let portText = address[address.index(after: colon)...]
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            throw problem  // an unbracketed IPv6 address is ambiguous
        }
        guard !host.isEmpty, !portText.isEmpty, portText.allSatisfy(\.isASCII), let port = Int(portText),
            (0...65535).contains(port)
        else { throw problem }
        return (String(host), port)
    }
}

/// Why the metrics server could not start; the description is one sentence naming the address.
public struct MetricsServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One sentence naming the address and the problem.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
