import OasisCBOR
public import OasisCommon

/// The `Error` body: a failure answer carrying `(module, code, message)`.
///
/// Every field is `omitempty`, so `ErrorBody()` encodes as the empty map. Code 0 means "no
/// error" inside a `CheckTxResult`; as a whole response body an `Error` is a failure whatever
/// its code (host.md §3.7).
public struct ErrorBody: Hashable, Sendable, CustomStringConvertible {
    /// The error registry module (`dispatcher`, `rhp/internal`, `unknown`, ...).
    public var module: String
    /// The code within the module; 0 means "no error".
    public var code: UInt32
    /// Human-readable text.
    public var message: String

    /// An error body; the defaults give the empty "no error" body.
    public init(module: String = "", code: UInt32 = 0, message: String = "") {
        self.module = module
        self.code = code
        self.message = message
    }

    /// The module and code used for errors that carry none of their own (`unknown`, 1).
    public static let unknownModule = "unknown"
    /// See ``unknownModule``.
    public static let unknownCode: UInt32 = 1

    /// `"module: <m> code: <c> message: <text>"`, the form oasis-core prints runtime errors in.
    public var description: String { "module: \(module) code: \(code) message: \(message)" }

    /// The wire form of an error returned by a request handler (host.md §3.7, handler → wire).
    ///
    /// A ``CodedError`` keeps its module and code; anything else becomes `unknown`/1. The message
    /// is the full text of the error, including the context it was wrapped in.
    public init(mapping error: any Error) {
        if let coded = error as? CodedError {
            self.init(module: coded.module, code: coded.code, message: coded.description)
        } else {
            self.init(module: Self.unknownModule, code: Self.unknownCode, message: "\(error)")
        }
    }

    /// The error a caller sees when the peer answered with this body (host.md §3.7, wire → caller).
    ///
    /// A registered (module, code) other than `unknown`/1 gives the registered ``CodedError``
    /// itself (the wire message is discarded, so callers can match on the value); anything else
    /// gives a ``RemoteError`` whose text is exactly the wire message.
    public var callerError: any Error {
        // Registration happens when a registry's static is first touched; make sure ours is.
        _ = RHPErrors.notReady
        let isUnknown = module == Self.unknownModule && code == Self.unknownCode
        if !isUnknown, let registered = CodedError.registered(module: module, code: code) {
            return registered
        }
        return RemoteError(module: module, code: code, message: message)
    }
}

extension ErrorBody: Codable {
    enum CodingKeys: String, CodingKey { case module, code, message }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        module = try c.decode(String.self, forKey: .module, orZero: "")
        code = try c.decode(UInt32.self, forKey: .code, orZero: 0)
        message = try c.decode(String.self, forKey: .message, orZero: "")
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOmitEmpty(module, forKey: .module)
        try c.encodeOmitEmpty(code, forKey: .code)
        try c.encodeOmitEmpty(message, forKey: .message)
    }
}

/// An error the peer reported whose (module, code) is not registered on this side.
///
/// Its text (`description`) is exactly the wire message, as oasis-core's `Call` returns it; the
/// module and code stay available for callers that want them.
public struct RemoteError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The module the peer named.
    public var module: String
    /// The code the peer named.
    public var code: UInt32
    /// The peer's text, which is also this error's `description`.
    public var message: String

    /// An error as the peer reported it.
    public init(module: String, code: UInt32, message: String) {
        self.module = module
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// The registered errors of module `rhp/internal`.
public enum RHPErrors {
    /// The module name oasis-core uses for the protocol's own errors.
    public static let module = "rhp/internal"
    /// The connection is not (or no longer) Ready: `rhp/internal`, 1, `rhp: not ready`.
    public static let notReady = CodedError.register(module: module, code: 1, message: "rhp: not ready")
}
