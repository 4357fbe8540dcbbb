import Foundation
import RuntimeNode
import RuntimeRegistry
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension NodeProcessSuites {
/// `runtime-node run` with a bad configuration: exit 2, one sentence on stderr naming the key,
/// and the data directory exactly as it was.
@Suite("runtime-node refuses bad configuration", .timeLimit(.minutes(3)))
struct NodeBadConfigTests {
    static let id = "\(Localnet.kvRuntimeID)"

    /// A data dir with a genesis in it, a config file next to it with `yaml` appended, run
    /// with `flags`; checks exit 2, the sentence and the untouched data dir.
    func refuse(_ yaml: String, flags: [String] = [], mentions: String, prepare: (String) throws -> Void = { _ in })
        async throws
    {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let dataDir = scratch.path + "/data"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        try Localnet.genesisText(Localnet.genesis()).write(toFile: dataDir + "/genesis.yaml", atomically: true, encoding: .utf8)
        try prepare(dataDir)
        let configPath = scratch.path + "/config.yaml"
        try ("datadir: \(dataDir)\nmetrics:\n  address: \"\"\n" + yaml).write(toFile: configPath, atomically: true, encoding: .utf8)
        let before = scratch.listing(dataDir)
        let result = try await runCLI(["run", "--config", configPath] + flags, in: scratch)
        #expect(result.status == .exited(2), "stderr: \(result.err)")
        let lines = result.err.split(separator: "\n")
        #expect(lines.count == 1, "want one sentence, got: \(result.err)")
        #expect(result.err.contains(mentions), "stderr: \(result.err)")
        #expect(scratch.listing(dataDir) == before)
    }

    @Test("mock provisioner without debug.dont_blame_oasis")
    func mockNeedsDebug() async throws {
        try await refuse(
            "runtime:\n  supported: [\"\(Self.id)\"]\n  provisioner: mock\n  paths:\n    \"\(Self.id)\": /bin/true\n",
            mentions: "mock provisioner requires use of unsafe debug flags")
    }

    @Test("unconfined provisioner without debug.dont_blame_oasis")
    func unconfinedNeedsDebug() async throws {
        try await refuse(
            "runtime:\n  supported: [\"\(Self.id)\"]\n  provisioner: unconfined\n  paths:\n    \"\(Self.id)\": /bin/true\n",
            mentions: "unconfined provisioner requires use of unsafe debug flags")
    }

    @Test("a sandbox binary that does not exist")
    func missingSandbox() async throws {
        try await refuse(
            "runtime:\n  supported: [\"\(Self.id)\"]\n  paths:\n    \"\(Self.id)\": /bin/true\n  sandbox:\n    binary: /nonexistent/bwrap\n",
            mentions: "failed to stat sandbox binary")
    }

    @Test("an unknown provisioner, given as a flag over the file")
    func unknownProvisioner() async throws {
        try await refuse(
            "runtime:\n  supported: [\"\(Self.id)\"]\n  paths:\n    \"\(Self.id)\": /bin/true\n",
            flags: ["--runtime.provisioner", "docker", "--debug.dont_blame_oasis"],
            mentions: "unsupported runtime provisioner: docker")
    }

    @Test("--debug.dont_blame_oasis=false overrides a true in the file")
    func debugFlagFalseOverridesFile() async throws {
        try await refuse(
            "runtime:\n  supported: [\"\(Self.id)\"]\n  provisioner: mock\n  paths:\n    \"\(Self.id)\": /bin/true\n"
                + "debug:\n  dont_blame_oasis: true\n",
            flags: ["--debug.dont_blame_oasis=false"],
            mentions: "mock provisioner requires use of unsafe debug flags")
        try await refuse(
            "runtime:\n  provisioner: mock\n",
            flags: ["--debug.dont_blame_oasis=maybe"], mentions: "expected true or false")
    }

    @Test("an unknown provisioner without runtime.paths")
    func unknownProvisionerWithoutPaths() async throws {
        try await refuse("", flags: ["--runtime.provisioner", "bogus"], mentions: "unsupported runtime provisioner: bogus")
    }

    @Test("a bad runtime identifier in runtime.paths")
    func badPathID() async throws {
        try await refuse(
            "runtime:\n  provisioner: mock\n  paths:\n    \"xyz\": /bin/true\ndebug:\n  dont_blame_oasis: true\n",
            mentions: "bad runtime identifier 'xyz'")
    }

    @Test("pruner strategy, interval and tag indexer backend")
    func historyOptions() async throws {
        try await refuse("runtime:\n  history:\n    pruner:\n      strategy: keeplast\n",
                         mentions: "runtime/registry: unknown history pruner strategy: keeplast")
        try await refuse("runtime:\n  history:\n    pruner:\n      interval: 500ms\n",
                         mentions: "runtime/registry: history prune interval must be >= 1s (got 500ms)")
        try await refuse("runtime:\n  history:\n    tag_indexer:\n      backend: lucene\n",
                         mentions: "runtime/registry: unknown tag indexer backend: lucene")
    }

    @Test("a malformed supported item and 65 runtimes")
    func supportedList() async throws {
        try await refuse("runtime:\n  supported: [\"abc:foo\"]\n", mentions: "malformed runtime map item: abc:foo")
        let many = (0..<65).map { String(format: "%064x", $0 + 1) }
        try await refuse("runtime:\n  supported: [" + many.map { "\"\($0)\"" }.joined(separator: ", ") + "]\n",
                         mentions: "too many registered runtimes")
    }

    @Test("malformed YAML, an unknown key, a wrong type")
    func malformedFile() async throws {
        try await refuse("runtime: [unclosed\n", mentions: "config")
        try await refuse("runtime:\n  histroy: {}\n", mentions: "runtime.histroy")
        try await refuse("runtime:\n  history:\n    pruner:\n      num_kept: many\n", mentions: "runtime.history.pruner.num_kept")
    }

    @Test("a data directory that cannot be created")
    func unwritableDataDir() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        _ = FileManager.default.createFile(atPath: scratch.path + "/file", contents: Data("x".utf8))
        let before = scratch.listing()
        let result = try await runCLI(["run", "--datadir", scratch.path + "/file/data", "--metrics.address", ""], in: scratch)
        #expect(result.status == .exited(2), "stderr: \(result.err)")
        #expect(result.err.contains("datadir"), "stderr: \(result.err)")
        #expect(scratch.listing().filter { !$0.contains("cli-") } == before.filter { !$0.contains("cli-") })
    }

    @Test("a runtime state directory with mode 0755")
    func stateDirPermissions() async throws {
        try await refuse(
            "runtime:\n  supported: [\"\(Self.id)\"]\n", mentions: "has invalid permissions",
            prepare: { dataDir in
                let dir = dataDir + "/runtimes/" + Self.id
                try FileManager.default.createDirectory(
                    atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                chmod(dir, 0o755)
            })
    }
}
}
