import Foundation
import Logging
import RuntimeHost
import RuntimeRegistry
@testable import RuntimeNode
import Testing

/// A scratch directory with a data directory holding a genesis document, and a way to prove the
/// data directory was not touched.
struct ConfigFixture {
    let root: String
    var dataDir: String { root + "/data" }
    var configPath: String { root + "/config.yaml" }

    static let runtimeID = Namespace.test(seed: "config-tests").description
    static let otherID = Namespace.test(seed: "config-tests-other").description
    static let genesis = "chain_context: config-tests\nblock_interval: 1s\nepoch_interval: 10\n"

    /// Runs `body` with a fresh fixture and removes it afterwards.
    static func with<T>(_ body: (ConfigFixture) async throws -> T) async throws -> T {
        let root = FileManager.default.temporaryDirectory.path + "/config-tests-" + UUID().uuidString
        let fixture = ConfigFixture(root: root)
        try FileManager.default.createDirectory(atPath: fixture.dataDir, withIntermediateDirectories: true)
        try fixture.write(genesis, to: fixture.dataDir + "/genesis.yaml")
        defer { try? FileManager.default.removeItem(atPath: root) }
        return try await body(fixture)
    }

    func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Writes the config file: `datadir` pointing at the data directory, then `body`.
    func writeConfig(_ body: String) throws {
        try write("datadir: \(dataDir)\n" + body, to: configPath)
    }

    /// Every entry under `path` with its type, permission bits and (for files) contents.
    static func snapshot(_ path: String) -> [String] {
        var entries: [String] = []
        guard let walker = FileManager.default.enumerator(atPath: path) else { return ["<missing>"] }
        while let relative = walker.nextObject() as? String {
            let full = path + "/" + relative
            let attributes = (try? FileManager.default.attributesOfItem(atPath: full)) ?? [:]
            let mode = (attributes[.posixPermissions] as? Int).map { String($0, radix: 8) } ?? "?"
            let type = attributes[.type] as? FileAttributeType
            var line = "\(relative) \(type?.rawValue ?? "?") \(mode)"
            if type == .typeRegular, let data = FileManager.default.contents(atPath: full) {
                line += " " + data.base64EncodedString()
            }
            entries.append(line)
        }
        return entries.sorted()
    }

    /// Loads the config file with `flags` and validates it; returns the refusal, recording an
    /// issue when there is none or when the data directory changed.
    func refusal(
        flags: [String: [String]] = [:], preflight: @escaping @Sendable (SandboxOptions) async throws -> Void = { _ in },
        sourceLocation: SourceLocation = #_sourceLocation
    ) async -> NodeConfigError? {
        let before = Self.snapshot(dataDir)
        defer {
            #expect(Self.snapshot(dataDir) == before, "the data directory changed", sourceLocation: sourceLocation)
        }
        do {
            let config = try NodeConfig.load(configFile: configPath, flags: flags)
            try await config.validate(preflight: preflight)
        } catch {
            return error
        }
        Issue.record("the configuration was accepted", sourceLocation: sourceLocation)
        return nil
    }
}

/// `NodeConfig.validate()`: spec/core.md §1.3 with oasis-core's messages, and the node's own
/// checks, each leaving the data directory as it was.
@Suite("Node configuration checks", .timeLimit(.minutes(3)))
struct ConfigValidationTests {
    static let id = ConfigFixture.runtimeID
    static let hosted = "runtime:\n  supported: [\"\(id)\"]\n  paths:\n    \"\(id)\": /bin/true\n"

