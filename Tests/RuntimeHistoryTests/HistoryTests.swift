import ConsensusAPI
import Foundation
import GRDB
import OasisCBOR
import OasisCommon
import RuntimeHistory
import Testing

/// v21.1's `TestHistory` step by step (spec §4.6), plus acceptance cases 80–90 and 94.
@Suite("Runtime history")
struct HistoryTests {
    let id = Namespace.test(seed: "history test ns 1")
    let id2 = Namespace.test(seed: "history test ns 2")

    @Test("the v21.1 history test passes step by step, across a reopen")
    func goHistorySequence() async throws {
        try await withTemporaryDirectory { dir in
            var history = try openHistory(dir, id)
            #expect(history.runtimeID == id)  // 1
            #expect(try await history.lastConsensusHeight() == 0)  // 2
            await expectNotFound { _ = try await history.block(round: 10) }  // 3
            await expectNotFound { _ = try await history.latestBlock() }  // 4
            try await history.consensusCheckpoint(42)  // 5
            await expectError(prefix: "runtime/history: consensus checkpoint at lower height") {  // 6
                try await history.consensusCheckpoint(40)
            }
            #expect(try await history.lastConsensusHeight() == 42)  // 7

            var block = makeBlock(id, round: 10)
            await expectError(prefix: "runtime/history: commit at lower consensus height") {  // 8
                try await history.commit(AnnotatedBlock(consensusHeight: 40, block: block), roundResults: twoMessages)
            }
            block.header.namespace = id2
            await expectError(prefix: "runtime/history: runtime mismatch") {  // 9
                try await history.commit(AnnotatedBlock(consensusHeight: 50, block: block), roundResults: twoMessages)
            }
            block.header.namespace = id
            let committed = AnnotatedBlock(consensusHeight: 50, block: block)
            try await history.commit(committed, roundResults: twoMessages)  // 10
            await expectError(prefix: "runtime/history: commit at lower round") {  // 11
                try await history.commit(committed, roundResults: twoMessages)
            }
            var lower = block
            lower.header.round = 5
            await expectError(prefix: "runtime/history: commit at lower round") {  // 12
                try await history.commit(AnnotatedBlock(consensusHeight: 50, block: lower), roundResults: twoMessages)
            }
            #expect(try await history.lastConsensusHeight() == 50)  // 13
            #expect(try await history.block(round: 10) == block)  // 14
            #expect(try await history.latestBlock() == block)  // 15
            #expect(try await history.roundResults(round: 10) == twoMessages)  // 16
            history.close()

            await expectError(prefix: "runtime/history: database for different runtime") {  // 17
                _ = try openHistory(dir, id2)
            }
            history = try openHistory(dir, id)  // 18
            #expect(history.runtimeID == id)
            #expect(try await history.lastConsensusHeight() == 50)  // 19
            #expect(try await history.block(round: 10) == block)  // 20
            #expect(try await history.latestBlock() == block)  // 21
            #expect(try await history.roundResults(round: 10) == twoMessages)  // 22
            #expect(try await history.annotatedBlock(round: 10) == committed)
            history.close()
        }
    }

    @Test("80: the history lives in history.sqlite, one row per round keyed by the round, one stamp row")
    func fileLayout() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            #expect(history.path == dir + "/history.sqlite")
            try await history.commit(annotated(id, round: 10, height: 1), roundResults: twoMessages)
            history.close()

