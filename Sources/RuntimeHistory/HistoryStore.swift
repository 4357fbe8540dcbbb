import ConsensusAPI
import Foundation
import GRDB
import OasisCBOR
import OasisCommon
import RuntimeSQLite

/// The SQL behind ``RuntimeHistory``: one `DatabasePool` on `history.sqlite`.
///
/// Schema (version 1):
/// * `history_state(id = 1, last_round, last_consensus_height)`: the mutable part of v21.1's
///   metadata record (runtime id and version live in the shared `store_meta` stamp);
/// * `rounds(round INTEGER PRIMARY KEY, block BLOB NOT NULL, results BLOB)`: the CBOR
///   `AnnotatedBlock` and the CBOR `RoundResults` of each round, `results` NULL when the
///   commit carried none. One row per round keeps a commit to one insert and a prune to one
///   range delete.
final class HistoryStore: Sendable {
    static let schemaVersion: Int64 = 1

    static let descriptor = StoreDescriptor(
        kind: "history", errorPrefix: "runtime/history", schemaVersion: schemaVersion,
        durability: .powerLoss
    ) { db in
        try db.execute(sql: """
            CREATE TABLE history_state(
                id INTEGER PRIMARY KEY CHECK (id = 1),
                last_round INTEGER NOT NULL,
                last_consensus_height INTEGER NOT NULL);
            INSERT INTO history_state(id, last_round, last_consensus_height) VALUES (1, 0, 0);
            CREATE TABLE rounds(
                round INTEGER PRIMARY KEY,
                block BLOB NOT NULL,
                results BLOB);
            """)
    }

    struct State: Sendable {
        var lastRound: UInt64
        var lastConsensusHeight: Int64
    }

    let runtimeID: Namespace
    private let store: StorePool

    init(directory: String, fileName: String, runtimeID: Namespace) throws(HistoryError) {
        do {
            store = try StoreDatabase.open(
                directory: directory, fileName: fileName, runtimeID: runtimeID, descriptor: Self.descriptor,
                closedError: { HistoryError.closed })
        } catch {
            throw .open(error)
        }
        self.runtimeID = runtimeID
    }

    var path: String { store.path }

    var isClosed: Bool { store.closed }

    func writerSynchronous() throws -> Int { try store.writerSynchronous() }

    /// Closes the pool once; later operations fail with `closed`.
    func close() throws {
        try store.close()
    }

    // MARK: Writes

    /// One encoded round to record.
    struct EncodedRound: Sendable {
        var round: UInt64
        var height: Int64
        var block: Data
        var results: Data?
    }

    /// Records rounds in order in one transaction (v21.1's `Commit` rules 2 to 5 for each, as
    /// if committed one by one; any refusal rolls back all of them), then calls `afterCommit`
    /// on the writer queue.
    func commit(_ rounds: [EncodedRound], afterCommit: @escaping @Sendable () -> Void) async throws {
        for entry in rounds where Int64(exactly: entry.round) == nil { throw HistoryError.roundTooLarge(entry.round) }
        try await store.write({ db in
            var state = try Self.fetchState(db)
            let insert = try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO rounds(round, block, results) VALUES (?, ?, ?)")
            for entry in rounds {
                if entry.height < state.lastConsensusHeight {
                    throw HistoryError.commitAtLowerConsensusHeight(
                        current: state.lastConsensusHeight, wanted: entry.height)
                }
                // v21.1's rule, quirk included: while the last height is 0 a duplicate or lower
                // round is accepted and overwrites (see docs/HISTORY.md).
                if entry.round <= state.lastRound && state.lastConsensusHeight != 0 {
                    throw HistoryError.commitAtLowerRound(current: state.lastRound, wanted: entry.round)
                }
                try insert.execute(arguments: [Int64(entry.round), entry.block, entry.results])
                state.lastRound = entry.round
                state.lastConsensusHeight = max(state.lastConsensusHeight, entry.height)
            }
            try db.cachedStatement(
                sql: "UPDATE history_state SET last_round = ?, last_consensus_height = ? WHERE id = 1"
            ).execute(arguments: [Int64(state.lastRound), state.lastConsensusHeight])
        }, afterCommit: { _ in afterCommit() })
    }

    func checkpoint(_ height: Int64) async throws {
        try await store.write { db in
            let state = try Self.fetchState(db)
            if height < state.lastConsensusHeight {
                throw HistoryError.checkpointAtLowerHeight(current: state.lastConsensusHeight, wanted: height)
            }
            try db.execute(sql: "UPDATE history_state SET last_consensus_height = ? WHERE id = 1", arguments: [height])
        }
    }

    // MARK: Reads

    static func fetchState(_ db: Database) throws -> State {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT last_round, last_consensus_height FROM history_state WHERE id = 1"))
        else { throw HistoryError.corrupted(round: 0, reason: "the history_state row is missing") }
        do {
            return State(
                lastRound: try row.storedInteger("last_round", as: UInt64.self),
                lastConsensusHeight: try row.storedInteger("last_consensus_height"))
        } catch {
            throw HistoryError.corrupted(round: 0, reason: "the history_state row is damaged: \(error)")
        }
    }

    func state() throws -> State {
        try store.lookup { try Self.fetchState($0) }
    }

