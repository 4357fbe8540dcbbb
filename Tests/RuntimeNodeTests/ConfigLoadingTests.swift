import Foundation
import Logging
import RuntimeRegistry
@testable import RuntimeNode
import Testing

/// `NodeConfig.load`: the YAML file, the flags over it, and the shape errors.
@Suite("Node configuration loading", .timeLimit(.minutes(3)))
struct ConfigLoadingTests {
    static let id = ConfigFixture.runtimeID
    static let other = ConfigFixture.otherID

    /// Loads `body` (after the datadir line) with `flags`.
    static func load(_ body: String, flags: [String: [String]] = [:], in fixture: ConfigFixture) throws -> NodeConfig {
        try fixture.writeConfig(body)
        return try NodeConfig.load(configFile: fixture.configPath, flags: flags)
    }

    /// The error loading `body` gives.
    static func loadError(_ body: String, flags: [String: [String]] = [:], in fixture: ConfigFixture) -> NodeConfigError? {
        do {
            _ = try load(body, flags: flags, in: fixture)
            return nil
        } catch let error as NodeConfigError {
            return error
        } catch {
            Issue.record(error)
            return nil
        }
    }

    @Test("only a data directory gives the flag defaults")
    func defaults() async throws {
        try await ConfigFixture.with { fixture in
            let config = try Self.load("", in: fixture)
            #expect(config == NodeConfig(dataDir: fixture.dataDir))
            #expect(config.runtime.paths == nil)
            #expect(config.consensus.genesisPath(dataDir: config.dataDir) == fixture.dataDir + "/genesis.yaml")
        }
    }

    @Test("every key is read from the nested YAML")
    func everyKey() async throws {
        try await ConfigFixture.with { fixture in
            let config = try Self.load(
                """
                runtime:
                  supported:
                    - "\(Self.id)"
                  provisioner: unconfined
                  paths:
                    "\(Self.id)": /opt/kv-runtime
                  sandbox:
                    binary: /opt/bwrap
                  sgx:
                    loader: /opt/loader
                    signatures: {"\(Self.id)": /opt/sig}
                  history:
                    pruner: {strategy: keep_last, interval: 1h30m, num_kept: 42}
                    tag_indexer: {backend: sqlite}
                  limits: {memory: 2GiB}
                debug: {dont_blame_oasis: true}
                consensus: {backend: local, genesis: /opt/genesis.yaml}
                metrics: {address: "0.0.0.0:9100"}
                log: {level: warn, format: json}

                """, in: fixture)
            let expected = NodeConfig(
                dataDir: fixture.dataDir,
                runtime: RuntimeOptions(
                    supported: [Self.id], provisioner: "unconfined", paths: [Self.id: "/opt/kv-runtime"],
                    sandboxBinary: "/opt/bwrap", sgxLoader: "/opt/loader", sgxSignatures: [Self.id: "/opt/sig"],
                    historyPrunerStrategy: "keep_last", historyPrunerInterval: .seconds(5400), historyPrunerNumKept: 42,
                    tagIndexerBackend: "sqlite", debugDontBlameOasis: true, memoryLimit: 2 << 30),
                consensus: ConsensusOptions(backend: "local", genesis: "/opt/genesis.yaml"),
                metricsAddress: "0.0.0.0:9100", logLevel: .warning, logFormat: "json")
            #expect(config == expected)
        }
    }

    @Test("the prune interval is Go duration text or seconds")
    func durations() async throws {
        try await ConfigFixture.with { fixture in
            let cases: [(String, Duration)] = [
                ("2m", .seconds(120)), ("1h30m", .seconds(5400)), ("500ms", .milliseconds(500)), ("90", .seconds(90)),
                ("1.5", .milliseconds(1500)), ("\"1.5s\"", .milliseconds(1500)), ("0.3s", .milliseconds(300)),
            ]
            for (text, expected) in cases {
                let config = try Self.load("runtime: {history: {pruner: {interval: \(text)}}}\n", in: fixture)
                #expect(config.runtime.historyPrunerInterval == expected, "\(text)")
            }
            let flagged = try Self.load("", flags: ["runtime.history.pruner.interval": ["2m30s"]], in: fixture)
            #expect(flagged.runtime.historyPrunerInterval == .seconds(150))
            #expect(GoDuration.parse("1h2m3.5s") == .milliseconds(3_723_500))
            #expect(GoDuration.parse("2") == nil)
            #expect(GoDuration.parse("2x") == nil)
            #expect(GoDuration.parse("") == nil)
        }
    }

