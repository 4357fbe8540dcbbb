import Foundation
import RuntimeRegistry
import Synchronization
import Testing

/// A consensus whose status or chain context cannot be read.
struct UnreachableConsensus: DelegatingConsensus {
    let base: any ConsensusBackend
    var failStatus = true

    struct Down: Error, CustomStringConvertible {
        var description: String { "connection refused" }
    }

    func waitSynced() async throws {}
    func status() async throws -> ConsensusStatus {
        if failStatus { throw Down() }
        return try await base.status()
    }
    func chainContext() async throws -> String { throw Down() }
}

struct FactoryFailure: Error, CustomStringConvertible {
    var description: String { "boom" }
}

/// spec/core.md §1.3 and §10 cases 29–36: every refusal, each before anything is written.
@Suite("Runtime configuration", .timeLimit(.minutes(3)))
struct RuntimeConfigTests {
    static let id = IDs.compute.description

    /// Options with hosting set up for the compute runtime.
    static func hosted(_ change: (inout RuntimeOptions) -> Void) -> RuntimeOptions {
        var options = RuntimeOptions(supported: [id], paths: [id: "/bin/true"])
        change(&options)
        return options
    }

    static let refusals: [(String, RuntimeOptions)] = [
        ("mock provisioner requires use of unsafe debug flags", hosted { $0.provisioner = "mock" }),
        ("unconfined provisioner requires use of unsafe debug flags", hosted { $0.provisioner = "unconfined" }),
        ("failed to stat sandbox binary: stat /nonexistent/bwrap: no such file or directory",
         hosted { $0.sandboxBinary = "/nonexistent/bwrap" }),
        ("unsupported runtime provisioner: docker", hosted { $0.provisioner = "docker" }),
        ("bad runtime identifier 'xyz': \(errorOf { _ = try Namespace(hex: "xyz") })",
         hosted {
            $0.provisioner = "mock"
            $0.debugDontBlameOasis = true
            $0.paths = ["xyz": "/bin/true"]
         }),
        ("no runtimes configured", hosted {
            $0.provisioner = "mock"
            $0.debugDontBlameOasis = true
            $0.paths = [:]
        }),
        ("runtime/registry: unknown history pruner strategy: keeplast",
         RuntimeOptions(supported: [id], historyPrunerStrategy: "keeplast")),
        ("runtime/registry: history prune interval must be >= 1s (got 500ms)",
         RuntimeOptions(supported: [id], historyPrunerInterval: .milliseconds(500))),
        ("runtime/registry: unknown tag indexer backend: lucene", RuntimeOptions(supported: [id], tagIndexerBackend: "lucene")),
        ("malformed runtime map item: 2000000000000000\(String(repeating: "0", count: 48))",
         RuntimeOptions(supported: ["2000000000000000" + String(repeating: "0", count: 48)])),
        ("runtime/registry: too many registered runtimes",
         RuntimeOptions(supported: (0...maxRuntimeCount).map { IDs.numbered($0).description })),
        ("runtime/registry: the memory limit must be 0 (no limit) or at least 16MiB (got 1MiB)",
         RuntimeOptions(supported: [id], memoryLimit: 1 << 20)),
    ]

    @Test("bad options are refused with oasis-core's message before the data directory is touched (29–35)",
          arguments: 0..<refusals.count)
    func refused(_ index: Int) async throws {
        let (message, options) = Self.refusals[index]
        try await Fixture.with { fixture in
            let text = await errorText { _ = try await fixture.registry(options) }
            #expect(text == message)
            #expect(fixture.dataDirEntries().isEmpty)
        }
    }

    @Test("runtime.limits.memory reaches every process provisioner, and 0 is no limit")
    func memoryLimit() async throws {
        try await Fixture.with { fixture in
            let seen = Mutex<[UInt64?]>([])
            let recording = ProvisionerFactory(
                mock: { MockProvisioner() },
                sandbox: { settings in
                    seen.withLock { $0.append(settings.memoryLimit) }
                    return MockProvisioner()
                },
                sgx: { settings, _ in
                    seen.withLock { $0.append(settings.memoryLimit) }
                    return MockProvisioner()
                })
            for (limit, expected) in [(UInt64(256 << 20), UInt64?(256 << 20)), (0, nil)] {
                seen.withLock { $0 = [] }
                _ = try await RuntimeConfig.make(
                    options: Self.hosted {
                        $0.sandboxBinary = "/bin/sh"
                        $0.sgxLoader = "/loader"
                        $0.memoryLimit = limit
                    },
                    consensus: fixture.consensus, provisioners: recording, logger: quietLogger)
                #expect(seen.withLock { $0 } == [expected, expected], "the runtime and the SGX provisioner")
            }
            let text = await errorText {
                _ = try await RuntimeConfig.make(
                    options: Self.hosted { $0.memoryLimit = RuntimeOptions.minimumMemoryLimit - 1 },
                    consensus: fixture.consensus, provisioners: recording, logger: quietLogger)
            }
            #expect(text == "runtime/registry: the memory limit must be 0 (no limit) or at least 16MiB (got 16777215B)")
        }
    }

    @Test("an unreachable consensus is reported when hosting is configured")
    func consensusDown() async throws {
        try await Fixture.with { fixture in
            let options = Self.hosted { $0.provisioner = "mock"; $0.debugDontBlameOasis = true }
            for (failStatus, message) in [
                (true, "failed to get consensus layer status: connection refused"),
                (false, "failed to get chain context: connection refused"),
            ] {
                let consensus = UnreachableConsensus(base: fixture.consensus, failStatus: failStatus)
                let text = await errorText {
                    _ = try await Registry.make(
                        dataDir: fixture.dataDir, options: options, consensus: consensus, logger: quietLogger)
                }
                #expect(text == message)
            }
            #expect(fixture.dataDirEntries().isEmpty)
        }
    }

