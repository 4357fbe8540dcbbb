/// The seed's `runtime.*` command-line options (and `debug.dont_blame_oasis`) with their
/// defaults, as plain values: the node's CLI and YAML config fill it in, ``RuntimeConfig``
/// checks and turns it into a configuration. Names follow ``ConfigKey``.
public struct RuntimeOptions: Sendable, Hashable {
    /// `runtime.supported`: `<hex-id>[:<value>]` items; the value part is ignored.
    public var supported: [String]
    /// `runtime.provisioner`: `mock`, `unconfined` or `sandboxed` (default).
    public var provisioner: String
    /// `runtime.paths`: runtime binaries by raw ID text. `nil` means the key is unset, which
    /// is what turns hosting off; an empty map is set-but-empty (`no runtimes configured`).
    public var paths: [String: String]?
    /// `runtime.sandbox.binary`: bubblewrap.
    public var sandboxBinary: String
    /// `runtime.sgx.loader`: empty maps SGX runtimes to the non-SGX provisioner.
    public var sgxLoader: String
    /// `runtime.sgx.signatures`: SIGSTRUCT paths by the same raw ID text as `paths`.
    public var sgxSignatures: [String: String]
    /// `runtime.history.pruner.strategy`: `none` (default) or `keep_last`, any case.
    public var historyPrunerStrategy: String
    /// `runtime.history.pruner.interval`: at least 1s; default 2m.
    public var historyPrunerInterval: Duration
    /// `runtime.history.pruner.num_kept`: rounds kept by `keep_last`; default 600.
    public var historyPrunerNumKept: UInt64
    /// `runtime.history.tag_indexer.backend`: `""` (disabled, default), `sqlite`, or `bleve`
    /// (read as `sqlite`).
    public var tagIndexerBackend: String
    /// `debug.dont_blame_oasis`: the unsafe debug opt-in that `mock` and `unconfined` need.
    public var debugDontBlameOasis: Bool
    /// `runtime.limits.memory` (not a seed option): the bytes each process of a hosted
    /// runtime may allocate (`RLIMIT_DATA`); 0 (default) is no limit, otherwise at least
    /// ``minimumMemoryLimit``.
    public var memoryLimit: UInt64

    /// The seed's flag defaults.
    public init(
        supported: [String] = [], provisioner: String = RuntimeProvisionerKind.sandboxed.rawValue,
        paths: [String: String]? = nil, sandboxBinary: String = "/usr/bin/bwrap", sgxLoader: String = "",
        sgxSignatures: [String: String] = [:], historyPrunerStrategy: String = "none",
        historyPrunerInterval: Duration = .seconds(120), historyPrunerNumKept: UInt64 = 600,
        tagIndexerBackend: String = "", debugDontBlameOasis: Bool = false, memoryLimit: UInt64 = 0
    ) {
        self.supported = supported
        self.provisioner = provisioner
        self.paths = paths
        self.sandboxBinary = sandboxBinary
        self.sgxLoader = sgxLoader
        self.sgxSignatures = sgxSignatures
        self.historyPrunerStrategy = historyPrunerStrategy
        self.historyPrunerInterval = historyPrunerInterval
        self.historyPrunerNumKept = historyPrunerNumKept
        self.tagIndexerBackend = tagIndexerBackend
        self.debugDontBlameOasis = debugDontBlameOasis
        self.memoryLimit = memoryLimit
    }

    /// The least non-zero `runtime.limits.memory`: below it not even bubblewrap starts.
    public static let minimumMemoryLimit: UInt64 = 16 << 20
}