            let db = try DatabaseQueue(path: dir + "/history.sqlite")
            defer { try? db.close() }
            try await db.read { db in
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM store_meta") == 1)
                #expect(try String.fetchOne(db, sql: "SELECT store FROM store_meta") == "history")
                #expect(try Int64.fetchAll(db, sql: "SELECT round FROM rounds") == [10])
                let stored = try Data.fetchOne(db, sql: "SELECT block FROM rounds WHERE round = 10")!
                let decoded = try CBORDecoder().decode(AnnotatedBlock.self, from: [UInt8](stored))
                #expect(decoded.block?.header.round == 10)
            }
        }
    }

    @Test("81: a fresh history's metadata record encodes as v21.1's")
    func freshMetadataVector() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            let metadata = try await history.metadata()
            #expect(metadata == HistoryMetadata(version: 1, runtimeID: id, lastConsensusHeight: 0, lastRound: 0))
            let expected =
                "a46776657273696f6e016a6c6173745f726f756e64006a72756e74696d655f69645820800000000000000076ab361daab63d01cba917c44f7478b748d85e3920a18c64756c6173745f636f6e73656e7375735f68656967687400"
            #expect(Hex.encode(try CBOREncoder().encode(metadata)) == expected)
        }
    }

    @Test("82: a fresh history is at height 0 and finds no block")
    func freshHistory() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            #expect(try await history.lastConsensusHeight() == 0)
            await expectError("roothash: block not found") { _ = try await history.block(round: 10) }
            await expectError("roothash: block not found") { _ = try await history.latestBlock() }
            await expectNotFound { _ = try await history.roundResults(round: 10) }
        }
    }

    @Test("83: a checkpoint below the last height fails; an equal one succeeds")
    func checkpointOrder() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.consensusCheckpoint(42)
            await expectError("runtime/history: consensus checkpoint at lower height (current: 42 wanted: 40)") {
                try await history.consensusCheckpoint(40)
            }
            try await history.consensusCheckpoint(42)
            #expect(try await history.lastConsensusHeight() == 42)
        }
    }

    @Test("84: a commit below the checkpointed height fails")
    func commitBelowCheckpoint() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.consensusCheckpoint(42)
            await expectError("runtime/history: commit at lower consensus height (current: 42 wanted: 40)") {
                try await history.commit(annotated(id, round: 10, height: 40), roundResults: nil)
            }
            await expectNotFound { _ = try await history.block(round: 10) }
        }
    }

    @Test("85: a block of another runtime is refused")
    func runtimeMismatch() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            await expectError(prefix: "runtime/history: runtime mismatch (expected: \(id) got: \(id2))") {
                try await history.commit(annotated(id2, round: 1, height: 1), roundResults: nil)
            }
        }
    }

    @Test("86: after round 10 at height 50, round 10 again and round 5 fail")
    func lowerRounds() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.commit(annotated(id, round: 10, height: 50), roundResults: nil)
            await expectError("runtime/history: commit at lower round (current: 10 wanted: 10)") {
                try await history.commit(annotated(id, round: 10, height: 50), roundResults: nil)
            }
            await expectError("runtime/history: commit at lower round (current: 10 wanted: 5)") {
                try await history.commit(annotated(id, round: 5, height: 50), roundResults: nil)
            }
        }
    }

    @Test("87: after checkpoint 42, committing round 0 fails as a lower round")
    func roundZeroAfterCheckpoint() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.consensusCheckpoint(42)
            await expectError("runtime/history: commit at lower round (current: 0 wanted: 0)") {
                try await history.commit(annotated(id, round: 0, height: 50), roundResults: nil)
            }
        }
    }

    @Test("89: a commit without results reads back as no results, not as not-found")
    func nilResults() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.commit(annotated(id, round: 3, height: 1), roundResults: nil)
            #expect(try await history.roundResults(round: 3) == nil)
            try await history.commit(annotated(id, round: 4, height: 1), roundResults: RoundResults())
            #expect(try await history.roundResults(round: 4) == RoundResults())
        }
    }

    @Test("90: reopening with another runtime id fails, naming both ids")
    func differentRuntime() async throws {
        try await withTemporaryDirectory { dir in
            do {
                let history = try openHistory(dir, id)
                history.close()
            }
            do {
                _ = try openHistory(dir, id2)
                Issue.record("opened another runtime's history")
            } catch let error as HistoryError {
                let text = "\(error)"
                #expect(text.hasPrefix("runtime/history: database for different runtime"))
                #expect(text.contains("expected: \(id2)") && text.contains("got: \(id)"))
            }
        }
    }

    @Test("a file written by a newer schema is refused")
    func newerSchema() async throws {
        try await withTemporaryDirectory { dir in
            try openHistory(dir, id).close()
            let db = try DatabaseQueue(path: dir + "/history.sqlite")
            try await db.write { try $0.execute(sql: "UPDATE store_meta SET schema_version = 2") }
            try db.close()
            await expectError(prefix: "runtime/history: unsupported database version (expected: 1 got: 2)") {
                _ = try openHistory(dir, id)
            }
        }
    }

    @Test("94: a read in a cancelled task fails with the cancellation even when the block exists")
    func cancelledRead() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.commit(annotated(id, round: 1, height: 1), roundResults: nil)
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await history.block(round: 1)
            }
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(try await history.block(round: 1).header.round == 1)
        }
    }

    @Test("an annotated block without a block is refused with its height")
    func missingBlock() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            await expectError(prefix: "runtime/history: annotated block at consensus height 7 has no block") {
                try await history.commit(AnnotatedBlock(consensusHeight: 7, block: nil), roundResults: nil)
            }
        }
    }

    @Test("rounds beyond the largest SQLite integer are refused, not wrapped")
    func hugeRound() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            await expectError(prefix: "runtime/history: round 9223372036854775808 is above the largest storable round") {
                try await history.commit(annotated(id, round: UInt64(Int64.max) + 1, height: 1), roundResults: nil)
            }
            await expectNotFound { _ = try await history.block(round: .max) }
        }
    }

    @Test("a batch commits its rounds in order; one refused round commits none of them")
    func batchCommit() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            var watch = history.watchBlocks().makeAsyncIterator()
            try await history.commit((1...5).map {
                HistoryCommit(block: annotated(id, round: $0, height: Int64($0)), roundResults: twoMessages)
            })
            #expect(try await history.latestBlock().header.round == 5)
            #expect(try await history.lastConsensusHeight() == 5)
            for round in UInt64(1)...5 { #expect(await watch.next()?.block?.header.round == round) }

            // Round 8 repeats inside the batch: the batch is refused as a whole.
            await expectError("runtime/history: commit at lower round (current: 8 wanted: 8)") {
                try await history.commit([6, 7, 8, 8, 9].map {
                    HistoryCommit(block: annotated(id, round: $0, height: 10), roundResults: nil)
                })
            }
            await expectNotFound { _ = try await history.block(round: 6) }
            #expect(try await history.latestBlock().header.round == 5)
            #expect(try await history.lastConsensusHeight() == 5)
        }
    }

    @Test("the latest block (served from memory) always equals the stored latest round")
    func latestMatchesStore() async throws {
        try await withTemporaryDirectory { dir in
            var history = try openHistory(dir, id, configuration: HistoryConfiguration(pruner: .keepLast(1)))
            func check(_ expected: UInt64, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let stored = try await history.block(round: try await history.metadata().lastRound)
                #expect(try await history.latestBlock() == stored, sourceLocation: sourceLocation)
                #expect(stored.header.round == expected, sourceLocation: sourceLocation)
            }
            try await history.commit(annotated(id, round: 7, height: 0), roundResults: nil)
            try await check(7)
            try await history.commit(annotated(id, round: 3, height: 0), roundResults: nil)  // height-0 rule
            try await check(3)
            _ = try? await history.commit(annotated(id, round: 2, height: -1), roundResults: nil)  // refused
            try await check(3)
            try await history.commit([4, 5, 6].map { HistoryCommit(block: annotated(id, round: $0, height: 2), roundResults: nil) })
            try await check(6)
            await history.pruner.prunePass()
            try await check(6)
            history.close()
            history = try openHistory(dir, id)
            try await check(6)
            history.close()
        }
    }

    @Test("blocks after a round come back in ascending order, bounded by the limit")
    func blocksAfter() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            for round in [2, 3, 5, 8, 13] as [UInt64] {
                try await history.commit(annotated(id, round: round, height: Int64(round)), roundResults: nil)
            }
            #expect(try await history.annotatedBlocks(after: nil, limit: 10).map { $0.block!.header.round } == [2, 3, 5, 8, 13])
            #expect(try await history.annotatedBlocks(after: 3, limit: 2).map { $0.block!.header.round } == [5, 8])
            #expect(try await history.annotatedBlocks(after: 13, limit: 10).isEmpty)
        }
    }
}
