public import Logging
public import RuntimeRegistry

/// The node's whole configuration: the seed's `runtime.*` options plus what the daemon adds
/// (data directory, consensus, metrics, logging).
///
/// It comes from an optional YAML file and then command-line flags (flags win), both read by
/// ``load(configFile:flags:)`` through the one option table ``options``. ``validate()`` then
/// runs every check that does not write, so a bad configuration stops the node with one
/// sentence before anything touches the data directory.
public struct NodeConfig: Sendable, Hashable {
    /// `datadir`: where the node keeps its state. Required; absolute after loading.
    public var dataDir: String
    /// Every `runtime.*` key, and `debug.dont_blame_oasis`.
    public var runtime: RuntimeOptions
    /// `consensus.*`: which consensus backend, and its genesis document.
    public var consensus: ConsensusOptions
    /// `metrics.address`: `host:port` of the Prometheus endpoint; `""` turns metrics off.
    public var metricsAddress: String
    /// `log.level`: the least severe level that is logged.
    public var logLevel: Logger.Level
    /// `log.format`: `logfmt` or `json`.
    public var logFormat: String

    /// A configuration; every argument but the data directory defaults to the flag default.
    public init(
        dataDir: String, runtime: RuntimeOptions = RuntimeOptions(), consensus: ConsensusOptions = ConsensusOptions(),
        metricsAddress: String = "127.0.0.1:3000", logLevel: Logger.Level = .info, logFormat: String = "logfmt"
    ) {
        self.dataDir = dataDir
        self.runtime = runtime
        self.consensus = consensus
        self.metricsAddress = metricsAddress
        self.logLevel = logLevel
        self.logFormat = logFormat
    }

    /// The values `log.format` accepts.
    public static let logFormats = ["logfmt", "json"]
}

/// The `consensus.*` keys. Only the embedded consensus (`local`) exists so far.
public struct ConsensusOptions: Sendable, Hashable {
    /// `consensus.backend`: `local`, the embedded single-node consensus.
    public var backend: String
    /// `consensus.genesis`: the genesis document; `""` means `<datadir>/genesis.yaml`.
    public var genesis: String

    /// Options with the flag defaults.
    public init(backend: String = "local", genesis: String = "") {
        self.backend = backend
        self.genesis = genesis
    }

    /// The genesis document's path: ``genesis``, or `<dataDir>/genesis.yaml` when that is empty.
    public func genesisPath(dataDir: String) -> String {
        guard genesis.isEmpty else { return genesis }
        return dataDir.hasSuffix("/") ? dataDir + "genesis.yaml" : dataDir + "/genesis.yaml"
    }
}

/// One configuration option: its dotted key (the YAML path and, with `--`, the flag), its
/// value type, its default and what it does. ``NodeConfig/options`` lists them all.
public struct NodeOption: Sendable, Hashable {
    /// The dotted key, e.g. `runtime.history.pruner.interval`.
    public var key: String
    /// The value type as the reference shows it, e.g. `duration` or `map ID → path`.
    public var type: String
    /// The default as text (`""` for an empty string).
    public var defaultText: String
    /// What the option does, one or two sentences.
    public var help: String
    /// Whether the flag may be given several times (lists and maps).
    public var repeatable: Bool

    /// An option.
    public init(key: String, type: String, defaultText: String, help: String, repeatable: Bool = false) {
        self.key = key
        self.type = type
        self.defaultText = defaultText
        self.help = help
        self.repeatable = repeatable
    }
}

/// Why a configuration was refused: the node exits with status 2 and prints ``description``.
public struct NodeConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The dotted key at fault; `nil` when the problem is the file as a whole.
    public var key: String?
    /// The problem. For `runtime.*` checks this is oasis-core's exact message.
    public var message: String
    /// One sentence naming the key, the problem and what to do.
    public var description: String

    /// An error about `key`; the description is `config key <key>: <message>`, followed by
    /// `; <hint>` when there is a hint on what to do.
    public init(key: String?, message: String, hint: String? = nil) {
        self.key = key
        self.message = message
        var text = key.map { "config key \($0): \(message)" } ?? message
        if let hint { text += "; \(hint)" }
        self.description = text
    }

    /// An error whose description is written out in full.
    init(key: String?, message: String, description: String) {
        self.key = key
        self.message = message
        self.description = description
    }
}
