import Foundation
import RuntimeRegistry
import ServiceLifecycle
import Testing

/// spec/core.md §1.5–1.11 and §10 cases 36–40: the registry and its runtimes' parts.
@Suite("Registry", .timeLimit(.minutes(3)))
struct RegistryTests {
    @Test("a registry builds each supported runtime's state directory and stores")
    func build() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options([IDs.compute, IDs.other]))
            #expect(registry.runtimes().map(\.id) == [IDs.compute, IDs.other])
            let runtime = try registry.runtime(IDs.compute)
            let dir = runtimeStateDir(dataDir: fixture.dataDir, runtimeID: IDs.compute)
            #expect(runtime.stateDirectory == dir)
            let files = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
            #expect(files.isSuperset(of: ["history.sqlite", "local-storage.sqlite"]))
            // Tracking committed the runtime's genesis block to its history.
            #expect(try await runtime.history?.latestBlock().header.round == 0)
            // Three services per runtime: descriptor watcher, pruner, indexer.
            #expect(registry.services.count == 6)
            await registry.cleanup()
            await registry.cleanup()  // idempotent
        }
    }

    @Test("a 65th runtime and a repeated ID are refused (36)")
    func limits() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options([IDs.numbered(0)]))
            let text = await errorText { try await registry.addSupportedRuntime(IDs.numbered(0)) }
            #expect(text == "runtime/registry: runtime already registered: \(IDs.numbered(0))")
            for n in 1..<maxRuntimeCount { try await registry.addSupportedRuntime(IDs.numbered(n)) }
            #expect(registry.runtimes().count == maxRuntimeCount)
            await #expect(throws: RegistryError.tooManyRuntimes) {
                try await registry.addSupportedRuntime(IDs.numbered(maxRuntimeCount))
            }
            // The count is checked first, as in v21.1.
            await #expect(throws: RegistryError.tooManyRuntimes) { try await registry.addSupportedRuntime(IDs.numbered(0)) }
            await registry.cleanup()
        }
    }

    @Test("an unsupported runtime is refused by the registry and by the storage router (37)")
    func unsupported() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options())
            let message = "runtime/registry: runtime \(IDs.unknown) is not supported"
            #expect(await errorText { _ = try registry.runtime(IDs.unknown) } == message)
            let request = ApplyRequest(namespace: IDs.unknown, rootType: .state, srcRound: 0, srcRoot: .empty, dstRound: 1, dstRoot: .empty, writeLog: [])
            #expect(await errorText { _ = try await registry.storageRouter().apply(request) } == message)
            await registry.cleanup()
        }
    }

    @Test("storage: an error before initialization, one registration only, then routed (40)")
    func storage() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options([IDs.compute, IDs.other]))
            let runtime = try registry.runtime(IDs.compute)
            #expect(throws: RegistryError.storageNotInitialized) { _ = try runtime.storage() }
            let router = registry.storageRouter()
            #expect(await errorText { try await router.initialized() } == "runtime storage accessed before initialization")
            try await registry.finishInitialization()
            try await registry.finishInitialization()  // idempotent
            let storage = try runtime.storage()
            #expect(throws: RegistryError.storageAlreadyAssigned) { try runtime.registerStorage(storage) }
            try await router.initialized()
            // Requests reach the runtime's own backend: an empty apply to the empty root.
            _ = try await router.apply(ApplyRequest(
                namespace: IDs.compute, rootType: .state, srcRound: 0, srcRoot: .empty, dstRound: 1, dstRoot: .empty,
                writeLog: []))
            await registry.cleanup()
        }
    }

    @Test("a registered storage backend is kept by finishInitialization")
    func registeredStorageKept() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options())
            let runtime = try registry.runtime(IDs.compute)
            let dir = fixture.dataDir + "/own-storage"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let own = try SQLiteStorageBackend(directory: dir, runtime: IDs.compute, logger: quietLogger)
            try runtime.registerStorage(own)
            try await registry.finishInitialization()
            #expect((try runtime.storage() as? SQLiteStorageBackend) === own)
            await registry.cleanup()
        }
    }

    @Test("when a step fails, what was built for the runtime is closed and the runtime is not added")
    func failedStepCleansUp() async throws {
        try await Fixture.with { fixture in
            // Local storage cannot open: its file name is taken by a directory.
            let dir = try ensureRuntimeStateDir(dataDir: fixture.dataDir, runtimeID: IDs.compute)
            try FileManager.default.createDirectory(atPath: dir + "/local-storage.sqlite", withIntermediateDirectories: false)
            let text = await errorText { _ = try await fixture.registry(fixture.options()) }
            #expect(text?.hasPrefix(
                "failed to add runtime \(IDs.compute): runtime/registry: cannot create local storage for runtime \(IDs.compute): ") == true)
            // The history was closed again: its WAL and shared-memory files are gone.
            let files = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
            #expect(!files.contains("history.sqlite-wal"))

            let registry = Registry(
                dataDir: fixture.dataDir, config: RuntimeConfig(), consensus: fixture.consensus, logger: quietLogger)
            await #expect(throws: RegistryError.self) { try await registry.addSupportedRuntime(IDs.compute) }
            #expect(registry.runtimes().isEmpty)
            #expect(registry.services.isEmpty)
            // Fixed, the same ID can be added.
            try FileManager.default.removeItem(atPath: dir + "/local-storage.sqlite")
            try await registry.addSupportedRuntime(IDs.compute)
            #expect(registry.runtimes().count == 1)
            await registry.cleanup()
        }
    }

    @Test("an unmanaged runtime has no state and is not listed")
    func unmanaged() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options([], paths: [IDs.other]))
            let runtime = registry.newUnmanagedRuntime(IDs.other)
            #expect(runtime.history == nil && runtime.localStorage == nil && runtime.tagIndexer == nil)
            #expect(runtime.hasHost)
            #expect(registry.runtimes().isEmpty)
            #expect(await errorText { _ = try registry.runtime(IDs.other) } != nil)
            #expect(fixture.dataDirEntries().isEmpty)
        }
    }

    @Test("the registry's services run in a ServiceGroup and stop on graceful shutdown; blocks reach the history")
    func servicesInGroup() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options())
            try await registry.finishInitialization()
            let runtime = try registry.runtime(IDs.compute)
            let group = ServiceGroup(
                services: registry.services, gracefulShutdownSignals: [], logger: quietLogger)
            var blocks = try #require(runtime.history).watchBlocks().makeAsyncIterator()
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                #expect(try await runtime.registryDescriptor() == computeDescriptor())
                #expect(try await runtime.activeDescriptor() == computeDescriptor())
                _ = await blocks.next()  // the genesis block
                let finalized = try await fixture.consensus.finalizeRound(
                    runtimeID: IDs.compute, ioRoot: .empty, stateRoot: .empty)
                // An epoch-transition block may come first; the round's block follows.
                var seen = await blocks.next()
                if seen?.block?.header.headerType == .epochTransition { seen = await blocks.next() }
                #expect(seen == finalized)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            await registry.cleanup()
        }
    }
}