    /// (config file body after datadir, key at fault, oasis-core's message)
    static let refusals: [(String, String, String)] = [
        (hosted + "  provisioner: mock\n", ConfigKey.provisioner, "mock provisioner requires use of unsafe debug flags"),
        (hosted + "  provisioner: unconfined\n", ConfigKey.provisioner,
         "unconfined provisioner requires use of unsafe debug flags"),
        (hosted + "  sandbox:\n    binary: /nonexistent/bwrap\n", ConfigKey.sandboxBinary,
         "failed to stat sandbox binary: stat /nonexistent/bwrap: no such file or directory"),
        (hosted + "  provisioner: docker\n", ConfigKey.provisioner, "unsupported runtime provisioner: docker"),
        ("runtime:\n  history:\n    pruner:\n      strategy: keeplast\n", ConfigKey.historyPrunerStrategy,
         "runtime/registry: unknown history pruner strategy: keeplast"),
        ("runtime:\n  history:\n    pruner:\n      interval: 500ms\n", ConfigKey.historyPrunerInterval,
         "runtime/registry: history prune interval must be >= 1s (got 500ms)"),
        ("runtime:\n  history:\n    tag_indexer:\n      backend: lucene\n", ConfigKey.tagIndexerBackend,
         "runtime/registry: unknown tag indexer backend: lucene"),
        ("runtime:\n  supported: [\"\(id)\"]\n  provisioner: mock\n  paths: {xyz: /bin/true}\ndebug: {dont_blame_oasis: true}\n",
         ConfigKey.paths, "bad runtime identifier 'xyz': \(configErrorText { _ = try Namespace(hex: "xyz") })"),
        ("runtime:\n  provisioner: mock\n  paths: {}\ndebug: {dont_blame_oasis: true}\n", ConfigKey.paths,
         "no runtimes configured"),
        // Without runtime.paths too: the provisioner and the signature keys are always checked.
        ("runtime:\n  provisioner: bogus\n", ConfigKey.provisioner, "unsupported runtime provisioner: bogus"),
        ("runtime:\n  sgx:\n    signatures: {zz: /nonexistent}\n", ConfigKey.sgxSignatures,
         "bad runtime identifier 'zz': \(configErrorText { _ = try Namespace(hex: "zz") })"),
        (hosted + "  provisioner: mock\n  sgx:\n    signatures: {xyz: /sig}\ndebug: {dont_blame_oasis: true}\n",
         ConfigKey.sgxSignatures, "bad runtime identifier 'xyz': \(configErrorText { _ = try Namespace(hex: "xyz") })"),
        ("runtime:\n  supported:\n" + (0...maxRuntimeCount).map { "    - \(Namespace.test(seed: "n\($0)"))\n" }.joined(),
         ConfigKey.supported, "runtime/registry: too many registered runtimes"),
        ("runtime:\n  supported: [\"2000000000000000\(String(repeating: "0", count: 48))\"]\n", ConfigKey.supported,
         "malformed runtime map item: 2000000000000000\(String(repeating: "0", count: 48))"),
        ("runtime:\n  supported: [\"\(id)\"]\n  provisioner: mock\n  paths: {\"\(ConfigFixture.otherID)\": /bin/true}\n"
            + "debug: {dont_blame_oasis: true}\n",
         ConfigKey.paths, "runtime \(ConfigFixture.otherID) has a path but is not in runtime.supported"),
        ("runtime:\n  limits:\n    memory: 15MiB\n", ConfigKey.memoryLimit,
         "runtime/registry: the memory limit must be 0 (no limit) or at least 16MiB (got 15MiB)"),
        ("consensus: {backend: tendermint}\n", "consensus.backend", "unsupported consensus backend 'tendermint'"),
        ("metrics: {address: \"localhost\"}\n", "metrics.address", "'localhost' is not host:port (no port)"),
        ("metrics: {address: \"127.0.0.1:99999\"}\n", "metrics.address", "'127.0.0.1:99999' has no valid port (0-65535)"),
    ]

    @Test("a bad configuration is refused with the key, oasis-core's message, and an untouched data directory",
          arguments: 0..<refusals.count)
    func refused(_ index: Int) async throws {
        let (body, key, message) = Self.refusals[index]
        try await ConfigFixture.with { fixture in
            try fixture.writeConfig(body)
            let error = await fixture.refusal()
            #expect(error?.key == key)
            #expect(error?.message == message)
            #expect(error?.description.hasPrefix("config key \(key): \(message)") == true)
        }
    }