    @Test("the memory limit is bytes or a whole number of KiB, MiB, GiB or TiB, in the file or a flag")
    func sizes() async throws {
        try await ConfigFixture.with { fixture in
            let cases: [(String, UInt64)] = [
                ("0", 0), ("536870912", 512 << 20), ("512MiB", 512 << 20), ("\"1 GiB\"", 1 << 30), ("2gib", 2 << 30),
            ]
            for (text, expected) in cases {
                let config = try Self.load("runtime: {limits: {memory: \(text)}}\n", in: fixture)
                #expect(config.runtime.memoryLimit == expected, "\(text)")
            }
            let flagged = try Self.load("", flags: ["runtime.limits.memory": ["64MiB"]], in: fixture)
            #expect(flagged.runtime.memoryLimit == 64 << 20)
            #expect(try Self.load("", in: fixture).runtime.memoryLimit == 0, "no limit by default")
        }
    }

    @Test("flags override the file: a scalar, a list and a map")
    func flagsOverride() async throws {
        try await ConfigFixture.with { fixture in
            let body = """
                runtime:
                  supported: ["\(Self.id)"]
                  provisioner: mock
                  paths: {"\(Self.id)": /opt/a}
                log: {level: debug}

                """
            let config = try Self.load(
                body,
                flags: [
                    "runtime.provisioner": ["unconfined"],
                    "runtime.supported": ["\(Self.other),\(Self.id)"],
                    "runtime.paths": ["\(Self.other)=/opt/b", "\(Self.id)=/opt/c"],
                    "debug.dont_blame_oasis": ["true"],
                    "log.level": ["trace"],
                ], in: fixture)
            #expect(config.runtime.provisioner == "unconfined")
            #expect(config.runtime.supported == [Self.other, Self.id])
            #expect(config.runtime.paths == [Self.other: "/opt/b", Self.id: "/opt/c"])
            #expect(config.runtime.debugDontBlameOasis)
            #expect(config.logLevel == .trace)

            let repeated = try Self.load(body, flags: ["runtime.supported": [Self.other, Self.id]], in: fixture)
            #expect(repeated.runtime.supported == [Self.other, Self.id])
            let last = try Self.load(body, flags: ["runtime.provisioner": ["mock", "sandboxed"]], in: fixture)
            #expect(last.runtime.provisioner == "sandboxed")
        }
    }