    /// The stored CBOR of `round`'s annotated block, or nil.
    func blockBytes(round: UInt64) throws -> [UInt8]? {
        guard let storedRound = Int64(exactly: round) else { return nil }
        return try store.lookup { db in
            try Self.fetchBlob(db, sql: "SELECT block FROM rounds WHERE round = ?", round: storedRound)
        }
    }

    /// The latest round and the stored CBOR of its annotated block, or nil.
    func latestBlockBytes() throws -> (round: UInt64, bytes: [UInt8])? {
        try store.lookup { db in
            let statement = try db.cachedStatement(
                sql: "SELECT round, block FROM rounds WHERE round = (SELECT last_round FROM history_state WHERE id = 1)")
            let rows = try Row.fetchCursor(statement)
            // `round` is the rowid, always an integer; only a damaged file has a negative one.
            guard let row = try rows.next(), let round = UInt64(exactly: row[0] as Int64) else { return nil }
            return (round, try row.withUnsafeData(atIndex: 1) { [UInt8]($0 ?? Data()) })
        }
    }

    /// `.none` when the round is missing, `.some(nil)` when it was committed without results.
    func resultsBytes(round: UInt64) throws -> [UInt8]?? {
        guard let storedRound = Int64(exactly: round) else { return .none }
        return try store.lookup { db -> [UInt8]?? in
            let statement = try db.cachedStatement(sql: "SELECT results FROM rounds WHERE round = ?")
            let rows = try Row.fetchCursor(statement, arguments: [storedRound])
            guard let row = try rows.next() else { return .none }
            return .some(try row.withUnsafeData(atIndex: 0) { $0.map { [UInt8]($0) } })
        }
    }

    /// Up to `limit` stored blocks above `round`, ascending.
    func blocksBytes(after round: UInt64?, limit: Int) async throws -> [(round: UInt64, bytes: [UInt8])] {
        let lower: Int64 = round.map { Int64(clamping: $0) } ?? -1
        return try await store.read { db in
            let statement = try db.cachedStatement(
                sql: "SELECT round, block FROM rounds WHERE round > ? ORDER BY round LIMIT ?")
            var result: [(round: UInt64, bytes: [UInt8])] = []
            let rows = try Row.fetchCursor(statement, arguments: [lower, limit])
            while let row = try rows.next() {
                let r: Int64 = row[0]
                result.append((UInt64(r), try row.withUnsafeData(atIndex: 1) { [UInt8]($0 ?? Data()) }))
            }
            return result
        }
    }

    private static func fetchBlob(_ db: Database, sql: String, round: Int64) throws -> [UInt8]? {
        let statement = try db.cachedStatement(sql: sql)
        let rows = try Row.fetchCursor(statement, arguments: [round])
        guard let row = try rows.next() else { return nil }
        return try row.withUnsafeData(atIndex: 0) { $0.map { [UInt8]($0) } }
    }

    // MARK: Pruning

    /// The rounds a keep-last(`numKept`) pass would prune, at most `limit` of them, ascending,
    /// and whether more remain. The latest round is never among them.
    func pruneCandidates(numKept: UInt64, limit: Int) async throws -> (latest: UInt64?, rounds: [UInt64], more: Bool) {
        try await store.read { db in
            let state = try Self.fetchState(db)
            let latestExists = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM rounds WHERE round = ?)", arguments: [Int64(state.lastRound)]) ?? false
            guard latestExists else { return (nil, [], false) }
            let latest = state.lastRound
            guard latest >= numKept else { return (latest, [], false) }
            // With numKept 0, v21.1 pruned the latest round too; we keep it.
            let cutoff = numKept == 0 ? (latest == 0 ? nil : latest - 1) : latest - numKept
            guard let cutoff else { return (latest, [], false) }
            // A negative round (only a damaged file has one) is no u64 round: no call can read or
            // delete it, so it is not offered either.
            let statement = try db.cachedStatement(
                sql: "SELECT round FROM rounds WHERE round BETWEEN 0 AND ? AND round != ? ORDER BY round LIMIT ?")
            // One more than the limit tells whether more remain; `Int.max` (no bound) has no more.
            let found = try Int64.fetchAll(
                statement, arguments: [Int64(cutoff), Int64(latest), limit == .max ? limit : limit + 1])
            let more = found.count > limit
            return (latest, found.prefix(limit).map { UInt64($0) }, more)
        }
    }

    /// Deletes `rounds` (ascending) in one transaction, never the current latest round.
    func delete(rounds: ArraySlice<UInt64>) async throws -> Int {
        guard let first = rounds.first, let last = rounds.last else { return 0 }
        return try await store.write { db in
            let guardLatest = "round != (SELECT last_round FROM history_state WHERE id = 1)"
            if Int(last - first) + 1 == rounds.count {
                // Contiguous: every round in [first, last] was offered, so one range delete is exact.
                try db.cachedStatement(sql: "DELETE FROM rounds WHERE round BETWEEN ? AND ? AND \(guardLatest)")
                    .execute(arguments: [Int64(first), Int64(last)])
                return db.changesCount
            }
            let statement = try db.cachedStatement(sql: "DELETE FROM rounds WHERE round = ? AND \(guardLatest)")
            var deleted = 0
            for round in rounds {
                try statement.execute(arguments: [Int64(round)])
                deleted += db.changesCount
            }
            return deleted
        }
    }
}