    @Test("a runtime.sgx.signatures key matches its runtime.paths entry by ID, in either case")
    func signaturesMatchByID() async throws {
        try await ConfigFixture.with { fixture in
            let id = try Namespace(hex: Self.id)
            try fixture.writeConfig(
                Self.hosted + "  provisioner: mock\n  sgx:\n    signatures:\n      \"\(Self.id.uppercased())\": /sig\n"
                    + "debug: {dont_blame_oasis: true}\n")
            let config = try NodeConfig.load(configFile: fixture.configPath, flags: [:])
            try await config.validate(preflight: { _ in })
            let made = try await RuntimeConfig.make(
                options: config.runtime, consensus: GenesisStatusConsensus(chainContextValue: "config-tests"),
                provisioners: .inert, logger: Logger(label: "config-test") { _ in SwiftLogNoOpLogHandler() })
            #expect(made.host?.runtimes[id]?.extra == .sgx(signaturePath: "/sig", unsafeDebugGenerateSigstruct: false))
        }
    }

    @Test("keep_last in any case, 1s, and the bleve and empty indexer backends are accepted")
    func accepted() async throws {
        try await ConfigFixture.with { fixture in
            try fixture.writeConfig(
                "runtime:\n  history:\n    pruner: {strategy: KEEP_LAST, interval: 1s}\n    tag_indexer: {backend: BLEVE}\n")
            try await NodeConfig.load(configFile: fixture.configPath, flags: [:]).validate(preflight: { _ in })
            try fixture.writeConfig("runtime:\n  history:\n    tag_indexer: {backend: \"\"}\n")
            try await NodeConfig.load(configFile: fixture.configPath, flags: [:]).validate(preflight: { _ in })
        }
    }

    @Test("a valid hosted configuration passes without creating anything")
    func validHostedWritesNothing() async throws {
        try await ConfigFixture.with { fixture in
            try fixture.writeConfig(Self.hosted + "  provisioner: mock\ndebug: {dont_blame_oasis: true}\n")
            let before = ConfigFixture.snapshot(fixture.dataDir)
            try await NodeConfig.load(configFile: fixture.configPath, flags: [:]).validate()
            #expect(ConfigFixture.snapshot(fixture.dataDir) == before)
            #expect(!FileManager.default.fileExists(atPath: fixture.dataDir + "/runtimes"))
        }
    }

    @Test("a data directory that does not exist yet is fine when its parent is writable")
    func creatableDataDirectory() async throws {
        try await ConfigFixture.with { fixture in
            try fixture.write(
                "datadir: \(fixture.root)/new/data\nconsensus: {genesis: \(fixture.dataDir)/genesis.yaml}\n",
                to: fixture.configPath)
            try await NodeConfig.load(configFile: fixture.configPath, flags: [:]).validate(preflight: { _ in })
            #expect(!FileManager.default.fileExists(atPath: fixture.root + "/new"))
        }
    }

