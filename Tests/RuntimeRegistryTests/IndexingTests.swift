import Foundation
import RuntimeRegistry
import Testing

/// The whole path of a round: its I/O tree in the runtime's storage, the block finalized by
/// consensus, committed to the history by tracking, indexed by the tag indexer from storage.
@Suite("Indexing through the registry", .timeLimit(.minutes(3)))
struct IndexingTests {
    @Test("a finalized round's tags are indexed from the runtime's storage after finishInitialization")
    func roundIsIndexed() async throws {
        try await Fixture.with(epochInterval: 1000) { fixture in
            var options = fixture.options()
            options.tagIndexerBackend = "sqlite"
            let registry = try await fixture.registry(options)
            try await registry.finishInitialization()
            let runtime = try registry.runtime(IDs.compute)
            let indexer = try #require(runtime.tagIndexer)
            var events = indexer.events().makeAsyncIterator()
            try await whileRunning(registry.services) {
                let tx = TransactionArtifacts(input: Array("insert k v".utf8), output: Array("ok".utf8), batchOrder: 0)
                let tag = TransactionTag(key: Array("kv_op".utf8), value: Array("insert".utf8), txHash: tx.hash)
                let writeLog = try IOTreeLayout.writeLog(transactions: [tx], tags: [tag])
                let ioRoot = try MerkleTree().applying(writeLog).hash
                _ = try await runtime.storage().apply(ApplyRequest(
                    namespace: IDs.compute, rootType: .io, srcRound: 1, srcRoot: .empty, dstRound: 1, dstRoot: ioRoot,
                    writeLog: writeLog))
                let block = try await fixture.consensus.finalizeRound(
                    runtimeID: IDs.compute, ioRoot: ioRoot, stateRoot: .empty)
                #expect(block.block?.header.round == 1)
                while let event = await events.next() {
                    if event == .indexed(round: 1) { break }
                    if case .skipped = event { Issue.record("round skipped: \(event)") }
                }
                let location = try await indexer.queries.queryTxn(key: tag.key, value: tag.value)
                #expect(location == TransactionLocation(round: 1, txHash: tx.hash, txIndex: 0))
                // Cleanup while the services run: the indexer quits first, then its index closes.
                await registry.cleanup()
                await #expect(throws: (any Error).self) { _ = try await indexer.queries.queryTxn(key: tag.key, value: tag.value) }
                await #expect(throws: HistoryError.closed) { _ = try await runtime.history?.latestBlock() }
            }
        }
    }
}
