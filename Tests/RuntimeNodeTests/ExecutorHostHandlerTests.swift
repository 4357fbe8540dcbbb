import Foundation
import RuntimeNode
import RuntimeRegistry
import ServiceLifecycle
import Testing

/// The node's answers to a hosted runtime's requests, without a runtime process.
@Suite("Node runtime host handler", .timeLimit(.minutes(3)))
struct ExecutorHostHandlerTests {
    /// A registry (no hosting) with one initialized compute runtime, for `body`.
    func withRuntime(_ body: (Runtime) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("handler-tests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let dataDir = root.path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let consensus = try LocalConsensus(
            genesis: ConsensusGenesis(chainContext: "handler-tests", runtimes: [executorDescriptor()]), directory: dataDir,
            logger: executorTestLogger)
        defer { consensus.close() }
        let registry = try await Registry.make(
            dataDir: dataDir,
            options: RuntimeOptions(supported: [executorRuntimeID.description], provisioner: "mock", debugDontBlameOasis: true),
            consensus: consensus, logger: executorTestLogger)
        try await registry.finishInitialization()
        try await body(try registry.runtime(executorRuntimeID))
        await registry.cleanup()
    }

    @Test("storage reads are answered with proofs from the runtime's storage")
    func storageSync() async throws {
        try await withRuntime { runtime in
            let writeLog: WriteLog = [WriteLogEntry(key: Array("k".utf8), value: Array("v".utf8))]
            let root = try MerkleTree().applying(writeLog).hash
            _ = try await runtime.storage().apply(ApplyRequest(
                namespace: executorRuntimeID, rootType: .state, srcRound: 0, srcRoot: .empty, dstRound: 1, dstRoot: root,
                writeLog: writeLog))
            let handler = NodeRuntimeHostHandler(runtime: runtime, logger: executorTestLogger)
            let tree = TreeID(root: StorageRoot(namespace: executorRuntimeID, version: 1, type: .state, hash: root), position: root)

            let get = SyncGetRequest(tree: tree, key: Array("k".utf8))
            guard case .hostStorageSyncResponse(let answer) = try await handler.handle(
                .hostStorageSyncRequest(HostStorageSyncRequest(endpoint: .runtime, operation: .get(get))))
            else {
                Issue.record("not a storage sync response")
                return
            }
            let proof = try VerifiedProof(answer.proofResponse.proof, trustedRoot: root)
            #expect(try proof.get(Array("k".utf8)) == Array("v".utf8))

            let iterate = SyncIterateRequest(tree: tree, key: [], prefetch: 10)
            guard case .hostStorageSyncResponse(let page) = try await handler.handle(
                .hostStorageSyncRequest(HostStorageSyncRequest(endpoint: .runtime, operation: .iterate(iterate))))
            else {
                Issue.record("not a storage sync response")
                return
            }
            #expect(try page.proofResponse.verify(iterate) == writeLog)
        }
    }

    @Test("local storage reads and writes go to the runtime's local storage")
    func localStorage() async throws {
        try await withRuntime { runtime in
            let handler = NodeRuntimeHostHandler(runtime: runtime, logger: executorTestLogger)
            let set = try await handler.handle(.hostLocalStorageSetRequest(HostLocalStorageSetRequest(
                key: Array("a".utf8), value: Array("b".utf8))))
            guard case .hostLocalStorageSetResponse = set else {
                Issue.record("not a local storage set response: \(set.kind)")
                return
            }
            #expect(try await runtime.localStorage?.get(Array("a".utf8)) == Array("b".utf8))
            let get = try await handler.handle(.hostLocalStorageGetRequest(HostLocalStorageGetRequest(key: Array("a".utf8))))
            guard case .hostLocalStorageGetResponse(let answer) = get else {
                Issue.record("not a local storage get response: \(get.kind)")
                return
            }
            #expect(answer.value == Array("b".utf8))
        }
    }

    @Test("anything else, the consensus storage endpoint included, is method not supported")
    func refusesTheRest() async throws {
        try await withRuntime { runtime in
            let handler = NodeRuntimeHostHandler(runtime: runtime, logger: executorTestLogger)
            await #expect(throws: MethodNotSupported()) { _ = try await handler.handle(.runtimePingRequest) }
            let consensusRead = HostStorageSyncRequest(
                endpoint: .consensus, operation: .get(SyncGetRequest(tree: TreeID(), key: [1])))
            await #expect(throws: MethodNotSupported()) {
                _ = try await handler.handle(.hostStorageSyncRequest(consensusRead))
            }
            await #expect(throws: MethodNotSupported()) {
                _ = try await handler.handle(.hostStorageSyncRequest(HostStorageSyncRequest(operation: nil)))
            }
        }
    }

    @Test("the factory hands out the node handler and a notifier that ends at graceful shutdown")
    func factory() async throws {
        try await withRuntime { runtime in
            let factory = NodeHostHandlerFactory(runtime: runtime, logger: executorTestLogger)
            #expect(factory.runtime() === runtime)
            #expect(factory.newRuntimeHostHandler() is NodeRuntimeHostHandler)
            let hosted = try await MockProvisioner().newRuntime(HostConfig(runtimeID: executorRuntimeID, path: "/bin/true"))
            let notifier = factory.newNotifier(for: hosted)
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [notifier], logger: executorTestLogger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }
}
