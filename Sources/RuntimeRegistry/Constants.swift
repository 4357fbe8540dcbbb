public import OasisCommon

/// A node supports at most this many runtimes.
public let maxRuntimeCount = 64

/// The directory under the data directory that holds one state directory per runtime.
public let runtimesDir = "runtimes"

/// The local-storage database in a runtime's state directory. oasis-core names its badger
/// directory `worker-local-storage.badger.db`; ours is one SQLite file.
public let localStorageFile = "local-storage.sqlite"

/// The seed's configuration keys (`runtime.*`), with the same strings, and ours beside them.
public enum ConfigKey {
    /// IDs of the supported runtimes (`<hex-id>[:<value>]`, repeatable).
    public static let supported = "runtime.supported"
    /// `mock`, `unconfined` or `sandboxed`.
    public static let provisioner = "runtime.provisioner"
    /// Runtime binaries, `<hex-id>=<path>`.
    public static let paths = "runtime.paths"
    /// The bubblewrap binary.
    public static let sandboxBinary = "runtime.sandbox.binary"
    /// The SGX loader binary.
    public static let sgxLoader = "runtime.sgx.loader"
    /// Per-runtime SIGSTRUCT paths, `<hex-id>=<path>`.
    public static let sgxSignatures = "runtime.sgx.signatures"
    /// `none` or `keep_last`.
    public static let historyPrunerStrategy = "runtime.history.pruner.strategy"
    /// How often the pruner runs (at least 1s).
    public static let historyPrunerInterval = "runtime.history.pruner.interval"
    /// Rounds kept by `keep_last`.
    public static let historyPrunerKeepLastNum = "runtime.history.pruner.num_kept"
    /// `""` (disabled) or `sqlite` (`bleve` is accepted as an alias).
    public static let tagIndexerBackend = "runtime.history.tag_indexer.backend"
    /// The unsafe debug opt-in that `mock` and `unconfined` require.
    public static let debugDontBlameOasis = "debug.dont_blame_oasis"
    /// Not a seed key: the bytes each process of a hosted runtime may allocate; 0 is no limit.
    public static let memoryLimit = "runtime.limits.memory"
}

/// How runtime binaries are started.
public enum RuntimeProvisionerKind: String, Sendable, CaseIterable {
    /// No process: a fake runtime for tests of the layers above (needs the debug flag).
    case mock
    /// A plain child process without a sandbox (needs the debug flag).
    case unconfined
    /// A child process inside bubblewrap with a seccomp filter (the default).
    case sandboxed
}

/// The plain errors of the registry, with oasis-core's messages.
public enum RegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `runtime/registry: runtime host not configured`
    case runtimeHostNotConfigured
    /// `malformed runtime map item: <item>`
    case malformedRuntimeMapItem(String)
    /// `runtime/registry: too many registered runtimes`
    case tooManyRuntimes
    /// `runtime/registry: runtime already registered: <hex>`
    case runtimeAlreadyRegistered(Namespace)
    /// `runtime storage backend already assigned`
    case storageAlreadyAssigned
    /// `runtime storage accessed before initialization`
    case storageNotInitialized
    /// `failed to get runtime registry descriptor: <err>` (from ``Runtime/host()``)
    case registryDescriptorUnavailable(String)
    /// `no provisioner suitable for TEE hardware '<tee>'`
    case noProvisionerForTEE(TEEHardware)
    /// A step of setting up a runtime failed; the text is oasis-core's message for that step
    /// (`runtime/registry: cannot create block history for runtime <hex>: <err>`, …).
    case setupFailed(Namespace, String)
    /// `failed to add runtime <hex>: <err>` (from building the registry)
    case addRuntimeFailed(Namespace, String)
    /// `runtime/registry: cannot add runtime <hex>: the registry has been cleaned up`: an add
    /// that came after ``Registry/cleanup()`` began (nothing of the runtime is left open).
    case cleanedUp(Namespace)

    public var description: String {
        switch self {
        case .runtimeHostNotConfigured: "runtime/registry: runtime host not configured"
        case .malformedRuntimeMapItem(let item): "malformed runtime map item: \(item)"
        case .tooManyRuntimes: "runtime/registry: too many registered runtimes"
        case .runtimeAlreadyRegistered(let id): "runtime/registry: runtime already registered: \(id)"
        case .storageAlreadyAssigned: "runtime storage backend already assigned"
        case .storageNotInitialized: "runtime storage accessed before initialization"
        case .registryDescriptorUnavailable(let why): "failed to get runtime registry descriptor: \(why)"
        case .noProvisionerForTEE(let tee): "no provisioner suitable for TEE hardware '\(tee)'"
        case .setupFailed(_, let message): message
        case .addRuntimeFailed(let id, let why): "failed to add runtime \(id): \(why)"
        case .cleanedUp(let id): "runtime/registry: cannot add runtime \(id): the registry has been cleaned up"
        }
    }
}
