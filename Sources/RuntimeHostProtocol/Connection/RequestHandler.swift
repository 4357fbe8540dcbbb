/// Answers the requests the peer sends over a ``Connection``.
///
/// Requests are served concurrently, each in its own child task of ``Connection/run()``; the
/// task is cancelled when the connection ends. There is no "no answer" outcome: return the
/// response body, or throw and the peer receives an `Error` body (a `CodedError` keeps its
/// module and code, anything else becomes `unknown`/1; the message is the error's full text).
public protocol RequestHandler: Sendable {
    /// The response body to `request`.
    func handle(_ request: Body) async throws -> Body

    /// The answer to `request` if it can be given at once, without waiting on anything;
    /// `nil` (the default) sends the request to ``handle(_:)``.
    ///
    /// Called on the connection's event loop as the request is read, so the answer goes out
    /// without a task: for trivial requests such as pings. It must not block or compute much.
    func immediateAnswer(to request: Body) -> Body?
}

extension RequestHandler {
    /// No immediate answers: every request goes to ``handle(_:)``.
    public func immediateAnswer(to request: Body) -> Body? { nil }
}

/// A handler that refuses everything with `method not supported`, as an oasis-core node does
/// for requests it has no handler for.
public struct UnsupportedRequestHandler: RequestHandler {
    /// The handler.
    public init() {}

    /// Always throws ``MethodNotSupported``.
    public func handle(_ request: Body) async throws -> Body {
        throw MethodNotSupported()
    }
}

/// The uncoded `method not supported` error (reaches the peer as `unknown`/1).
public struct MethodNotSupported: Error, Hashable, Sendable, CustomStringConvertible {
    /// The error.
    public init() {}
    public var description: String { "method not supported" }
}

/// What the host tells the runtime about the consensus layer in the handshake.
public struct HostInfo: Hashable, Sendable {
    /// The consensus backend's name (`tendermint` at v21.1).
    public var consensusBackend: String
    /// The consensus protocol version, packed (`major << 32 | minor << 16 | patch`).
    public var consensusProtocolVersion: UInt64
    /// The chain domain separation context.
    public var consensusChainContext: String

    /// Host information for the handshake.
    public init(consensusBackend: String, consensusProtocolVersion: UInt64, consensusChainContext: String) {
        self.consensusBackend = consensusBackend
        self.consensusProtocolVersion = consensusProtocolVersion
        self.consensusChainContext = consensusChainContext
    }
}