    @Test("a provisioner that cannot be made is reported")
    func provisionerFails() async throws {
        try await Fixture.with { fixture in
            let failing = ProvisionerFactory(
                mock: { MockProvisioner() }, sandbox: { _ in throw FactoryFailure() },
                sgx: { _, _ in throw FactoryFailure() })
            let cases: [(RuntimeOptions, String)] = [
                (Self.hosted { $0.sandboxBinary = "/bin/sh" }, "failed to create runtime provisioner: boom"),
                (Self.hosted { $0.provisioner = "unconfined"; $0.debugDontBlameOasis = true; $0.sandboxBinary = "/none" },
                 "failed to create runtime provisioner: boom"),
            ]
            for (options, message) in cases {
                let text = await errorText {
                    _ = try await RuntimeConfig.make(
                        options: options, consensus: fixture.consensus, provisioners: failing, logger: quietLogger)
                }
                #expect(text == message)
            }
            let sgxOnly = ProvisionerFactory(
                mock: { MockProvisioner() }, sandbox: { _ in MockProvisioner() },
                sgx: { _, _ in throw FactoryFailure() })
            let text = await errorText {
                _ = try await RuntimeConfig.make(
                    options: Self.hosted { $0.sandboxBinary = "/bin/sh"; $0.sgxLoader = "/loader" },
                    consensus: fixture.consensus, provisioners: sgxOnly, logger: quietLogger)
            }
            #expect(text == "failed to create SGX runtime provisioner: boom")
        }
    }

    @Test("provisioners by TEE hardware: mock serves only non-TEE runtimes, process provisioners both (§1.3)")
    func provisionersByTEE() async throws {
        try await Fixture.with { fixture in
            let mock = try await RuntimeConfig.make(
                options: Self.hosted { $0.provisioner = "mock"; $0.debugDontBlameOasis = true },
                consensus: fixture.consensus, provisioners: .standard(logger: quietLogger), logger: quietLogger)
            #expect(Set(mock.host!.provisioners.keys) == [.invalid])
            let counting = ProvisionerFactory(
                mock: { MockProvisioner() }, sandbox: { _ in MockProvisioner() }, sgx: { _, _ in MockProvisioner() })
            let sandboxed = try await RuntimeConfig.make(
                options: Self.hosted { $0.sandboxBinary = "/bin/sh"; $0.sgxSignatures = [Self.id: "/sig"] },
                consensus: fixture.consensus, provisioners: counting, logger: quietLogger)
            #expect(Set(sandboxed.host!.provisioners.keys) == [.invalid, .intelSGX])
            let host = try #require(sandboxed.host?.runtimes[IDs.compute])
            #expect(host.path == "/bin/true")
            #expect(host.extra == .sgx(signaturePath: "/sig", unsafeDebugGenerateSigstruct: false))
            let unsigned = try await RuntimeConfig.make(
                options: Self.hosted { $0.sandboxBinary = "/bin/sh" }, consensus: fixture.consensus,
                provisioners: counting, logger: quietLogger)
            #expect(unsigned.host?.runtimes[IDs.compute]?.extra == .sgx(signaturePath: nil, unsafeDebugGenerateSigstruct: true))
        }
    }

    @Test("accepted values: KEEP_LAST, 1s, BLEVE and the empty backend (33–35); no paths means no hosting")
    func accepted() async throws {
        try await Fixture.with { fixture in
            let config = try await RuntimeConfig.make(
                options: RuntimeOptions(
                    historyPrunerStrategy: "KEEP_LAST", historyPrunerInterval: .seconds(1), historyPrunerNumKept: 7,
                    tagIndexerBackend: "BLEVE"),
                consensus: fixture.consensus, provisioners: .standard(logger: quietLogger), logger: quietLogger)
            #expect(config.history.pruner == .keepLast(7))
            #expect(config.history.pruneInterval == .seconds(1))
            #expect(config.tagIndexer == .sqlite)
            #expect(config.host == nil)
            let defaults = try await RuntimeConfig.make(
                options: RuntimeOptions(), consensus: fixture.consensus, provisioners: .standard(logger: quietLogger), logger: quietLogger)
            #expect(defaults.tagIndexer == .disabled)
            #expect(defaults.history.pruner == .none)
            #expect(defaults.history.pruneInterval == .seconds(120))
        }
    }
}

func errorOf(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch {
        return "\(error)"
    }
}

@Suite("Runtime options")
struct RuntimeOptionsTests {
    @Test("the defaults are the seed's flag defaults (§1.2)")
    func defaults() {
        let options = RuntimeOptions()
        #expect(options.supported.isEmpty)
        #expect(options.provisioner == "sandboxed")
        #expect(options.paths == nil)
        #expect(options.sandboxBinary == "/usr/bin/bwrap")
        #expect(options.sgxLoader.isEmpty && options.sgxSignatures.isEmpty)
        #expect(options.historyPrunerStrategy == "none")
        #expect(options.historyPrunerInterval == .seconds(120))
        #expect(options.historyPrunerNumKept == 600)
        #expect(options.tagIndexerBackend.isEmpty)
        #expect(!options.debugDontBlameOasis)
    }
}
