import Foundation
import GRDB
public import Logging
public import OasisCommon
import RuntimeSQLite

/// The tag index in `tag-index.sqlite` (our replacement for v21.1's bleve index).
///
/// Schema (version 2), normalized:
/// * `blocks(round INTEGER PRIMARY KEY, block_hash)`, indexed by hash — v21.1's block document;
/// * `transactions(id, round, tx_hash, tx_index)`, unique per (round, hash), indexed by
///   (round, index) — one row per distinct transaction hash among the round's tags, like
///   v21.1's transaction documents (a transaction without tags has none; a tag whose hash is
///   not among the round's transactions gets index 0);
/// * `tags(tx_id, key, value)`, indexed by (key, value) for the tag queries;
/// * `index_state(id = 1, indexed_through)`: the watermark (``indexedThrough()``), NULL until
///   the first round is handled.
///
/// Indexing a round deletes what that round had first, so re-indexing replaces it completely.
/// A version 1 file (no watermark) is migrated with a NULL watermark: it may have holes, so the
/// indexer indexes everything the history still holds again.
public final class SQLiteTagIndexBackend: TagIndexBackend {
    /// The database file name inside the runtime's state directory.
    public static let fileName = "tag-index.sqlite"
    static let schemaVersion: Int64 = 2

    static let descriptor = StoreDescriptor(
        kind: "tag-index", errorPrefix: "tagindexer", schemaVersion: schemaVersion, durability: .powerLoss,
        migrations: [1: { try createIndexState($0) }]
    ) { db in
        try db.execute(sql: """
            CREATE TABLE blocks(
                round INTEGER PRIMARY KEY,
                block_hash BLOB NOT NULL);
            CREATE INDEX blocks_by_hash ON blocks(block_hash);
            CREATE TABLE transactions(
                id INTEGER PRIMARY KEY,
                round INTEGER NOT NULL REFERENCES blocks(round),
                tx_hash BLOB NOT NULL,
                tx_index INTEGER NOT NULL,
                UNIQUE (round, tx_hash));
            CREATE INDEX transactions_by_index ON transactions(round, tx_index);
            CREATE TABLE tags(
                tx_id INTEGER NOT NULL REFERENCES transactions(id),
                key BLOB NOT NULL,
                value BLOB NOT NULL,
                PRIMARY KEY (tx_id, key, value)) WITHOUT ROWID;
            CREATE INDEX tags_by_key_value ON tags(key, value);
            """)
        try createIndexState(db)
    }

