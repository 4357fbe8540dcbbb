import Foundation
import Logging
import RuntimeRegistry

/// How an option's value is written and read.
enum NodeOptionKind: Sendable {
    /// Text, taken as written.
    case string
    /// A file or directory; relative paths resolve against the file's directory (YAML) or
    /// the current directory (flags). `""` stays `""`.
    case path
    /// `true` or `false`.
    case bool
    /// A non-negative integer.
    case uint64
    /// Go duration text (`500ms`, `2m`, `1h30m`) or a number of seconds.
    case duration
    /// A size: bytes, or a whole number of `KiB`, `MiB`, `GiB` or `TiB` (``ByteSize``).
    case byteSize
    /// A list of text items; on the command line repeatable and comma-separated.
    case list
    /// Runtime ID → path; `ID=PATH` on the command line (repeatable).
    case pathMap
}

/// A value read from the file or the flags, before it is stored.
enum NodeOptionValue: Sendable, Hashable {
    case string(String)
    case bool(Bool)
    case uint64(UInt64)
    case duration(Duration)
    case byteSize(UInt64)
    case list([String])
    case map([String: String])
}

/// The value cannot be stored; `message` says why (the caller adds key and source).
struct NodeOptionValueProblem: Error {
    var message: String
    var hint: String?
}

/// One row of the option table: the public description plus how to store and show the value.
struct NodeOptionDefinition: Sendable {
    var option: NodeOption
    var kind: NodeOptionKind
    /// Stores a value of ``kind`` (already path-resolved) in the configuration.
    var store: @Sendable (inout NodeConfig, NodeOptionValue) throws(NodeOptionValueProblem) -> Void
    /// The configuration's value, or `nil` when the key is unset (only `runtime.paths`).
    var current: @Sendable (NodeConfig) -> NodeOptionValue?

    init(
        _ key: String, _ kind: NodeOptionKind, type: String? = nil, default defaultText: String, _ help: String,
        store: @escaping @Sendable (inout NodeConfig, NodeOptionValue) throws(NodeOptionValueProblem) -> Void,
        current: @escaping @Sendable (NodeConfig) -> NodeOptionValue?
    ) {
        let repeatable: Bool
        let typeText: String
        switch kind {
        case .string: (typeText, repeatable) = ("string", false)
        case .path: (typeText, repeatable) = ("path", false)
        case .bool: (typeText, repeatable) = ("bool", false)
        case .uint64: (typeText, repeatable) = ("uint64", false)
        case .duration: (typeText, repeatable) = ("duration", false)
        case .byteSize: (typeText, repeatable) = ("size", false)
        case .list: (typeText, repeatable) = ("list of strings", true)
        case .pathMap: (typeText, repeatable) = ("map ID → path", true)
        }
        self.option = NodeOption(
            key: key, type: type ?? typeText, defaultText: defaultText, help: help, repeatable: repeatable)
        self.kind = kind
        self.store = store
        self.current = current
    }
}

// The setters take exactly the kind they are declared with; the loader guarantees it.
private func text(_ value: NodeOptionValue) -> String {
    if case .string(let text) = value { return text }
    return ""
}

private func choice(_ value: String, from allowed: [String], key: String) throws(NodeOptionValueProblem) -> String {
    guard allowed.contains(value) else {
        throw NodeOptionValueProblem(
            message: "unknown \(key) '\(value)'", hint: "use one of: \(allowed.joined(separator: ", "))")
    }
    return value
}

extension NodeConfig {
    /// The option table: every key the YAML file and the flags accept, in reference order. The
    /// loader, ``yaml()`` and ``referenceMarkdown()`` all read this one table.
    public static let options: [NodeOption] = definitions.map(\.option)

    /// The values `log.level` accepts (`warn` is read as `warning`).
    public static let logLevels = Logger.Level.allCases.map(\.rawValue)

    /// `log.level` text, any case; `warn` is `warning`.
    static func parseLogLevel(_ text: String) -> Logger.Level? {
        let lowered = text.lowercased()
        return lowered == "warn" ? .warning : Logger.Level(rawValue: lowered)
    }

