import ConsensusAPI
import Foundation
import GRDB
import OasisCBOR
import OasisCommon
import RuntimeHistory
import RuntimeStorage
import RuntimeTagIndexer
import Testing

/// Files whose values are not what the code writes (a flipped bit in a record header turns an
/// integer into text or a negative number without SQLite noticing): every access must fail
/// with a clear error, or leave the value out, never trap.
@Suite("Damaged files", .timeLimit(.minutes(3)))
struct DamagedFileTests {
    let id = Namespace.test(seed: "damaged files ns")

    /// Runs `sql` on `path` with a connection of its own, foreign keys off.
    func damage(_ path: String, _ sql: String, arguments: StatementArguments = []) async throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        let db = try DatabaseQueue(path: path, configuration: configuration)
        try await db.write { try $0.execute(sql: sql, arguments: arguments) }
        try db.close()
    }

    @Test("a history whose last round is negative or not a number reports the damage", arguments: ["-1", "'two'"])
    func damagedLastRound(_ value: String) async throws {
        try await withTemporaryDirectory { dir in
            var history = try openHistory(dir, id)
            for round in UInt64(1)...3 {
                try await history.commit(annotated(id, round: round, height: Int64(round)), roundResults: nil)
            }
            history.close()
            try await damage(dir + "/history.sqlite", "UPDATE history_state SET last_round = \(value)")

            history = try openHistory(
                dir, id, configuration: HistoryConfiguration(pruner: .keepLast(1)))
            defer { history.close() }
            let prefix = "runtime/history: stored round 0 cannot be decoded: the history_state row is damaged: "
                + "its column last_round holds "
            await expectError(prefix: prefix) { _ = try await history.metadata() }
            await expectError(prefix: prefix) { _ = try await history.lastConsensusHeight() }
            await expectError(prefix: prefix) {
                try await history.commit(annotated(id, round: 4, height: 4), roundResults: nil)
            }
            let report = await history.pruner.prunePass()
            guard case .failed(let reason) = report.outcome else {
                Issue.record("expected a failed pass, got \(report.outcome)")
                return
            }
            #expect(reason.hasPrefix(prefix))
        }
    }

    @Test("a stored negative round is not offered to the pruner, and the other rounds are pruned")
    func negativeRoundRow() async throws {
        try await withTemporaryDirectory { dir in
            var history = try openHistory(dir, id)
            for round in UInt64(1)...4 {
                try await history.commit(annotated(id, round: round, height: Int64(round)), roundResults: nil)
            }
            history.close()
            try await damage(dir + "/history.sqlite", "UPDATE rounds SET round = -5 WHERE round = 1")

            history = try openHistory(dir, id, configuration: HistoryConfiguration(pruner: .keepLast(1)))
            defer { history.close() }
            let report = await history.pruner.prunePass()
            #expect(report.outcome == .pruned)
            #expect(report.rounds == [2, 3])
            #expect(try await history.annotatedBlocks(after: nil, limit: 10).map { $0.block!.header.round } == [4])
        }
    }

    @Test("a damaged latest block is reported under its own round, also after a reopen")
    func damagedLatestBlock() async throws {
        try await withTemporaryDirectory { dir in
            var history = try openHistory(dir, id)
            for round in UInt64(1)...3 {
                try await history.commit(annotated(id, round: round, height: Int64(round)), roundResults: nil)
            }
            history.close()
            try await damage(dir + "/history.sqlite", "UPDATE rounds SET block = x'00' WHERE round = 3")

            history = try openHistory(dir, id)
            defer { history.close() }
            await expectError(prefix: "runtime/history: stored round 3 cannot be decoded: annotated block: ") {
                _ = try await history.latestAnnotatedBlock()
            }
            #expect(try await history.block(round: 2).header.round == 2)
        }
    }

    @Test("a block stored under another round than its own is reported, not served")
    func blockUnderAnotherRound() async throws {
        try await withTemporaryDirectory { dir in
            var history = try openHistory(dir, id)
            for round in UInt64(1)...3 {
                try await history.commit(annotated(id, round: round, height: Int64(round)), roundResults: nil)
            }
            history.close()
            try await damage(
                dir + "/history.sqlite", "UPDATE rounds SET block = (SELECT block FROM rounds WHERE round = 1) WHERE round = 2")

            history = try openHistory(dir, id)
            defer { history.close() }
            let message = "runtime/history: stored round 2 cannot be decoded: the block stored for it is of round 1"
            await expectError(prefix: message) { _ = try await history.block(round: 2) }
            await expectError(prefix: message) { _ = try await history.annotatedBlocks(after: 1, limit: 10) }
            #expect(try await history.block(round: 3).header.round == 3)
        }
    }

    @Test("a stored latest block without a block is reported, not served from memory")
    func latestWithoutBlock() async throws {
        try await withTemporaryDirectory { dir in
            var history = try openHistory(dir, id)
            for round in UInt64(1)...3 {
                try await history.commit(annotated(id, round: round, height: Int64(round)), roundResults: nil)
            }
            history.close()
            let bytes = Data(try CBOREncoder().encode(AnnotatedBlock(consensusHeight: 3, block: nil)))
            try await damage(dir + "/history.sqlite", "UPDATE rounds SET block = ? WHERE round = 3", arguments: [bytes])

            history = try openHistory(dir, id)
            defer { history.close() }
            let message = "runtime/history: stored round 3 cannot be decoded: annotated block without a block; "
                + "the database is damaged, restore it or remove history.sqlite to rebuild it from consensus"
            await expectError(message) { _ = try await history.latestBlock() }
            await expectError(message) { _ = try await history.latestRound() }
        }
    }

    @Test("a store stamp with values of the wrong type is refused when opening", arguments: [
        "store = x'ff'", "runtime_id = 1.5", "schema_version = 'one'",
    ])
    func damagedStamp(_ assignment: String) async throws {
        try await withTemporaryDirectory { dir in
            try openHistory(dir, id).close()
            try await damage(dir + "/history.sqlite", "UPDATE store_meta SET \(assignment)")
            await expectError(prefix: "runtime/history: failed to open database: \(dir)/history.sqlite: "
                + "the store_meta row is damaged: its column ") {
                _ = try openHistory(dir, id)
            }
        }
    }

    @Test("a tag index with a negative block round opens, and queries report the damage")
    func negativeIndexedRound() async throws {
        try await withTemporaryDirectory { dir in
            let hash = Hash.digest(Array("a block".utf8))
            var backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            try await backend.index([IndexedRound(round: 3, blockHash: hash)], through: 3)
            backend.close()
            try await damage(dir + "/tag-index.sqlite", "UPDATE blocks SET round = -3")

            backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }
            #expect(try await backend.lastIndexedRound() == nil)
            await expectError(prefix: "tagindexer: index corrupted: the block \(hash) is stored at round -3") {
                _ = try await backend.queryBlock(hash: hash)
            }
        }
    }

    @Test("a transaction stored with an index that is not a number is reported as damage")
    func damagedTransactionIndex() async throws {
        try await withDamagedTransaction("UPDATE transactions SET tx_index = 'first'") { backend, tag in
            await expectError(prefix: "tagindexer: index corrupted: a transaction row is damaged: "
                + "its column tx_index holds the text 'first', not an integer from 0 to 4294967295") {
                _ = try await backend.queryTxn(key: tag.key, value: tag.value)
            }
            await expectError(prefix: "tagindexer: index corrupted") {
                _ = try await backend.queryTxns(TagQuery())
            }
        }
    }

    @Test("a transaction hash stored as another type is reported as damage by every query that reads it")
    func damagedTransactionHash() async throws {
        try await withDamagedTransaction("UPDATE transactions SET tx_hash = 5") { backend, tag in
            let prefix = "tagindexer: index corrupted: a transaction row is damaged: "
                + "its column tx_hash holds the integer 5, not a blob"
            await expectError(prefix: prefix) { _ = try await backend.queryTxnByIndex(round: 3, index: 0) }
            await expectError(prefix: prefix) { _ = try await backend.queryTxn(key: tag.key, value: tag.value) }
        }
    }

    /// Indexes one tagged transaction at round 3, runs `sql` on the closed index, and hands the
    /// reopened backend and the transaction's tag to `body`.
    private func withDamagedTransaction(
        _ sql: String, _ body: (SQLiteTagIndexBackend, TransactionTag) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { dir in
            let tx = TransactionArtifacts(input: Array("a transaction".utf8), batchOrder: 0)
            let tag = TransactionTag(key: Array("k".utf8), value: Array("v".utf8), txHash: tx.hash)
            var backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            try await backend.index(
                round: 3, blockHash: Hash.digest(Array("a block".utf8)), transactions: [tx], tags: [tag])
            backend.close()
            try await damage(dir + "/tag-index.sqlite", sql)

            backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }
            try await body(backend, tag)
        }
    }
}
