public import OasisCommon

/// Why a call (or the connection under it) failed on this side, as opposed to an error the
/// peer answered with (those arrive as ``RemoteError`` or a registered `CodedError`).
public enum ConnectionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The transport is gone: the peer closed it, a malformed frame made us close it, or
    /// `close()` was called while the call was in flight.
    case closed(reason: String)
    /// The call's deadline passed before the answer came; the call left nothing behind.
    case deadlineExceeded(call: Body.Kind, after: Duration)
    /// Writing the request failed; the call was failed at once.
    case writeFailed(String)

    public var description: String {
        switch self {
        case .closed(let reason): "rhp: connection closed: \(reason)"
        case .deadlineExceeded(let call, let after): "rhp: \(call) call: deadline exceeded (after \(after))"
        case .writeFailed(let detail): "rhp: failed to send message: \(detail)"
        }
    }
}

/// Why ``Connection/initHost(runtimeID:hostInfo:timeout:)`` failed (host.md §4.4).
public enum HandshakeError: Error, Sendable, CustomStringConvertible {
    /// The `RuntimeInfoRequest` call failed: transport, deadline or an error answer.
    case requestFailed(any Error)
    /// The runtime answered with something other than `RuntimeInfoResponse`.
    case unexpectedResponse(Body.Kind)
    /// The runtime speaks another major version of the protocol.
    case incompatibleProtocolVersion(Version)

    public var description: String {
        switch self {
        case .requestFailed(let error): "rhp: error while requesting runtime info: \(error)"
        case .unexpectedResponse: "rhp: unexpected response to RuntimeInfoRequest"
        case .incompatibleProtocolVersion(let got):
            "rhp: incompatible protocol version (expected: \(Version.runtimeHostProtocol) got: \(got))"
        }
    }
}
