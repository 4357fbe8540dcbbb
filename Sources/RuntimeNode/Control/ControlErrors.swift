/// Why the control server could not take its socket. The description is one sentence that
/// names the path and says what to do.
public struct ControlServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, for callers that branch on it.
    public enum Kind: Sendable, Hashable {
        /// The path does not fit in `sockaddr_un.sun_path`.
        case pathTooLong
        /// The directory that should hold the socket does not exist.
        case directoryMissing
        /// A live server answers on the path.
        case inUse
        /// Something other than a socket exists at the path.
        case notASocket
        /// The socket could not be created, bound or restricted to its owner.
        case bindFailed
    }

    /// What went wrong.
    public let kind: Kind
    /// One sentence naming the path and the problem.
    public let description: String

    init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

/// Why a control request failed before a response arrived. The description is one sentence
/// naming the socket path, e.g. `no node is running on /d/internal.sock (connect: No such
/// file or directory)`.
public struct ControlClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, for callers that branch on it.
    public enum Kind: Sendable, Hashable {
        /// Nothing accepts connections on the path.
        case notRunning
        /// No complete response arrived within the timeout.
        case timedOut
        /// The connection failed or closed before a complete response.
        case connectionFailed
        /// The response was larger than the client accepts.
        case responseTooLarge
    }

    /// What went wrong.
    public let kind: Kind
    /// One sentence naming the path and the problem.
    public let description: String

    init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