    @Test("flags alone make a configuration")
    func flagsOnly() async throws {
        try await ConfigFixture.with { fixture in
            let config = try NodeConfig.load(
                configFile: nil,
                flags: ["datadir": [fixture.dataDir], "runtime.history.pruner.num_kept": ["7"], "metrics.address": [""]])
            #expect(config == NodeConfig(
                dataDir: fixture.dataDir, runtime: RuntimeOptions(historyPrunerNumKept: 7), metricsAddress: ""))
        }
    }

    @Test("runtime.paths unset, set but empty, and set")
    func pathsUnsetVersusEmpty() async throws {
        try await ConfigFixture.with { fixture in
            let unset = try Self.load("", in: fixture)
            let empty = try Self.load("runtime: {paths: {}}\n", in: fixture)
            let null = try Self.load("runtime:\n  paths:\n", in: fixture)
            let flagged = try Self.load("", flags: ["runtime.paths": [""]], in: fixture)
            #expect(unset.runtime.paths == nil)
            #expect(empty.runtime.paths == [:])
            #expect(null.runtime.paths == [:])
            #expect(flagged.runtime.paths == [:])
        }
    }

    @Test("relative paths resolve against the file's directory, relative flags against the current directory")
    func relativePaths() async throws {
        try await ConfigFixture.with { fixture in
            let directory = fixture.root + "/etc/node"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let file = directory + "/config.yaml"
            try fixture.write(
                """
                datadir: ../../data/
                runtime:
                  paths: {"\(Self.id)": bin/kv-runtime}
                  sgx: {signatures: {"\(Self.id)": ./sig}}
                  sandbox: {binary: /usr/bin/bwrap}
                consensus: {genesis: genesis.yaml}

                """, to: file)
            let config = try NodeConfig.load(configFile: file, flags: [:])
            #expect(config.dataDir == fixture.dataDir)
            #expect(config.runtime.paths == [Self.id: directory + "/bin/kv-runtime"])
            #expect(config.runtime.sgxSignatures == [Self.id: directory + "/sig"])
            #expect(config.runtime.sandboxBinary == "/usr/bin/bwrap")
            #expect(config.runtime.sgxLoader == "")
            #expect(config.consensus.genesis == directory + "/genesis.yaml")

            let cwd = FileManager.default.currentDirectoryPath
            let flagged = try NodeConfig.load(
                configFile: file, flags: ["datadir": ["state"], "runtime.paths": ["\(Self.id)=rt"]])
            #expect(flagged.dataDir == NodeConfigText.cleanPath(cwd + "/state"))
            #expect(flagged.runtime.paths == [Self.id: NodeConfigText.cleanPath(cwd + "/rt")])
        }
    }

    @Test("a missing data directory is an error naming datadir")
    func missingDataDirectory() throws {
        #expect(throws: NodeConfigError(
            key: "datadir", message: "no data directory configured",
            hint: "pass --datadir DIR or set datadir in the config file")) {
            try NodeConfig.load(configFile: nil, flags: [:])
        }
    }

    @Test("an unreadable config file is an error naming the file")
    func unreadableFile() async throws {
        try await ConfigFixture.with { fixture in
            let missing = fixture.root + "/absent.yaml"
            let error = #expect(throws: NodeConfigError.self) { try NodeConfig.load(configFile: missing, flags: [:]) }
            #expect(error?.key == nil)
            #expect(error?.description.hasPrefix("cannot read config file '\(missing)': No such file or directory") == true)
            let directory = #expect(throws: NodeConfigError.self) {
                try NodeConfig.load(configFile: fixture.root, flags: [:])
            }
            #expect(directory?.message == "cannot read config file '\(fixture.root)': it is a directory")
            // A file that never ends is refused at the bound, not read until memory runs out.
            let endless = #expect(throws: NodeConfigError.self) {
                try NodeConfig.load(configFile: "/dev/zero", flags: [:])
            }
            #expect(endless?.message == "cannot read config file '/dev/zero': it is larger than 4194304 bytes")
        }
    }

    @Test("a config of nested aliases (billion laughs), even as a mapping key, is refused before it is composed")
    func aliasBomb() async throws {
        try await ConfigFixture.with { fixture in
            // Nine levels of nine aliases stand for 9^9 values; Yams hashes a mapping key while
            // composing, so the key alone would take hours if Yams saw it first.
            var yaml = "x0: &x0 [a, a, a, a, a, a, a, a, a]\n"
            for level in 1...9 {
                yaml += "x\(level): &x\(level) [" + Array(repeating: "*x\(level - 1)", count: 9).joined(separator: ", ") + "]\n"
            }
            let error = Self.loadError(yaml + "k: {? *x9 : 1}\n", in: fixture)
            #expect(error?.key == nil)
            #expect(error?.message == "config file '\(fixture.configPath)' expands to more than 1000000 values")
            #expect(error?.description.hasSuffix("a config has far fewer, so remove the nested aliases") == true)
        }
    }

    @Test("malformed YAML names the file, line and column")
    func malformedYAML() async throws {
        try await ConfigFixture.with { fixture in
            let error = Self.loadError("runtime:\n  supported: [a, b\n  provisioner: mock\n", in: fixture)
            #expect(error?.key == nil)
            let description = error?.description ?? ""
            #expect(description.hasPrefix("malformed YAML in config file '\(fixture.configPath)' line "))
            #expect(description.contains(", column "))
            #expect(!description.contains("\n"))
        }
    }

    @Test("an unknown key is named with its full dotted path and the keys known there")
    func unknownKeys() async throws {
        try await ConfigFixture.with { fixture in
            let nested = Self.loadError("runtime:\n  histroy:\n    pruner: {strategy: none}\n", in: fixture)
            #expect(nested?.key == "runtime.histroy")
            #expect(nested?.message
                == "unknown config key runtime.histroy; known keys under runtime: supported, provisioner, paths, sandbox, sgx, history, "
                + "limits")
            #expect(nested?.description.hasPrefix("unknown config key runtime.histroy (in \(fixture.configPath) line 3)") == true)

            let deep = Self.loadError("runtime: {history: {pruner: {intervall: 2m}}}\n", in: fixture)
            #expect(deep?.message
                == "unknown config key runtime.history.pruner.intervall; known keys under runtime.history.pruner: strategy, interval, num_kept")

            let top = Self.loadError("datadirr: /x\n", in: fixture)
            #expect(top?.message
                == "unknown config key datadirr; known top-level keys: datadir, runtime, debug, consensus, metrics, log")

            let flag = Self.loadError("", flags: ["runtime.histroy": ["x"]], in: fixture)
            #expect(flag?.key == "runtime.histroy")
            #expect(flag?.description.hasPrefix("unknown flag --runtime.histroy; known configuration flags: --datadir") == true)
        }
    }

    @Test("a value of the wrong type names the key and the expected type")
    func wrongTypes() async throws {
        try await ConfigFixture.with { fixture in
            let cases: [(String, String, String)] = [
                ("runtime: {history: {pruner: {num_kept: abc}}}\n", ConfigKey.historyPrunerKeepLastNum,
                 "expected a non-negative integer, not 'abc'"),
                ("runtime: {history: {pruner: {num_kept: -1}}}\n", ConfigKey.historyPrunerKeepLastNum,
                 "expected a non-negative integer, not '-1'"),
                ("runtime: {supported: {a: b}}\n", ConfigKey.supported, "expected a list of strings, not a mapping"),
                ("runtime: {paths: [a]}\n", ConfigKey.paths, "expected a mapping of runtime ID to path, not a list"),
                ("runtime: {provisioner: [a]}\n", ConfigKey.provisioner, "expected a string, not a list"),
                ("debug: {dont_blame_oasis: maybe}\n", ConfigKey.debugDontBlameOasis, "expected true or false, not 'maybe'"),
                ("runtime: {history: {pruner: {interval: soon}}}\n", ConfigKey.historyPrunerInterval,
                 "expected a duration like 500ms, 2m or 1h30m, or a number of seconds (got 'soon')"),
                ("runtime: {limits: {memory: 2GB}}\n", ConfigKey.memoryLimit,
                 "expected a size in bytes or a whole number of KiB, MiB, GiB or TiB, like 2GiB (got '2GB')"),
                ("runtime: {limits: {memory: {a: 1}}}\n", ConfigKey.memoryLimit, "expected a size like 2GiB, not a mapping"),
                ("runtime: 5\n", "runtime",
                 "expected a mapping with keys supported, provisioner, paths, sandbox, sgx, history, limits"),
                ("log: {level: loud}\n", "log.level", "unknown log level 'loud'"),
                ("log: {format: xml}\n", "log.format", "unknown log format 'xml'"),
            ]
            for (body, key, message) in cases {
                let error = Self.loadError(body, in: fixture)
                #expect(error?.key == key, "\(body)")
                #expect(error?.message == message, "\(body)")
                #expect(error?.description.hasPrefix("config key \(key) (in \(fixture.configPath) line ") == true, "\(body)")
            }
            let flag = Self.loadError("", flags: ["runtime.history.pruner.num_kept": ["many"]], in: fixture)
            #expect(flag?.description
                == "config key runtime.history.pruner.num_kept (flag --runtime.history.pruner.num_kept): "
                + "expected a non-negative integer (got 'many')")
            let map = Self.loadError("", flags: ["runtime.paths": ["/opt/rt"]], in: fixture)
            #expect(map?.key == ConfigKey.paths)
            #expect(map?.message == "expected ID=PATH (got '/opt/rt')")
        }
    }

    @Test("yaml() reads back to an equal configuration")
    func yamlRoundTrip() async throws {
        try await ConfigFixture.with { fixture in
            let configs = [
                NodeConfig(dataDir: fixture.dataDir),
                NodeConfig(dataDir: fixture.dataDir, runtime: RuntimeOptions(paths: [:])),
                NodeConfig(
                    dataDir: fixture.dataDir + "/odd \"dir\"",
                    runtime: RuntimeOptions(
                        supported: [Self.id, "\(Self.other):value:with:colons"], provisioner: "mock",
                        paths: [Self.id: "/opt/kv runtime", Self.other: "/opt/b"], sandboxBinary: "/opt/bwrap",
                        sgxLoader: "/opt/loader", sgxSignatures: [Self.id: "/opt/sig"],
                        historyPrunerStrategy: "KEEP_LAST", historyPrunerInterval: .milliseconds(90_500),
                        historyPrunerNumKept: 12, tagIndexerBackend: "bleve", debugDontBlameOasis: true,
                        memoryLimit: 1536 << 20),
                    consensus: ConsensusOptions(genesis: "/opt/genesis.yaml"), metricsAddress: "",
                    logLevel: .critical, logFormat: "json"),
            ]
            for config in configs {
                try fixture.write(config.yaml(), to: fixture.configPath)
                #expect(try NodeConfig.load(configFile: fixture.configPath, flags: [:]) == config, "\(config.yaml())")
            }
            #expect(!configs[0].yaml().contains("paths:"))
            #expect(configs[1].yaml().contains("  paths: {}\n"))
        }
    }

    @Test("durations are written so that they read back exactly")
    func durationText() {
        let durations: [Duration] = [
            .zero, .seconds(1), .seconds(120), .seconds(5400), .seconds(3601), .milliseconds(500), .milliseconds(1500),
            .microseconds(7), .nanoseconds(3),
        ]
        for duration in durations {
            #expect(GoDuration.parse(GoDuration.compactText(duration)) == duration)
        }
        #expect(GoDuration.compactText(.seconds(120)) == "2m")
        #expect(GoDuration.compactText(.seconds(5400)) == "1h30m")
    }

    @Test("the reference lists every key of the API contract")
    func reference() {
        let markdown = NodeConfig.referenceMarkdown()
        let keys = [
            "datadir", "runtime.supported", "runtime.provisioner", "runtime.paths", "runtime.sandbox.binary",
            "runtime.sgx.loader", "runtime.sgx.signatures", "runtime.history.pruner.strategy",
            "runtime.history.pruner.interval", "runtime.history.pruner.num_kept", "runtime.history.tag_indexer.backend",
            "runtime.limits.memory",  // ours, beside the contract's
            "debug.dont_blame_oasis", "consensus.backend", "consensus.genesis", "metrics.address", "log.level",
            "log.format",
        ]
        for key in keys {
            #expect(markdown.contains("| `\(key)`"), "\(key)")
        }
        #expect(NodeConfig.options.map(\.key) == keys)
        #expect(NodeConfig.options.filter(\.repeatable).map(\.key)
            == ["runtime.supported", "runtime.paths", "runtime.sgx.signatures"])
    }

    @Test("a bare boolean flag is true")
    func bareBooleanFlag() async throws {
        try await ConfigFixture.with { fixture in
            let bare = try Self.load("", flags: ["debug.dont_blame_oasis": [""]], in: fixture)
            let off = try Self.load("debug: {dont_blame_oasis: true}\n", flags: ["debug.dont_blame_oasis": ["false"]], in: fixture)
            #expect(bare.runtime.debugDontBlameOasis)
            #expect(!off.runtime.debugDontBlameOasis)
        }
    }

    @Test("dotted keys may also be written flat in the file")
    func flatDottedKeys() async throws {
        try await ConfigFixture.with { fixture in
            let config = try Self.load(
                "runtime.provisioner: unconfined\nruntime.history: {pruner.num_kept: 5}\n", in: fixture)
            #expect(config.runtime.provisioner == "unconfined")
            #expect(config.runtime.historyPrunerNumKept == 5)
        }
    }
}
