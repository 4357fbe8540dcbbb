import ConsensusAPI
import OasisCommon
import RuntimeStorage
import Synchronization
import Testing

/// A backend that only records which methods reached it.
final class RecordingBackend: StorageBackend {
    let calls = Mutex<[String]>([])
    let isInitialized = Mutex(false)

    private func record(_ name: String) { calls.withLock { $0.append(name) } }

    func syncGet(_ request: SyncGetRequest) async throws -> ProofResponse { record("syncGet"); return ProofResponse() }
    func syncGetPrefixes(_ request: SyncGetPrefixesRequest) async throws -> ProofResponse { record("syncGetPrefixes"); return ProofResponse() }
    func syncIterate(_ request: SyncIterateRequest) async throws -> ProofResponse { record("syncIterate"); return ProofResponse() }
    func getCheckpoints(_ request: GetCheckpointsRequest) async throws -> [CheckpointMetadata] { record("getCheckpoints"); return [] }
    func getCheckpointChunk(_ chunk: ChunkMetadata, to write: @Sendable ([UInt8]) async throws -> Void) async throws {
        record("getCheckpointChunk")
    }
    func apply(_ request: ApplyRequest) async throws -> [Receipt] { record("apply"); return [] }
    func applyBatch(_ request: ApplyBatchRequest) async throws -> [Receipt] { record("applyBatch"); return [] }
    func getDiff(_ request: GetDiffRequest) async throws -> WriteLog { record("getDiff"); return [] }
    func cleanup() async { record("cleanup") }
    func initialized() async throws {
        record("initialized")
        isInitialized.withLock { $0 = true }
    }
}

@Suite("Storage router")
struct StorageRouterTests {
    static let unknown = Namespace.test(seed: "storage test runtime never registered")

    @Test("apply for an unknown runtime fails with the registry's not-supported error")
    func unknownRuntimeApply() async throws {
        let router = StorageRouter(backends: [runtimeA: RecordingBackend()])
        let request = ApplyRequest(namespace: Self.unknown, rootType: .state, srcRound: 0, srcRoot: .empty,
                                   dstRound: 1, dstRoot: .empty, writeLog: [])
        let error = await #expect(throws: RuntimeNotSupportedError.self) { try await router.apply(request) }
        #expect(error?.description == "runtime/registry: runtime \(Self.unknown) is not supported")
        #expect("\(Self.unknown)".count == 64)
    }

    @Test("every method goes to the backend of the runtime its namespace field names")
    func routesByNamespaceField() async throws {
        let a = RecordingBackend()
        let b = RecordingBackend()
        let router = StorageRouter(backends: [runtimeA: a, runtimeB: b])
        // Every request names runtime B in the field §1.11 lists, and runtime A anywhere else
        // it can, so a router reading the wrong field would reach A or fail.
        let rootB = StorageRoot(namespace: runtimeB, version: 3, type: .state, hash: .empty)
        let rootA = StorageRoot(namespace: runtimeA, version: 3, type: .state, hash: .empty)
        _ = try await router.syncGet(SyncGetRequest(tree: TreeID(root: rootB), key: []))
        _ = try await router.syncGetPrefixes(SyncGetPrefixesRequest(tree: TreeID(root: rootB)))
        _ = try await router.syncIterate(SyncIterateRequest(tree: TreeID(root: rootB)))
        _ = try await router.getCheckpoints(GetCheckpointsRequest(namespace: runtimeB))
        try await router.getCheckpointChunk(ChunkMetadata(root: rootB, index: 0, digest: .empty)) { _ in }
        _ = try await router.apply(ApplyRequest(namespace: runtimeB, rootType: .state, srcRound: 0, srcRoot: .empty,
                                                dstRound: 1, dstRoot: .empty, writeLog: []))
        _ = try await router.applyBatch(ApplyBatchRequest(namespace: runtimeB, dstRound: 1, ops: []))
        _ = try await router.getDiff(GetDiffRequest(startRoot: rootB, endRoot: rootA))
        #expect(b.calls.withLock { $0 } == [
            "syncGet", "syncGetPrefixes", "syncIterate", "getCheckpoints", "getCheckpointChunk", "apply", "applyBatch", "getDiff",
        ])
        #expect(a.calls.withLock { $0 } == [])

        // The same requests for an unknown runtime all fail with the registry's error.
        let rootX = StorageRoot(namespace: Self.unknown, version: 3, type: .state, hash: .empty)
        await #expect(throws: RuntimeNotSupportedError(runtime: Self.unknown)) {
            _ = try await router.syncGet(SyncGetRequest(tree: TreeID(root: rootX), key: []))
        }
        await #expect(throws: RuntimeNotSupportedError(runtime: Self.unknown)) {
            _ = try await router.getDiff(GetDiffRequest(startRoot: rootX, endRoot: rootB))
        }
        await #expect(throws: RuntimeNotSupportedError(runtime: Self.unknown)) {
            try await router.getCheckpointChunk(ChunkMetadata(root: rootX, index: 0, digest: .empty)) { _ in }
        }
    }

    @Test("cleanup does nothing and initialized waits for every runtime's backend")
    func lifecycle() async throws {
        let a = RecordingBackend()
        let b = RecordingBackend()
        let router = StorageRouter(backends: [runtimeA: a, runtimeB: b])
        await router.cleanup()
        try await router.initialized()
        #expect(a.calls.withLock { $0 } == ["initialized"])
        #expect(b.calls.withLock { $0 } == ["initialized"])
        // With no runtimes it returns at once.
        try await StorageRouter(backends: [:]).initialized()
    }
}
