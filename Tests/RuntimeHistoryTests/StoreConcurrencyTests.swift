import ConsensusAPI
import Foundation
import GRDB
import OasisCommon
@testable import RuntimeHistory
@testable import RuntimeLocalStorage
@testable import RuntimeTagIndexer
import Testing

/// Part 6 of the issue: every store closes cleanly and twice, works from many tasks at once,
/// and never makes a reader wait for a writer.
@Suite("Store concurrency and closing", .timeLimit(.minutes(3)))
struct StoreConcurrencyTests {
    let id = Namespace.test(seed: "store concurrency ns")

    /// The three stores of one runtime directory.
    func openAll(_ dir: String) throws -> (RuntimeHistory, RuntimeLocalStorage, SQLiteTagIndexBackend) {
        (
            try openHistory(dir, id), try RuntimeLocalStorage(directory: dir, runtimeID: id, logger: quietLogger),
            try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
        )
    }

    func closeAll(_ history: RuntimeHistory, _ storage: RuntimeLocalStorage, _ index: SQLiteTagIndexBackend) {
        history.close()
        storage.close()
        index.close()
    }

    @Test("every store runs in WAL mode")
    func walMode() async throws {
        try await withTemporaryDirectory { dir in
            let (history, storage, index) = try openAll(dir)
            defer { closeAll(history, storage, index) }
            for file in ["history.sqlite", "local-storage.sqlite", "tag-index.sqlite"] {
                let db = try DatabaseQueue(path: dir + "/" + file)
                #expect(try await db.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal", "\(file)")
                try db.close()
            }
        }
    }

    @Test("every store's writer fsyncs each commit (synchronous=FULL), although GRDB defaults WAL to NORMAL")
    func synchronousFull() async throws {
        try await withTemporaryDirectory { dir in
            let (history, storage, index) = try openAll(dir)
            defer { closeAll(history, storage, index) }
            #expect(try history.writerSynchronous() == 2)
            #expect(try storage.writerSynchronous() == 2)
            #expect(try index.writerSynchronous() == 2)
        }
    }

    @Test("a read completes while another connection holds an open write transaction")
    func readersNotBlocked() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.commit(annotated(id, round: 1, height: 1), roundResults: nil)

            // A second writer (another connection) starts a transaction, writes, and holds it.
            var configuration = Configuration()
            configuration.allowsUnsafeTransactions = true  // the transaction outlives one access on purpose
            let other = try DatabaseQueue(path: dir + "/history.sqlite", configuration: configuration)
            defer { try? other.close() }
            try await other.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                try db.execute(sql: "UPDATE history_state SET last_round = 99")
                try db.execute(sql: "DELETE FROM rounds")
            }
            #expect(try await history.block(round: 1).header.round == 1)
            #expect(try await history.latestBlock().header.round == 1)
            try await other.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
        }
    }

    @Test("readers in many tasks see consistent blocks while one task commits")
    func parallelReadersAndWriter() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.commit(annotated(id, round: 0, height: 1), roundResults: twoMessages)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for round in UInt64(1)...200 {
                        try await history.commit(annotated(id, round: round, height: Int64(round) + 1), roundResults: twoMessages)
                    }
                }
                for _ in 0..<8 {
                    group.addTask {
                        var previous: UInt64 = 0
                        for _ in 0..<100 {
                            let latest = try await history.latestBlock().header.round
                            #expect(latest >= previous)
                            previous = latest
                            #expect(try await history.roundResults(round: latest) == twoMessages)
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await history.latestBlock().header.round == 200)
        }
    }

    @Test("local storage takes writes from many tasks at once")
    func parallelLocalStorage() async throws {
        try await withTemporaryDirectory { dir in
            let storage = try RuntimeLocalStorage(directory: dir, runtimeID: id, logger: quietLogger)
            defer { storage.close() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<16 {
                    group.addTask {
                        for i in 0..<25 { try await storage.set(Array("\(task)/\(i)".utf8), Array("\(i)".utf8)) }
                    }
                }
                try await group.waitForAll()
            }
            for task in 0..<16 {
                for i in 0..<25 { #expect(try await storage.get(Array("\(task)/\(i)".utf8)) == Array("\(i)".utf8)) }
            }
        }
    }

    @Test("closing twice is harmless and every later call fails with a closed error")
    func closeIdempotent() async throws {
        try await withTemporaryDirectory { dir in
            let (history, storage, index) = try openAll(dir)
            let waiter = Task { try await index.waitBlockIndexed(round: 5) }
            for _ in 0..<2 { closeAll(history, storage, index) }
            await expectError("runtime/history: the history is closed") { _ = try await history.latestBlock() }
            await expectError("runtime/history: the history is closed") {
                try await history.commit(annotated(id, round: 1, height: 1), roundResults: nil)
            }
            await expectError("runtime/localstorage: the local storage is closed") { _ = try await storage.get([1]) }
            await expectError("tagindexer: the tag index is closed") { _ = try await index.queryBlock(hash: .zero) }
            await expectError("tagindexer: the tag index is closed") { try await waiter.value }
            // The files are closed: they reopen at once.
            try openHistory(dir, id).close()
        }
    }
}
