import ArgumentParser
import RuntimeNode

/// Every configuration flag, with the seed's dotted names; a flag given here beats the file.
struct NodeFlags: ParsableArguments {
    @Option(name: .customLong("datadir"), help: "The data directory.")
    var dataDir: String?

    @Option(name: .customLong("runtime.supported"), help: "A supported runtime ID (repeatable, or comma-separated).")
    var supported: [String] = []

    @Option(name: .customLong("runtime.provisioner"), help: "mock, unconfined or sandboxed.")
    var provisioner: String?

    @Option(name: .customLong("runtime.paths"), help: "ID=PATH of a runtime binary to host (repeatable).")
    var paths: [String] = []

    @Option(name: .customLong("runtime.sandbox.binary"), help: "The bubblewrap binary.")
    var sandboxBinary: String?

    @Option(name: .customLong("runtime.sgx.loader"), help: "The SGXS loader binary.")
    var sgxLoader: String?

    @Option(name: .customLong("runtime.sgx.signatures"), help: "ID=PATH of a runtime's SIGSTRUCT (repeatable).")
    var sgxSignatures: [String] = []

    @Option(name: .customLong("runtime.history.pruner.strategy"), help: "none or keep_last.")
    var prunerStrategy: String?

    @Option(name: .customLong("runtime.history.pruner.interval"), help: "How often to prune (at least 1s).")
    var prunerInterval: String?

    @Option(name: .customLong("runtime.history.pruner.num_kept"), help: "Rounds kept by keep_last.")
    var prunerNumKept: String?

    @Option(name: .customLong("runtime.history.tag_indexer.backend"), help: "\"\" (off), sqlite or bleve.")
    var tagIndexerBackend: String?

    @Option(
        name: .customLong("runtime.limits.memory"),
        help: "The most memory each runtime process may allocate, like 2GiB (0: no limit).")
    var memoryLimit: String?

    /// A bare `--debug.dont_blame_oasis` reaches the parser as `=true`
    /// (``RuntimeNodeCommand/withExplicitBooleans(_:)``); `=false` overrides a `true` in the file.
    @Option(
        name: .customLong("debug.dont_blame_oasis"),
        help: ArgumentHelp("Allow unsafe debug options (mock, unconfined); =false overrides the file.", valueName: "bool"))
    var dontBlameOasis: String?

    @Option(name: .customLong("consensus.backend"), help: "The consensus backend (local).")
    var consensusBackend: String?

    @Option(name: .customLong("consensus.genesis"), help: "The genesis file (default: DATADIR/genesis.yaml).")
    var consensusGenesis: String?

    @Option(name: .customLong("metrics.address"), help: "host:port of the Prometheus endpoint (\"\" turns it off).")
    var metricsAddress: String?

    @Option(name: .customLong("log.level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Option(name: .customLong("log.format"), help: "logfmt or json.")
    var logFormat: String?

    /// The boolean flags, which may be given bare (meaning true) or as `--flag=true|false`.
    static let booleanFlags: Set<String> = ["--debug.dont_blame_oasis"]

    /// The flags that were given, by dotted key, for ``NodeConfig/load(configFile:flags:)``.
    var overrides: [String: [String]] {
        var flags: [String: [String]] = [:]
        func set(_ key: String, _ value: String?) {
            if let value { flags[key] = [value] }
        }
        func set(_ key: String, _ values: [String]) {
            if !values.isEmpty { flags[key] = values }
        }
        set("datadir", dataDir)
        set("runtime.supported", supported)
        set("runtime.provisioner", provisioner)
        set("runtime.paths", paths)
        set("runtime.sandbox.binary", sandboxBinary)
        set("runtime.sgx.loader", sgxLoader)
        set("runtime.sgx.signatures", sgxSignatures)
        set("runtime.history.pruner.strategy", prunerStrategy)
        set("runtime.history.pruner.interval", prunerInterval)
        set("runtime.history.pruner.num_kept", prunerNumKept)
        set("runtime.history.tag_indexer.backend", tagIndexerBackend)
        set("runtime.limits.memory", memoryLimit)
        set("debug.dont_blame_oasis", dontBlameOasis)
        set("consensus.backend", consensusBackend)
        set("consensus.genesis", consensusGenesis)
        set("metrics.address", metricsAddress)
        set("log.level", logLevel)
        set("log.format", logFormat)
        return flags
    }
}