    static let definitions: [NodeOptionDefinition] = [
        NodeOptionDefinition(
            "datadir", .path, default: "(required)",
            "The node's data directory: consensus state, `runtimes/<id>/` state directories (mode 0700), "
                + "`internal.sock`.",
            store: { $0.dataDir = text($1) }, current: { .string($0.dataDir) }),
        NodeOptionDefinition(
            ConfigKey.supported, .list, default: "[]",
            "IDs of the supported runtimes, `<64 hex>[:<value>]` (the value is ignored); at most 64. "
                + "On the command line repeatable and comma-separated.",
            store: {
                if case .list(let items) = $1 { $0.runtime.supported = items }
            }, current: { .list($0.runtime.supported) }),
        NodeOptionDefinition(
            ConfigKey.provisioner, .string, default: "sandboxed",
            "How runtime binaries are started: `sandboxed` (bubblewrap + seccomp), `unconfined` or `mock` "
                + "(both need `debug.dont_blame_oasis`).",
            store: { $0.runtime.provisioner = text($1) }, current: { .string($0.runtime.provisioner) }),
        NodeOptionDefinition(
            ConfigKey.paths, .pathMap, default: "unset",
            "Runtime binaries by runtime ID (`--runtime.paths ID=PATH`, repeatable). Hosting is on only when "
                + "this key is set; set but empty is an error.",
            store: {
                if case .map(let map) = $1 { $0.runtime.paths = map }
            }, current: { config in config.runtime.paths.map { NodeOptionValue.map($0) } }),
        NodeOptionDefinition(
            ConfigKey.sandboxBinary, .path, default: "/usr/bin/bwrap",
            "The bubblewrap binary the `sandboxed` provisioner runs runtimes in.",
            store: { $0.runtime.sandboxBinary = text($1) }, current: { .string($0.runtime.sandboxBinary) }),
        NodeOptionDefinition(
            ConfigKey.sgxLoader, .path, default: "\"\"",
            "The SGX loader binary; empty runs SGX runtimes with the non-SGX provisioner.",
            store: { $0.runtime.sgxLoader = text($1) }, current: { .string($0.runtime.sgxLoader) }),
        NodeOptionDefinition(
            ConfigKey.sgxSignatures, .pathMap, default: "{}",
            "SIGSTRUCT files by runtime ID (`--runtime.sgx.signatures ID=PATH`, repeatable); without one a "
                + "debug SIGSTRUCT is generated.",
            store: {
                if case .map(let map) = $1 { $0.runtime.sgxSignatures = map }
            }, current: { .map($0.runtime.sgxSignatures) }),
        NodeOptionDefinition(
            ConfigKey.historyPrunerStrategy, .string, default: "none",
            "History pruning: `none` or `keep_last` (any case).",
            store: { $0.runtime.historyPrunerStrategy = text($1) },
            current: { .string($0.runtime.historyPrunerStrategy) }),
        NodeOptionDefinition(
            ConfigKey.historyPrunerInterval, .duration, default: "2m",
            "How often the pruner runs: Go duration text (`500ms`, `2m`, `1h30m`) or seconds; at least 1s.",
            store: {
                if case .duration(let duration) = $1 { $0.runtime.historyPrunerInterval = duration }
            }, current: { .duration($0.runtime.historyPrunerInterval) }),
        NodeOptionDefinition(
            ConfigKey.historyPrunerKeepLastNum, .uint64, default: "600",
            "Rounds the `keep_last` pruner keeps; the runtime's storage keeps the versions of those rounds "
                + "and drops older ones with them.",
            store: {
                if case .uint64(let number) = $1 { $0.runtime.historyPrunerNumKept = number }
            }, current: { .uint64($0.runtime.historyPrunerNumKept) }),
        NodeOptionDefinition(
            ConfigKey.tagIndexerBackend, .string, default: "\"\"",
            "Transaction tag index: `\"\"` (none), `sqlite`, or `bleve` (read as `sqlite`); any case.",
            store: { $0.runtime.tagIndexerBackend = text($1) }, current: { .string($0.runtime.tagIndexerBackend) }),
        NodeOptionDefinition(
            ConfigKey.memoryLimit, .byteSize, default: "0",
            "The most memory each process of a hosted runtime may allocate (`RLIMIT_DATA`: heap, stacks and other "
                + "private writable memory), e.g. `2GiB`; an allocation over it fails, and a runtime that exits for it "
                + "is restarted. `0` is no limit; otherwise at least 16MiB. Not an oasis-core option.",
            store: {
                if case .byteSize(let bytes) = $1 { $0.runtime.memoryLimit = bytes }
            }, current: { .byteSize($0.runtime.memoryLimit) }),
        NodeOptionDefinition(
            ConfigKey.debugDontBlameOasis, .bool, default: "false",
            "Unsafe debug opt-in, required by the `mock` and `unconfined` provisioners. Never in production.",
            store: {
                if case .bool(let flag) = $1 { $0.runtime.debugDontBlameOasis = flag }
            }, current: { .bool($0.runtime.debugDontBlameOasis) }),
        NodeOptionDefinition(
            "consensus.backend", .string, default: "local",
            "The consensus backend; `local` (the embedded single-node consensus) is the only one.",
            store: { $0.consensus.backend = text($1) }, current: { .string($0.consensus.backend) }),
        NodeOptionDefinition(
            "consensus.genesis", .path, default: "<datadir>/genesis.yaml",
            "The genesis document of the embedded consensus (YAML or JSON).",
            store: { $0.consensus.genesis = text($1) }, current: { .string($0.consensus.genesis) }),
        NodeOptionDefinition(
            "metrics.address", .string, default: "127.0.0.1:3000",
            "`host:port` of the Prometheus metrics endpoint; `\"\"` turns it off.",
            store: { $0.metricsAddress = text($1) }, current: { .string($0.metricsAddress) }),
        NodeOptionDefinition(
            "log.level", .string, type: "level", default: "info",
            "The least severe level logged: trace, debug, info, notice, warning (or warn), error, critical.",
            store: { (config, value) throws(NodeOptionValueProblem) in
                guard let level = NodeConfig.parseLogLevel(text(value)) else {
                    throw NodeOptionValueProblem(
                        message: "unknown log level '\(text(value))'",
                        hint: "use one of: \(NodeConfig.logLevels.joined(separator: ", "))")
                }
                config.logLevel = level
            }, current: { .string($0.logLevel.rawValue) }),
        NodeOptionDefinition(
            "log.format", .string, type: "logfmt|json", default: "logfmt",
            "Log line format: `logfmt` or `json`.",
            store: { (config, value) throws(NodeOptionValueProblem) in
                config.logFormat = try choice(text(value).lowercased(), from: NodeConfig.logFormats, key: "log format")
            }, current: { .string($0.logFormat) }),
    ]

    /// The definition of `key`, if it is one.
    static func definition(_ key: String) -> NodeOptionDefinition? {
        definitions.first { $0.option.key == key }
    }

    /// A Markdown configuration reference generated from ``options``: one table row per key
    /// with its flag, type, default and description.
    public static func referenceMarkdown() -> String {
        func cell(_ text: String) -> String {
            text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        var lines = [
            "Every key can be set in the YAML file given with `--config` (dotted keys are nesting: "
                + "`runtime.history.pruner.interval` is `runtime: {history: {pruner: {interval: …}}}`) "
                + "or with the flag `--<key>`; flags override the file. Relative paths in the file resolve "
                + "against the file's directory, relative paths in flags against the current directory.",
            "",
            "| Key | Type | Default | Description |",
            "|---|---|---|---|",
        ]
        for option in options {
            let key = option.repeatable ? "`\(option.key)` (repeatable flag)" : "`\(option.key)`"
            let defaultText = ["(required)", "unset"].contains(option.defaultText)
                ? option.defaultText : "`\(option.defaultText)`"
            lines.append("| \(key) | \(cell(option.type)) | \(cell(defaultText)) | \(cell(option.help)) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