    @Test("a data directory too long for its control socket is refused before the node creates it")
    func dataDirectoryTooLongForSocket() async throws {
        try await ConfigFixture.with { fixture in
            let dataDir = fixture.root + "/" + String(repeating: "d", count: 100)
            let config = NodeConfig(
                dataDir: dataDir, consensus: ConsensusOptions(genesis: fixture.dataDir + "/genesis.yaml"))
            let logger = Logger(label: "config-tests", factory: { _ in SwiftLogNoOpLogHandler() })
            do {
                _ = try await RuntimeNode.make(config: config, metrics: nil, logger: logger)
                Issue.record("the node started")
            } catch let error as NodeConfigError {
                #expect(error.key == "datadir")
                #expect(error.description.contains(dataDir + "/internal.sock"))
            } catch {
                Issue.record("not a configuration error: \(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: dataDir))
        }
    }

    @Test("a data directory below a regular file is refused")
    func dataDirectoryBelowFile() async throws {
        try await ConfigFixture.with { fixture in
            try fixture.write("x", to: fixture.root + "/file")
            try fixture.write(
                "datadir: \(fixture.root)/file/sub\nconsensus: {genesis: \(fixture.dataDir)/genesis.yaml}\n",
                to: fixture.configPath)
            let error = await fixture.refusal()
            #expect(error?.key == "datadir")
            #expect(error?.message == "cannot create '\(fixture.root)/file/sub': '\(fixture.root)/file' is not a directory")
            #expect(FileManager.default.contents(atPath: fixture.root + "/file") == Data("x".utf8))
        }
    }

    @Test("a data directory that is a regular file is refused")
    func dataDirectoryIsFile() async throws {
        try await ConfigFixture.with { fixture in
            try fixture.write("x", to: fixture.root + "/file")
            try fixture.writeConfig("")
            let error = await fixture.refusal(flags: ["datadir": [fixture.root + "/file"]])
            #expect(error?.key == "datadir")
            #expect(error?.message == "'\(fixture.root)/file' exists and is not a directory")
        }
    }

    @Test("metrics.address is host:port with a host")
    func hostPort() {
        for address in ["127.0.0.1:3000", "localhost:0", "[::1]:9100", "0.0.0.0:3000", "node.example:65535"] {
            #expect(NodeConfig.hostPortProblem(address) == nil, "\(address)")
        }
        for address in [":3000", "::1:3000", "[::1]", "[::1]3000", "localhost", "localhost:http", "localhost:70000"] {
            #expect(NodeConfig.hostPortProblem(address) != nil, "\(address)")
        }
    }

    @Test("writability follows access(2)")
    func writability() throws {
        #expect(NodeConfig.creatableDirectoryProblem("/tmp") == nil)
        #expect(NodeConfig.creatableDirectoryProblem("/tmp/config-tests-absent/a/b") == nil)
        // Permission bits do not stop root, so the read-only case is checked only without it.
        guard geteuid() != 0 else { return }
        let locked = FileManager.default.temporaryDirectory.path + "/config-tests-locked-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: locked) }
        #expect(chmod(locked, 0o500) == 0)
        #expect(NodeConfig.creatableDirectoryProblem(locked)?.contains("is not writable") == true)
        #expect(NodeConfig.creatableDirectoryProblem(locked + "/data")?.contains("is not writable") == true)
    }

    @Test("a runtime state directory with mode 0755 is refused with common/Mkdir's message")
    func stateDirectoryPermissions() async throws {
        try await ConfigFixture.with { fixture in
            let stateDir = fixture.dataDir + "/runtimes/" + Self.id
            try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
            #expect(chmod(stateDir, 0o755) == 0)
            try fixture.writeConfig("runtime:\n  supported: [\"\(Self.id)\"]\n")
            let error = await fixture.refusal()
            #expect(error?.key == "datadir")
            #expect(error?.message.contains("has invalid permissions") == true)
            #expect(error?.message.hasPrefix("common/Mkdir: path '\(stateDir)'") == true)
        }
    }

    @Test("a runtime state directory that is a regular file is refused")
    func stateDirectoryIsFile() async throws {
        try await ConfigFixture.with { fixture in
            try FileManager.default.createDirectory(atPath: fixture.dataDir + "/runtimes", withIntermediateDirectories: true)
            let stateDir = fixture.dataDir + "/runtimes/" + Self.id
            try fixture.write("x", to: stateDir)
            try fixture.writeConfig("runtime:\n  supported: [\"\(Self.id)\"]\n")
            let error = await fixture.refusal()
            #expect(error?.message == "common/Mkdir: path '\(stateDir)' is not a directory")
        }
    }

    @Test("a state directory with mode 0700 is accepted")
    func stateDirectoryPrivate() async throws {
        try await ConfigFixture.with { fixture in
            _ = try ensureRuntimeStateDir(dataDir: fixture.dataDir, runtimeID: Namespace(hex: Self.id))
            try fixture.writeConfig("runtime:\n  supported: [\"\(Self.id)\"]\n")
            try await NodeConfig.load(configFile: fixture.configPath, flags: [:]).validate(preflight: { _ in })
        }
    }

    @Test("a missing genesis document is refused under consensus.genesis")
    func missingGenesis() async throws {
        try await ConfigFixture.with { fixture in
            try FileManager.default.removeItem(atPath: fixture.dataDir + "/genesis.yaml")
            try fixture.writeConfig("")
            let error = await fixture.refusal()
            #expect(error?.key == "consensus.genesis")
            #expect(error?.message.contains(fixture.dataDir + "/genesis.yaml") == true)
        }
    }

    @Test("a sandbox binary that does not exist is reported before the preflight runs")
    func statBeforePreflight() async throws {
        try await ConfigFixture.with { fixture in
            try fixture.writeConfig(Self.hosted + "  sandbox: {binary: /nonexistent/bwrap}\n")
            let error = await fixture.refusal(preflight: { _ in Issue.record("the preflight ran") })
            #expect(error?.key == ConfigKey.sandboxBinary)
            #expect(error?.description.hasPrefix("config key runtime.sandbox.binary: failed to stat sandbox binary") == true)
        }
    }

    @Test("a failed preflight ends with the unconfined opt-in")
    func preflightFailure() async throws {
        try await ConfigFixture.with { fixture in
            try fixture.writeConfig(Self.hosted + "  sandbox: {binary: /bin/sh}\n")
            let error = await fixture.refusal(preflight: { options in
                #expect(options.bubblewrapPath == "/bin/sh")
                throw RuntimeProcessError(
                    .preflightFailed,
                    "sandbox preflight failed: /bin/sh could not run a sandbox with user namespaces and a seccomp filter "
                        + "(exit 1); allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), "
                        + "or run with --runtime.provisioner unconfined --debug.dont_blame_oasis")
            })
            #expect(error?.key == ConfigKey.provisioner)
            let description = error?.description ?? ""
            #expect(description.contains("allow unprivileged user namespaces"))
            #expect(description.hasSuffix("or run unconfined with --runtime.provisioner unconfined --debug.dont_blame_oasis"))
            #expect(!description.contains("or run with"))
        }
    }

    @Test("the real preflight refuses a sandbox binary that is not executable, ending with the opt-in")
    func realPreflight() async throws {
        try await ConfigFixture.with { fixture in
            // A plain file passes oasis-core's stat and fails the preflight before anything runs.
            let binary = fixture.root + "/bwrap"
            try fixture.write("not a program", to: binary)
            try fixture.writeConfig(Self.hosted + "  sandbox: {binary: \(binary)}\n")
            let before = ConfigFixture.snapshot(fixture.dataDir)
            let config = try NodeConfig.load(configFile: fixture.configPath, flags: [:])
            let error = await #expect(throws: NodeConfigError.self) { try await config.validate() }
            #expect(ConfigFixture.snapshot(fixture.dataDir) == before)
            #expect(error?.key == ConfigKey.provisioner)
            #expect(error?.description == "config key runtime.provisioner: sandboxed runtimes cannot start on this host: "
                + "sandbox preflight failed: \(binary) is not an executable file (apt-get install bubblewrap); fix that, "
                + "or run unconfined with --runtime.provisioner unconfined --debug.dont_blame_oasis")
        }
    }

    @Test("the preflight runs only for hosted sandboxed runtimes")
    func preflightOnlyWhenSandboxed() async throws {
        try await ConfigFixture.with { fixture in
            try fixture.writeConfig(Self.hosted + "  provisioner: unconfined\ndebug: {dont_blame_oasis: true}\n")
            try await NodeConfig.load(configFile: fixture.configPath, flags: [:])
                .validate(preflight: { _ in Issue.record("the preflight ran") })
            try fixture.writeConfig("runtime:\n  supported: [\"\(Self.id)\"]\n")
            try await NodeConfig.load(configFile: fixture.configPath, flags: [:])
                .validate(preflight: { _ in Issue.record("the preflight ran") })
        }
    }

    @Test("a log format set in code is checked too")
    func logFormatInCode() async throws {
        try await ConfigFixture.with { fixture in
            let config = NodeConfig(dataDir: fixture.dataDir, logFormat: "xml")
            await #expect(throws: NodeConfigError(
                key: "log.format", message: "unknown log format 'xml'", hint: "use one of: logfmt, json")) {
                try await config.validate()
            }
        }
    }
}

/// The text of the error `body` throws.
private func configErrorText(_ body: () throws -> Void) -> String {
    do {
        try body()
        return ""
    } catch {
        return "\(error)"
    }
}
