import Foundation
import GRDB
import OasisCBOR
import OasisCommon
import RuntimeStorage
import RuntimeTagIndexer
import Testing

/// v21.1's `backend_test.go` against the SQLite backend, and acceptance cases 98–104.
@Suite("Tag index backend", .timeLimit(.minutes(3)))
struct TagIndexBackendTests {
    let id = Namespace(unchecked: .zero)

    func open(_ dir: String) throws -> SQLiteTagIndexBackend {
        try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
    }

    static func tx(_ text: String) -> TransactionArtifacts {
        TransactionArtifacts(input: Array(text.utf8), batchOrder: 0)
    }

    static func tag(_ key: String, _ value: String, _ tx: TransactionArtifacts) -> TransactionTag {
        TransactionTag(key: Array(key.utf8), value: Array(value.utf8), txHash: tx.hash)
    }

    let tx1 = tx("i am a transaction")
    let tx2 = tx("i am a second transaction")
    let tx3 = tx("i am a third transaction")
    let blockHash1 = Hash.digest(Array("this is a fake block hash 1".utf8))
    let blockHash2 = Hash.digest(Array("this is a fake block hash 2".utf8))

    func expectNotFound(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected client: not found", sourceLocation: sourceLocation)
        } catch {
            #expect((error as? CodedError) == TagIndexerErrors.notFound, "got \(error)", sourceLocation: sourceLocation)
            #expect("\(error)" == "client: not found", sourceLocation: sourceLocation)
        }
    }

    func indexRound42(_ backend: SQLiteTagIndexBackend) async throws {
        try await backend.index(
            round: 42, blockHash: blockHash1, transactions: [tx1, tx2],
            tags: [
                Self.tag("hello", "world", tx1), Self.tag("some", "world", tx1), Self.tag("hello", "world", tx2),
                Self.tag("hello2", "world", tx2),
            ])
    }

    @Test("the v21.1 backend test passes step by step, and again after a reopen")
    func goBackendSequence() async throws {
        try await withTemporaryDirectory { dir in
            var backend = try open(dir)
            try await indexRound42(backend)  // 1
            try await backend.waitBlockIndexed(round: 41)  // 2
            try await backend.waitBlockIndexed(round: 42)  // 3
            await expectNotFound { _ = try await backend.queryBlock(hash: .zero) }  // 4
            #expect(try await backend.queryBlock(hash: blockHash1) == 42)  // 5
            await expectNotFound { _ = try await backend.queryTxn(key: Array("key".utf8), value: Array("value".utf8)) }
            await expectNotFound { _ = try await backend.queryTxn(key: Array("key2".utf8), value: Array("value2".utf8)) }
            #expect(try await backend.queryTxn(key: Array("hello2".utf8), value: Array("world".utf8))
                == TransactionLocation(round: 42, txHash: tx2.hash, txIndex: 1))  // 8
            #expect(try await backend.queryTxn(key: Array("some".utf8), value: Array("world".utf8))
                == TransactionLocation(round: 42, txHash: tx1.hash, txIndex: 0))  // 9
            #expect(try await backend.queryTxnByIndex(round: 42, index: 0) == tx1.hash)  // 10
            #expect(try await backend.queryTxnByIndex(round: 42, index: 1) == tx2.hash)  // 11

            try await backend.index(
                round: 43, blockHash: blockHash2, transactions: [tx3], tags: [Self.tag("foo", "bar", tx3)])  // 12
            #expect(try await backend.queryBlock(hash: blockHash2) == 43)  // 13
            #expect(try await backend.queryTxn(key: Array("foo".utf8), value: Array("bar".utf8))
                == TransactionLocation(round: 43, txHash: tx3.hash, txIndex: 0))  // 14
            #expect(try await backend.queryBlock(hash: blockHash1) == 42)  // 15

            let both: [UInt64: [TagQueryResult]] = [42: [TagQueryResult(txHash: tx1.hash, txIndex: 0), TagQueryResult(txHash: tx2.hash, txIndex: 1)]]
            let ranged = try await backend.queryTxns(TagQuery(
                roundMin: 40, roundMax: 50,
                conditions: [TagQueryCondition(key: Array("hello".utf8), values: [Array("world".utf8)])]))
            #expect(ranged == both)  // 16
            let ored = try await backend.queryTxns(TagQuery(conditions: [
                TagQueryCondition(key: Array("hello".utf8), values: [Array("worlx".utf8), Array("world".utf8)])
            ]))
            #expect(ored == both)  // 17
            backend.close()

            backend = try open(dir)  // LoadIndex
            defer { backend.close() }
            try await backend.waitBlockIndexed(round: 42)
            #expect(try await backend.queryBlock(hash: blockHash1) == 42)
        }
    }

    @Test("98: the rows carry exactly the identity of v21.1's block and transaction documents")
    func documentIdentity() async throws {
        try await withTemporaryDirectory { dir in
            let backend = try open(dir)
            try await indexRound42(backend)
            backend.close()
            let db = try DatabaseQueue(path: dir + "/tag-index.sqlite")
            defer { try? db.close() }
            try await db.read { db in
                let block = try Row.fetchOne(db, sql: "SELECT round FROM blocks WHERE block_hash = ?",
                                             arguments: [Data(blockHash1.bytes)])!
                let blockRound: Int64 = block[0]
                #expect(Hex.encode([0x42] + bigEndian(UInt64(blockRound))) == "42000000000000002a")
                let tx = try Row.fetchOne(db, sql: "SELECT round, tx_hash, tx_index FROM transactions WHERE tx_hash = ?",
                                          arguments: [Data(tx2.hash.bytes)])!
                let round: Int64 = tx[0]
                let hash: Data = tx[1]
                let index: Int64 = tx[2]
                let documentID = [0x54] + bigEndian(UInt64(round)) + [UInt8](hash) + bigEndian(UInt32(index))
                #expect(Hex.encode(documentID)
                    == "54000000000000002a723a26df5421006053ea72b0acf92f7313508212d3406de46d2c5fe8df9b3cf300000001")
            }
        }
    }

    @Test("99: the transaction and block hashes of the backend test match the computed vectors")
    func hashVectors() {
        #expect(tx1.hash.description == "89512b9466dedb9b6e3209e6e6e57d727137417fc537810dd47209f32b2ab6f3")
        #expect(tx2.hash.description == "723a26df5421006053ea72b0acf92f7313508212d3406de46d2c5fe8df9b3cf3")
        #expect(blockHash1.description == "e5cf3156c22f98e2f521dd28cfd62dec24bb139af82439922a6633f39a8f8be9")
    }

    @Test("100: the disabled backend accepts index and prune and refuses every query")
    func disabledBackend() async throws {
        let backend = DisabledTagIndexBackend()
        try await backend.index(round: 1, blockHash: .zero, transactions: [], tags: [])
        try await backend.prune(rounds: [1])
        let message = "tagindexer: tag indexer is disabled"
        await expectError(message) { _ = try await backend.queryBlock(hash: .zero) }
        await expectError(message) { _ = try await backend.queryTxn(key: [1], value: [1]) }
        await expectError(message) { _ = try await backend.queryTxnByIndex(round: 1, index: 0) }
        await expectError(message) { _ = try await backend.queryTxns(TagQuery()) }
        await expectError(message) { try await backend.waitBlockIndexed(round: 1) }
        backend.close()
    }

    @Test("101: limit 0 or 5000 returns at most 1000 hits; limit 5 at most 5")
    func limits() async throws {
        try await withTemporaryDirectory { dir in
            let backend = try open(dir)
            defer { backend.close() }
            let txs = (0..<1200).map { Self.tx("tx \($0)") }
            try await backend.index(
                round: 7, blockHash: blockHash1, transactions: txs, tags: txs.map { Self.tag("k", "v", $0) })
            let condition = [TagQueryCondition(key: Array("k".utf8), values: [Array("v".utf8)])]
            for (limit, expected) in [(0, 1000), (5000, 1000), (5, 5)] as [(UInt64, Int)] {
                let hits = try await backend.queryTxns(TagQuery(conditions: condition, limit: limit))
                #expect(hits.values.map(\.count).reduce(0, +) == expected)
            }
            let first = try await backend.queryTxns(TagQuery(conditions: condition, limit: 3))
            #expect(first[7]?.map(\.txIndex) == [0, 1, 2])
        }
    }

    @Test("102: a condition with no values is ignored instead of matching nothing")
    func emptyValues() async throws {
        try await withTemporaryDirectory { dir in
            let backend = try open(dir)
            defer { backend.close() }
            try await indexRound42(backend)
            let hits = try await backend.queryTxns(TagQuery(conditions: [
                TagQueryCondition(key: Array("hello".utf8), values: [Array("world".utf8)]),
                TagQueryCondition(key: Array("nothing".utf8), values: []),
            ]))
            #expect(hits[42]?.count == 2)
            let noConditions = try await backend.queryTxns(TagQuery(conditions: [
                TagQueryCondition(key: Array("nothing".utf8), values: [])
            ]))
            #expect(noConditions[42]?.count == 2)
            let anded = try await backend.queryTxns(TagQuery(conditions: [
                TagQueryCondition(key: Array("hello".utf8), values: [Array("world".utf8)]),
                TagQueryCondition(key: Array("some".utf8), values: [Array("world".utf8)]),
            ]))
            #expect(anded == [42: [TagQueryResult(txHash: tx1.hash, txIndex: 0)]])
            #expect(try await backend.queryTxns(TagQuery(roundMin: 43)).isEmpty)
        }
    }

    @Test("103: a transaction that emitted no tags is not found by index")
    func untaggedTransaction() async throws {
        try await withTemporaryDirectory { dir in
            let backend = try open(dir)
            defer { backend.close() }
            try await backend.index(
                round: 5, blockHash: blockHash1, transactions: [tx1, tx2], tags: [Self.tag("a", "b", tx2)])
            #expect(try await backend.queryTxnByIndex(round: 5, index: 1) == tx2.hash)
            await expectNotFound { _ = try await backend.queryTxnByIndex(round: 5, index: 0) }
        }
    }

    @Test("104: waiting for round 100 blocks until it is indexed; cancelling the waiter ends it")
    func waitBlockIndexed() async throws {
        try await withTemporaryDirectory { dir in
            let backend = try open(dir)
            defer { backend.close() }
            try await indexRound42(backend)

            let waiter = Task { try await backend.waitBlockIndexed(round: 100) }
            let cancelled = Task { try await backend.waitBlockIndexed(round: 100) }
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }

            try await backend.index(round: 99, blockHash: blockHash2, transactions: [], tags: [])
            try await backend.index(round: 100, blockHash: Hash.digest([1]), transactions: [], tags: [])
            try await waiter.value
        }
    }

    @Test("re-indexing a round replaces what it had; pruning removes every trace of a round")
    func reindexAndPrune() async throws {
        try await withTemporaryDirectory { dir in
            let backend = try open(dir)
            defer { backend.close() }
            try await indexRound42(backend)
            try await backend.index(round: 42, blockHash: blockHash2, transactions: [tx3], tags: [Self.tag("foo", "bar", tx3)])
            await expectNotFound { _ = try await backend.queryBlock(hash: blockHash1) }
            await expectNotFound { _ = try await backend.queryTxn(key: Array("hello".utf8), value: Array("world".utf8)) }
            #expect(try await backend.queryTxnByIndex(round: 42, index: 0) == tx3.hash)

            try await backend.index(round: 43, blockHash: blockHash1, transactions: [tx1], tags: [Self.tag("a", "b", tx1)])
            try await backend.prune(rounds: [42])
            await expectNotFound { _ = try await backend.queryBlock(hash: blockHash2) }
            await expectNotFound { _ = try await backend.queryTxnByIndex(round: 42, index: 0) }
            #expect(try await backend.queryBlock(hash: blockHash1) == 43)
            #expect(try await backend.lastIndexedRound() == 43)
        }
    }

    @Test("pruning the largest storable round, given twice, removes it")
    func pruneLargestRound() async throws {
        try await withTemporaryDirectory { dir in
            let backend = try open(dir)
            defer { backend.close() }
            let largest = UInt64(Int64.max)
            try await backend.index(round: largest - 1, blockHash: blockHash1, transactions: [], tags: [])
            try await backend.index(round: largest, blockHash: blockHash2, transactions: [], tags: [])
            try await backend.prune(rounds: [largest, largest - 1, largest, largest + 1])
            await expectNotFound { _ = try await backend.queryBlock(hash: blockHash1) }
            await expectNotFound { _ = try await backend.queryBlock(hash: blockHash2) }
            #expect(try await backend.lastIndexedRound() == nil)
        }
    }

    @Test("the watermark only moves up, and only with index(_:through:); it survives a reopen and a prune")
    func watermark() async throws {
        try await withTemporaryDirectory { dir in
            var backend = try open(dir)
            #expect(try await backend.indexedThrough() == nil)
            // A batch whose rounds were all skipped still moves it.
            try await backend.index([], through: 5)
            #expect(try await backend.indexedThrough() == 5)
            try await backend.index([IndexedRound(round: 3, blockHash: blockHash1)], through: 3)
            #expect(try await backend.indexedThrough() == 5)
            try await backend.index([IndexedRound(round: 9, blockHash: blockHash2)])
            #expect(try await backend.indexedThrough() == 5)
            #expect(try await backend.lastIndexedRound() == 9)
            await #expect(throws: CodedError.self) { try await backend.index([], through: UInt64(Int64.max) + 1) }
            backend.close()

            backend = try open(dir)
            defer { backend.close() }
            #expect(try await backend.indexedThrough() == 5)
            try await backend.prune(rounds: [3])
            #expect(try await backend.indexedThrough() == 5)
            #expect(try await DisabledTagIndexBackend().indexedThrough() == nil)
        }
    }

    @Test("a file of a newer schema is refused and left as it was")
    func newerSchema() async throws {
        try await withTemporaryDirectory { dir in
            try open(dir).close()
            let path = dir + "/" + SQLiteTagIndexBackend.fileName
            let db = try DatabaseQueue(path: path)
            try await db.write { try $0.execute(sql: "UPDATE store_meta SET schema_version = 3") }
            try db.close()
            await expectError(prefix: "tagindexer: unsupported database version (expected: 2 got: 3)") {
                _ = try open(dir)
            }
            let reopened = try DatabaseQueue(path: path)
            #expect(try await reopened.read { try Int64.fetchOne($0, sql: "SELECT schema_version FROM store_meta") } == 3)
            try reopened.close()
        }
    }

    @Test("a schema 1 file is migrated on open: its rounds stay, with no watermark")
    func migratesSchemaOne() async throws {
        try await withTemporaryDirectory { dir in
            var backend = try open(dir)
            try await indexRound42(backend)
            backend.close()
            let path = dir + "/" + SQLiteTagIndexBackend.fileName
            let db = try DatabaseQueue(path: path)
            try await db.write { try $0.execute(sql: "DROP TABLE index_state; UPDATE store_meta SET schema_version = 1") }
            try db.close()

            backend = try open(dir)
            defer { backend.close() }
            #expect(try await backend.indexedThrough() == nil)
            #expect(try await backend.queryBlock(hash: blockHash1) == 42)
            try await backend.index([], through: 42)
            #expect(try await backend.indexedThrough() == 42)
            let reopened = try DatabaseQueue(path: path)
            #expect(try await reopened.read { try Int64.fetchOne($0, sql: "SELECT schema_version FROM store_meta") } == 2)
            try reopened.close()
        }
    }

    @Test("backend names: empty is disabled, sqlite is sqlite, bleve is sqlite, others are refused")
    func backendNames() throws {
        #expect(try TagIndexBackendKind(configName: "", logger: quietLogger) == .disabled)
        #expect(try TagIndexBackendKind(configName: "SQLite", logger: quietLogger) == .sqlite)
        let logs = RecordingLogs()
        #expect(try TagIndexBackendKind(configName: "bleve", logger: logs.logger) == .sqlite)
        #expect(logs.all.contains { $0.level == .warning && $0.message.contains("\"bleve\"") })
        #expect(throws: TagIndexerError.unknownBackend("lucene")) {
            try TagIndexBackendKind(configName: "lucene", logger: quietLogger)
        }
    }
}

func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}
