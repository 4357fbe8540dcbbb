internal import Synchronization

/// An error that can cross an RPC boundary as `(module, code, message)`
/// (`go/common/errors`). Code 0 is reserved for "no error".
///
/// `description` is the message, prefixed by the context it was wrapped in, as Go's
/// `fmt.Errorf("%w: ...")` chains read. Two coded errors *match* when module and code are
/// equal, whatever their messages.
public struct CodedError: Error, Hashable, Sendable, CustomStringConvertible {
    public var module: String
    public var code: UInt32
    /// The registered message.
    public var message: String
    /// Context added by wrapping, appended after the message (`"<message>: <detail>"`).
    public var detail: String?

    public init(module: String, code: UInt32, message: String, detail: String? = nil) {
        self.module = module
        self.code = code
        self.message = message
        self.detail = detail
    }

    public var description: String {
        guard let detail, !detail.isEmpty else { return message }
        return "\(message): \(detail)"
    }

    /// The same error with `detail` appended to its text.
    public func wrapping(_ detail: String) -> CodedError {
        var copy = self
        copy.detail = self.detail.map { "\($0): \(detail)" } ?? detail
        return copy
    }

    /// Same module and code.
    public func matches(_ other: CodedError) -> Bool {
        module == other.module && code == other.code
    }

    /// Same module and code as `other`, when `other` is a coded error.
    public func matches(_ other: any Error) -> Bool {
        (other as? CodedError).map(matches) ?? false
    }

    // MARK: Registry

    private static let registry = Mutex<[String: CodedError]>([:])

    /// Makes and registers an error. Registering the same (module, code) twice keeps the
    /// first message, as the pair must stay unique.
    @discardableResult
    public static func register(module: String, code: UInt32, message: String) -> CodedError {
        precondition(code != 0, "code 0 is reserved for no error")
        let error = CodedError(module: module, code: code, message: message)
        return registry.withLock { table in
            let key = "\(module)\u{0}\(code)"
            if let existing = table[key] { return existing }
            table[key] = error
            return error
        }
    }

    /// The registered error for a (module, code) pair, if any.
    public static func registered(module: String, code: UInt32) -> CodedError? {
        registry.withLock { $0["\(module)\u{0}\(code)"] }
    }
}
