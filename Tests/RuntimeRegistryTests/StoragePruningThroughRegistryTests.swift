import Foundation
import Logging
import MetricsTestKit
import Synchronization
import Testing

@testable import RuntimeRegistry

/// The storage of a runtime whose history is pruned: the history pruner drops the storage
/// versions of the rounds it prunes, so a node bounding its history bounds its storage too.
@Suite("Storage pruning through the registry", .timeLimit(.minutes(3)))
struct StoragePruningThroughRegistryTests {
    @Test("a history prune pass drops the storage versions of its rounds and keeps the later ones")
    func historyPruneDropsStorageVersions() async throws {
        try await Fixture.with(epochInterval: 1000) { fixture in
            var options = fixture.options()
            options.historyPrunerStrategy = "keep_last"
            options.historyPrunerNumKept = 2
            let registry = try await fixture.registry(options)
            try await registry.finishInitialization()
            try await registry.finishInitialization()  // idempotent: one storage handler
            let runtime = try registry.runtime(IDs.compute)
            let history = try #require(runtime.history)
            #expect(history.pruner.handlerCount == 2)  // the tag indexer's, then storage's
            let storage = try runtime.storage()
            var blocks = history.watchBlocks().makeAsyncIterator()
            var stateRoots: [Hash] = [.empty]
            try await whileRunning(registry.services) {
                for round in 1...6 {
                    let log = [WriteLogEntry(key: Array("round".utf8), value: Array("\(round)".utf8))]
                    let root = try MerkleTree().applying(log).hash
                    _ = try await storage.apply(ApplyRequest(
                        namespace: IDs.compute, rootType: .state, srcRound: UInt64(round - 1), srcRoot: stateRoots.last!,
                        dstRound: UInt64(round), dstRoot: root, writeLog: log))
                    stateRoots.append(root)
                    _ = try await fixture.consensus.finalizeRound(runtimeID: IDs.compute, ioRoot: .empty, stateRoot: root)
                }
                while let block = await blocks.next(), (block.block?.header.round ?? 0) < 6 {}

                let report = await history.pruner.prunePass()

                #expect(report.outcome == .pruned)
                let last = try #require(report.rounds.last)
                #expect(last == 4)
                for round in 1...6 {
                    let root = StorageRoot(namespace: IDs.compute, version: UInt64(round), type: .state, hash: stateRoots[round])
                    if round <= Int(last) {
                        await #expect(throws: StorageBackendError.rootNotFound(root), "round \(round)") {
                            _ = try await storage.entries(at: root)
                        }
                    } else {
                        #expect(try await storage.entries(at: root).map(\.value) == [Array("\(round)".utf8)])
                    }
                }
                await registry.cleanup()
            }
        }
    }

    @Test("every block the history keeps can still read its state when epoch transitions put batches a round later")
    func epochShiftedBatchesKeepTheirState() async throws {
        // An epoch every two consensus heights: some batches, stored under the round after the
        // latest block as the executor does, are finalized one round later behind an epoch
        // transition that carries the previous state root.
        try await Fixture.with(epochInterval: 2) { fixture in
            var options = fixture.options()
            options.historyPrunerStrategy = "keep_last"
            options.historyPrunerNumKept = 2
            let registry = try await fixture.registry(options)
            try await registry.finishInitialization()
            let runtime = try registry.runtime(IDs.compute)
            let history = try #require(runtime.history)
            let storage = try runtime.storage()
            var blocks = history.watchBlocks().makeAsyncIterator()
            try await whileRunning(registry.services) {
                var shifted = 0
                for batch in 1...12 {
                    let parent = try await history.latestBlock()
                    let log = [WriteLogEntry(key: Array("batch".utf8), value: Array("\(batch)".utf8))]
                    let root = try MerkleTree().applying(log).hash
                    let expected = parent.header.round + 1
                    _ = try await storage.apply(ApplyRequest(
                        namespace: IDs.compute, rootType: .state, srcRound: parent.header.round,
                        srcRoot: parent.header.stateRoot, dstRound: expected, dstRoot: root, writeLog: log))
                    let finalized = try await fixture.consensus.finalizeRound(
                        runtimeID: IDs.compute, ioRoot: .empty, stateRoot: root)
                    let round = try #require(finalized.block?.header.round)
                    if round != expected { shifted += 1 }
                    while let block = await blocks.next(), (block.block?.header.round ?? 0) < round {}

                    let report = await history.pruner.prunePass()
                    #expect(report.outcome == .pruned || report.rounds.isEmpty, "batch \(batch): \(report.outcome)")
                    // Every kept block's state is there.
                    for kept in try await history.annotatedBlocks(after: nil, limit: 10).compactMap(\.block) {
                        let state = StorageRoot(
                            namespace: IDs.compute, version: kept.header.round, type: .state, hash: kept.header.stateRoot)
                        do {
                            _ = try await storage.entries(at: state)
                        } catch {
                            Issue.record("batch \(batch): block \(kept.header.round) cannot read its state: \(error)")
                        }
                    }
                }
                #expect(shifted > 0, "no batch landed behind an epoch transition; the test shows nothing")
                await registry.cleanup()
            }
        }
    }

    @Test("the storage prune handler counts the roots and nodes it removes, per runtime")
    func pruneMetrics() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prune-metrics-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = try SQLiteStorageBackend(directory: directory, runtime: IDs.compute, logger: quietLogger)
        var root = Hash.empty
        for round in 1...3 {
            let log = [WriteLogEntry(key: Array("round".utf8), value: Array("\(round)".utf8))]
            let next = try MerkleTree().applying(log).hash
            _ = try await storage.apply(ApplyRequest(
                namespace: IDs.compute, rootType: .state, srcRound: UInt64(round - 1), srcRoot: root,
                dstRound: UInt64(round), dstRoot: next, writeLog: log))
            root = next
        }
        let metrics = TestMetrics()
        let handler = PruneStorage(storage: storage, runtime: IDs.compute, logger: quietLogger, metricsFactory: metrics)

        try await handler.prune(rounds: [1, 2])

        let dimensions = [("runtime", "\(IDs.compute)")]
        #expect(try metrics.expectCounter("oasis_runtime_storage_pruned_roots", dimensions).totalValue == 2)
        // Each of rounds 1 and 2 was a tree of one leaf, which only its root reached.
        #expect(try metrics.expectCounter("oasis_runtime_storage_pruned_nodes", dimensions).totalValue == 2)
        await storage.cleanup()
    }

    @Test("the tag indexer's transaction source reads a storage in this process directly, and any other through proofs")
    func transactionSourcePrefersDirectReads() async throws {
        let tx = TransactionArtifacts(input: Array("in".utf8), output: Array("out".utf8), batchOrder: 0)
        let tag = TransactionTag(key: Array("kv_op".utf8), value: Array("insert".utf8), txHash: tx.hash)
        let writeLog = try IOTreeLayout.writeLog(transactions: [tx], tags: [tag])
        let tree = try MerkleTree().applying(writeLog)
        let header = BlockHeader(namespace: IDs.compute, round: 4, ioRoot: tree.hash, stateRoot: .empty)
        let direct = DirectReadStorage(tree: tree)
        let proofOnly = ProofReadStorage(tree: tree)
        for (storage, expected) in [(direct as any RecordingStorage, "direct"), (proofOnly, "iterate")] {
            let slot = StorageSlot()
            try slot.set(storage)
            let round = try await StorageTransactionSource(slot: slot).transactions(for: header)
            #expect(round.transactions.map(\.input) == [tx.input])
            #expect(round.tags == [tag])
            #expect(storage.calls.withLock { $0 } == [expected])
        }
    }
}

