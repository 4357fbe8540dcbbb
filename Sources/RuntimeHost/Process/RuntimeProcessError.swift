/// Why a runtime process could not be started.
///
/// `description` is one sentence naming the value that was wrong; provisioners prefix it with
/// their own context (`failed to spawn process: …`, `failed to spawn sandbox: …`).
public struct RuntimeProcessError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kinds of failure, for callers that react differently to them.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The code's name, e.g. `preflightFailed`.
        public var description: String { name }

        /// Launching the executable failed (missing binary, no permission, out of resources).
        public static let spawnFailed = Code("spawnFailed")
        /// The sandbox could not be prepared (library resolution, seccomp policy, setup data).
        public static let sandboxSetupFailed = Code("sandboxSetupFailed")
        /// The sandbox preflight found bubblewrap missing or unable to build a sandbox here.
        public static let preflightFailed = Code("preflightFailed")
        /// Writing bind-data files (unconfined mode) failed.
        public static let bindDataFailed = Code("bindDataFailed")
    }

    /// What kind of failure this is.
    public let code: Code
    /// The one-sentence explanation.
    public let message: String

    /// Makes an error; `message` should say what went wrong with which value.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
