/// A plain (uncoded) error about a runtime descriptor or one of its parts, carrying oasis-core's
/// exact message.
///
/// oasis-core builds these with `fmt.Errorf`: descriptor validation (`ValidateBasic`), the text
/// forms of enumerations, genesis sanity checks. Callers and tests match on ``message``, so it is
/// kept byte for byte. When the error wraps another one (Go's `%w`), ``underlying`` keeps it, so
/// a registry ``CodedError`` can still be found inside `runtime sanity check failed: …`.
public struct DescriptorError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The full message, prefixes included.
    public let message: String
    /// The error this one wraps, if any.
    public let underlying: (any Error)?

    /// An error with `message` and nothing underneath.
    public init(_ message: String) {
        self.message = message
        self.underlying = nil
    }

    /// `"<context>: <error>"`, keeping `error` as ``underlying`` (Go's `fmt.Errorf("…: %w", err)`).
    public init(_ context: String, wrapping error: any Error) {
        self.message = "\(context): \(error)"
        self.underlying = error
    }

    public var description: String { message }

    /// Two errors are equal when their messages are.
    public static func == (a: DescriptorError, b: DescriptorError) -> Bool { a.message == b.message }

    public func hash(into hasher: inout Hasher) { hasher.combine(message) }
}
