/// Why a supervised runtime could not start or serve a call. `description` is the sentence
/// logged and carried by `failedToStart` (v21.1's texts, e.g. `failed to spawn process: …`).
public struct HostRuntimeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A start attempt failed; the message names the step.
        public static let startFailed = Code("startFailed")
        /// No runtime was connected before the call's deadline.
        public static let notReady = Code("notReady")
        /// The runtime has been stopped.
        public static let stopped = Code("stopped")
        /// An SGX runtime is configured but this host cannot run enclaves.
        public static let sgxUnavailable = Code("sgxUnavailable")
    }

    /// The kind of failure.
    public let code: Code
    /// The full sentence.
    public let message: String

    /// An error of `code` saying `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func start(_ step: String, _ error: any Error) -> HostRuntimeError {
        HostRuntimeError(.startFailed, "\(step): \(error)")
    }

    static let notReady = HostRuntimeError(.notReady, "runtime is not ready")
    static let stopped = HostRuntimeError(.stopped, "runtime is stopped")
}
