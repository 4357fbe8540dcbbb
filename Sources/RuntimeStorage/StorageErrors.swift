public import OasisCommon
public import ConsensusAPI

/// The registered errors of module `storage` (`go/storage/api`, core.md §8.1).
public enum StorageErrors {
    /// The module name the errors are registered under.
    public static let module = "storage"
    /// Code 1: the backend cannot sign receipts (it has no key).
    public static let cantProve = CodedError.register(
        module: module, code: 1, message: "storage: unable to provide proofs")
    /// Code 2: a receipt was asked for no roots at all.
    public static let noRoots = CodedError.register(
        module: module, code: 2, message: "storage: no roots to generate receipt for")
    /// Code 3: applying a write log gave another root than the request expected.
    public static let expectedRootMismatch = CodedError.register(
        module: module, code: 3, message: "storage: expected root mismatch")
    /// Code 4: the backend does not implement the method (checkpoints, for now).
    public static let unsupported = CodedError.register(
        module: module, code: 4, message: "storage: method not supported by backend")
    /// Code 5: a request asked for more than the backend gives in one answer.
    public static let limitReached = CodedError.register(module: module, code: 5, message: "storage: limit reached")
}

/// Why a storage backend refused a request, beyond the registered ``StorageErrors``.
public enum StorageBackendError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The request names a root the backend does not have.
    case rootNotFound(StorageRoot)
    /// The request is for another runtime than the one this backend stores.
    case namespaceMismatch(expected: Namespace, got: Namespace)
    /// The root type is neither state (1) nor I/O (2).
    case invalidRootType(RootType)
    /// An apply would go from a later round to an earlier one.
    case roundWentBackwards(source: UInt64, destination: UInt64)
    /// The backend was cleaned up (closed) and serves nothing any more.
    case closed

    public var description: String {
        switch self {
        case .rootNotFound(let root):
            "storage: root not found: \(root.type) root \(root.hash) at round \(root.version) of runtime \(root.namespace)"
        case .namespaceMismatch(let expected, let got):
            "storage: request for runtime \(got) sent to the storage of runtime \(expected)"
        case .invalidRootType(let type):
            "storage: invalid root type \(type.rawValue) (expected 1 for state or 2 for I/O)"
        case .roundWentBackwards(let source, let destination):
            "storage: destination round \(destination) is before source round \(source)"
        case .closed:
            "storage: backend is closed"
        }
    }
}

/// The registry's answer for a runtime it does not support (core.md §1.5, case 37). The
/// storage router gives it for a request naming such a runtime; the registry throws the same
/// type from `GetRuntime`, so the text stays in one place.
public struct RuntimeNotSupportedError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The runtime asked for.
    public var runtime: Namespace

    /// The error for `runtime`.
    public init(runtime: Namespace) {
        self.runtime = runtime
    }

    public var description: String { "runtime/registry: runtime \(runtime) is not supported" }
}