/// A storage holding one tree that records which read path was taken; the methods the
/// transaction source never calls throw.
protocol RecordingStorage: StorageBackend {
    var tree: MerkleTree { get }
    var calls: Mutex<[String]> { get }
}

extension RecordingStorage {
    func syncIterate(_ request: SyncIterateRequest) async throws -> ProofResponse {
        calls.withLock { $0.append("iterate") }
        return ProofResponse(proof: try tree.proveIterate(from: request.key, prefetch: request.prefetch))
    }

    func syncGet(_ request: SyncGetRequest) async throws -> ProofResponse { throw StorageErrors.unsupported }
    func syncGetPrefixes(_ request: SyncGetPrefixesRequest) async throws -> ProofResponse { throw StorageErrors.unsupported }
    func getCheckpoints(_ request: GetCheckpointsRequest) async throws -> [CheckpointMetadata] { [] }
    func getCheckpointChunk(_ chunk: ChunkMetadata, to write: @Sendable ([UInt8]) async throws -> Void) async throws {}
    func apply(_ request: ApplyRequest) async throws -> [Receipt] { throw StorageErrors.unsupported }
    func applyBatch(_ request: ApplyBatchRequest) async throws -> [Receipt] { throw StorageErrors.unsupported }
    func getDiff(_ request: GetDiffRequest) async throws -> WriteLog { [] }
    func cleanup() async {}
    func initialized() async throws {}
}

/// Reads only through proofs, as a remote storage would.
final class ProofReadStorage: RecordingStorage {
    let tree: MerkleTree
    let calls = Mutex<[String]>([])

    init(tree: MerkleTree) {
        self.tree = tree
    }
}

/// A storage in this process: also reads directly.
final class DirectReadStorage: RecordingStorage, DirectlyReadableStorage {
    let tree: MerkleTree
    let calls = Mutex<[String]>([])

    init(tree: MerkleTree) {
        self.tree = tree
    }

    func directEntries(at root: StorageRoot) async throws -> [WriteLogEntry] {
        calls.withLock { $0.append("direct") }
        return try tree.iterate()
    }
}