    /// The watermark's table, with nothing handled yet (schema 2; also the step from 1 to 2).
    private static func createIndexState(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE index_state(
                id INTEGER PRIMARY KEY CHECK (id = 1),
                indexed_through INTEGER);
            INSERT INTO index_state(id, indexed_through) VALUES (1, NULL);
            """)
    }

    /// The runtime this index belongs to (checked against the file on open).
    public let runtimeID: Namespace
    private let store: StorePool
    /// The highest round indexed so far, republished to every new waiter.
    private let indexed = Broadcaster<UInt64>(replayLast: true)
    private let logger: Logger

    /// Opens (creating if needed) the tag index of `runtimeID` in `directory`.
    public init(directory: String, runtimeID: Namespace, logger: Logger) throws {
        var logger = logger
        logger[metadataKey: "runtime.id"] = "\(runtimeID)"
        self.logger = logger
        self.runtimeID = runtimeID
        store = try StoreDatabase.open(
            directory: directory, fileName: Self.fileName, runtimeID: runtimeID, descriptor: Self.descriptor,
            closedError: { TagIndexerError.closed })
        // After a restart, what is already indexed satisfies waiters at once.
        if let last = try store.pool.read({ try Int64.fetchOne($0, sql: Self.maxRoundSQL) }) {
            indexed.publish(UInt64(last))
        }
    }

    public var isEnabled: Bool { true }

    /// The database file.
    public var path: String { store.path }

    // MARK: Writing

    public func index(_ rounds: [IndexedRound]) async throws {
        guard !rounds.isEmpty else { return }
        try await write(rounds, through: nil)
    }

    public func index(_ rounds: [IndexedRound], through round: UInt64) async throws {
        try await write(rounds, through: round)
    }

    private func write(_ rounds: [IndexedRound], through: UInt64?) async throws {
        for round in rounds.map(\.round) + (through.map { [$0] } ?? []) where Int64(exactly: round) == nil {
            throw TagIndexerErrors.corrupted.wrapping("round \(round) is above \(Int64.max)")
        }
        let watermark = through.map { Int64($0) }
        let indexed = self.indexed
        try await store.write({ db in
            for entry in rounds { try Self.index(entry, db) }
            if let watermark {
                try db.cachedStatement(sql: """
                    UPDATE index_state SET indexed_through = max(coalesce(indexed_through, -1), ?) WHERE id = 1
                    """).execute(arguments: [watermark])
                guard db.changesCount == 1 else {
                    throw TagIndexerErrors.corrupted.wrapping("the index_state row is missing")
                }
            }
            return rounds.map(\.round)
        }, afterCommit: { rounds in
            for round in rounds { indexed.publish(round) }
        })
    }

    private static func index(_ entry: IndexedRound, _ db: Database) throws {
        let round = Int64(entry.round)
        try deleteRange(round, round, db)
        try db.cachedStatement(sql: "INSERT INTO blocks(round, block_hash) VALUES (?, ?)")
            .execute(arguments: [round, Data(entry.blockHash.bytes)])
        guard !entry.tags.isEmpty else { return }

        // A later duplicate transaction overwrites an earlier one's position, as in v21.1.
        var positions: [Hash: Int] = [:]
        for (position, tx) in entry.transactions.enumerated() { positions[tx.hash] = position }

        let insertTx = try db.cachedStatement(
            sql: "INSERT INTO transactions(round, tx_hash, tx_index) VALUES (?, ?, ?)")
        let insertTag = try db.cachedStatement(sql: "INSERT OR IGNORE INTO tags(tx_id, key, value) VALUES (?, ?, ?)")
        var rowIDs: [Hash: Int64] = [:]
        for tag in entry.tags {
            let txID: Int64
            if let known = rowIDs[tag.txHash] {
                txID = known
            } else {
                try insertTx.execute(arguments: [round, Data(tag.txHash.bytes), positions[tag.txHash] ?? 0])
                txID = db.lastInsertedRowID
                rowIDs[tag.txHash] = txID
            }
            try insertTag.execute(arguments: [txID, Data(tag.key), Data(tag.value)])
        }
    }

    public func prune(rounds: [UInt64]) async throws {
        guard !rounds.isEmpty else { return }
        let runs = Self.contiguousRuns(rounds.sorted())
        try await store.write { db in
            for run in runs { try Self.deleteRange(run.lowerBound, run.upperBound, db) }
        }
    }

    /// Deletes every record of rounds in `[low, high]`, children first.
    private static func deleteRange(_ low: Int64, _ high: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: """
            DELETE FROM tags WHERE tx_id IN (SELECT id FROM transactions WHERE round BETWEEN ? AND ?)
            """).execute(arguments: [low, high])
        try db.cachedStatement(sql: "DELETE FROM transactions WHERE round BETWEEN ? AND ?")
            .execute(arguments: [low, high])
        try db.cachedStatement(sql: "DELETE FROM blocks WHERE round BETWEEN ? AND ?").execute(arguments: [low, high])
    }

    /// Ascending rounds as maximal runs of consecutive rounds; rounds above `Int64.max` are
    /// never stored, so they are dropped.
    static func contiguousRuns(_ rounds: [UInt64]) -> [ClosedRange<Int64>] {
        var runs: [ClosedRange<Int64>] = []
        for round in rounds {
            guard let value = Int64(exactly: round) else { continue }
            // `value - 1`, not `upperBound + 1`, which overflows at `Int64.max`; rounds are ≥ 0.
            if let last = runs.last, value - 1 <= last.upperBound {
                runs[runs.count - 1] = last.lowerBound...max(last.upperBound, value)
            } else {
                runs.append(value...value)
            }
        }
        return runs
    }

    /// The highest round in `blocks`. A negative round (only a damaged file has one) is no u64
    /// round, so it is left out rather than converted.
    private static let maxRoundSQL = "SELECT max(round) FROM blocks WHERE round >= 0"

    public func lastIndexedRound() async throws -> UInt64? {
        try await store.read { db in
            try Int64.fetchOne(db, sql: Self.maxRoundSQL).map { UInt64($0) }
        }
    }

    public func indexedThrough() async throws -> UInt64? {
        let stored = try await store.read { db in
            try Int64.fetchOne(db, sql: "SELECT indexed_through FROM index_state WHERE id = 1")
        }
        guard let stored else { return nil }
        guard let round = UInt64(exactly: stored) else {
            throw TagIndexerErrors.corrupted.wrapping("the watermark is round \(stored)")
        }
        return round
    }

    /// Closes the database and wakes every waiter with `TagIndexerError.closed`. Idempotent.
    public func close() {
        indexed.finish()
        do {
            try store.close()
        } catch {
            logger.error("closing the tag index failed", metadata: ["error": "\(error)"])
        }
    }

    /// The writer's `PRAGMA synchronous`, for tests.
    func writerSynchronous() throws -> Int { try store.writerSynchronous() }

    // MARK: Queries

    public func queryBlock(hash blockHash: Hash) async throws -> UInt64 {
        try Task.checkCancellation()
        let key = Data(blockHash.bytes)
        let round = try await store.read { db in
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT round FROM blocks WHERE block_hash = ? LIMIT 1"), arguments: [key])
        }
        guard let round else { throw TagIndexerErrors.notFound }
        guard let found = UInt64(exactly: round) else {
            throw TagIndexerErrors.corrupted.wrapping("the block \(blockHash) is stored at round \(round)")
        }
        return found
    }

    public func queryTxn(key: [UInt8], value: [UInt8]) async throws -> TransactionLocation {
        try Task.checkCancellation()
        let arguments: StatementArguments = [Data(key), Data(value)]
        let location = try await store.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: """
                    SELECT t.round, t.tx_hash, t.tx_index FROM tags g JOIN transactions t ON t.id = g.tx_id
                    WHERE g.key = ? AND g.value = ? ORDER BY g.tx_id LIMIT 1
                    """), arguments: arguments
            ).map(Self.location)
        }
        guard let location else { throw TagIndexerErrors.notFound }
        return location
    }

    public func queryTxnByIndex(round: UInt64, index: UInt32) async throws -> Hash {
        try Task.checkCancellation()
        guard let storedRound = Int64(exactly: round) else { throw TagIndexerErrors.notFound }
        let hash = try await store.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT tx_hash FROM transactions WHERE round = ? AND tx_index = ? LIMIT 1"),
                arguments: [storedRound, Int64(index)]
            ).map { row in try Self.location { try Self.hash(try row.storedBlob("tx_hash")) } }
        }
        guard let hash else { throw TagIndexerErrors.notFound }
        return hash
    }

    public func queryTxns(_ query: TagQuery) async throws -> [UInt64: [TagQueryResult]] {
        try Task.checkCancellation()
        var sql = "SELECT t.round, t.tx_hash, t.tx_index FROM transactions t"
        var clauses: [String] = []
        var arguments = StatementArguments()
        if query.roundMin > 0 {
            clauses.append("t.round >= ?")
            _ = arguments.append(contentsOf: [Int64(clamping: query.roundMin)])
        }
        if query.roundMax > 0 {
            clauses.append("t.round <= ?")
            _ = arguments.append(contentsOf: [Int64(clamping: query.roundMax)])
        }
        // A condition without values is skipped, as in v21.1.
        for condition in query.conditions where !condition.values.isEmpty {
            let marks = Array(repeating: "?", count: condition.values.count).joined(separator: ", ")
            clauses.append("t.id IN (SELECT tx_id FROM tags WHERE key = ? AND value IN (\(marks)))")
            _ = arguments.append(contentsOf: StatementArguments([Data(condition.key)] + condition.values.map { Data($0) }))
        }
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY t.round, t.tx_index LIMIT ?"
        _ = arguments.append(contentsOf: [query.effectiveLimit])
        let finalSQL = sql
        let finalArguments = arguments
        let locations = try await store.read { db in
            try Row.fetchAll(db, sql: finalSQL, arguments: finalArguments).map(Self.location)
        }
        var results: [UInt64: [TagQueryResult]] = [:]
        for location in locations {
            results[location.round, default: []].append(TagQueryResult(txHash: location.txHash, txIndex: location.txIndex))
        }
        return results
    }

    public func waitBlockIndexed(round: UInt64) async throws {
        // Subscribe before looking, so an index that lands in between is not missed.
        let updates = indexed.subscribe()
        if try await isIndexed(round: round) { return }
        for await indexedRound in updates where indexedRound >= round { return }
        try Task.checkCancellation()
        throw TagIndexerError.closed
    }

    private func isIndexed(round: UInt64) async throws -> Bool {
        guard let storedRound = Int64(exactly: round) else { return false }
        return try await store.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM blocks WHERE round = ?)", arguments: [storedRound])
                ?? false
        }
    }

    private static func location(_ row: Row) throws -> TransactionLocation {
        try location {
            TransactionLocation(
                round: try row.storedInteger("round", as: UInt64.self),
                txHash: try hash(try row.storedBlob("tx_hash")),
                txIndex: try row.storedInteger("tx_index", as: UInt32.self))
        }
    }

    /// `read`'s result, with a damaged transaction row reported as index corruption.
    private static func location<T>(_ read: () throws -> T) throws -> T {
        do {
            return try read()
        } catch let mismatch as StoredValueMismatch {
            throw TagIndexerErrors.corrupted.wrapping("a transaction row is damaged: \(mismatch)")
        }
    }

    private static func hash(_ bytes: [UInt8]) throws -> Hash {
        do {
            return try Hash(bytes: bytes)
        } catch {
            throw TagIndexerErrors.corrupted.wrapping("a stored hash has \(bytes.count) bytes")
        }
    }
}
