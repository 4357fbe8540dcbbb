import ConsensusAPI
import Foundation
import GRDB
import OasisCBOR
import OasisCommon
import RuntimeSQLite

/// The persisted state of the embedded consensus, one SQLite file (WAL, `synchronous=FULL`):
/// the chain's height and epoch, every runtime's registry and active descriptor, and every
/// roothash block with its round results. Each consensus step is one transaction, written
/// before anything is published, so a restart continues exactly where the last step ended.
final class ConsensusStore: Sendable {
    static let fileName = "local-consensus.sqlite"
    static let schemaVersion: Int64 = 1

    /// What a consensus step writes.
    struct Step: Sendable {
        var height: Int64
        var epoch: UInt64
        var runtimes: [RuntimeRecord] = []
        var blocks: [BlockRecord] = []
    }

    struct RuntimeRecord: Sendable {
        var sequence: Int
        var registry: RuntimeDescriptor
        var active: RuntimeDescriptor
    }

    struct BlockRecord {
        var block: AnnotatedBlock
        var results: RoundResults?
    }

    struct Loaded {
        var chainContext: String
        var height: Int64
        var epoch: UInt64
        var runtimes: [RuntimeRecord]
        var latestBlocks: [Namespace: AnnotatedBlock]
    }

    let path: String
    private let queue: DatabaseQueue
    private static let decoder = CBORDecoder(options: .trusted)

    init(directory: String) throws(LocalConsensusError) {
        path = directory.hasSuffix("/") ? directory + Self.fileName : directory + "/" + Self.fileName
        do {
            var configuration = Configuration()
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            }
            try queue.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS chain(
                        id INTEGER PRIMARY KEY CHECK (id = 1), schema_version INTEGER NOT NULL,
                        chain_context TEXT NOT NULL, height INTEGER NOT NULL, epoch INTEGER NOT NULL);
                    CREATE TABLE IF NOT EXISTS runtimes(
                        id BLOB PRIMARY KEY, sequence INTEGER NOT NULL, registry BLOB NOT NULL, active BLOB NOT NULL);
                    CREATE TABLE IF NOT EXISTS blocks(
                        runtime_id BLOB NOT NULL, round INTEGER NOT NULL, height INTEGER NOT NULL,
                        block BLOB NOT NULL, results BLOB, PRIMARY KEY (runtime_id, round));
                    CREATE INDEX IF NOT EXISTS blocks_by_height ON blocks(runtime_id, height);
                    """)
            }
        } catch {
            throw .store("cannot open '\(path)': \(error)")
        }
    }

    /// The stored chain, or nil for a new file.
    func load() throws(LocalConsensusError) -> Loaded? {
        do {
            return try queue.read { db -> Loaded? in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM chain WHERE id = 1") else { return nil }
                let version = try row.storedInteger("schema_version")
                guard version == Self.schemaVersion else {
                    throw LocalConsensusError.store(
                        "unsupported database version (expected: \(Self.schemaVersion) got: \(version))")
                }
                // The genesis height is 1 and every step adds one, so anything else was not
                // written by this chain; taking it would trap at the next step.
                let height = try row.storedInteger("height")
                guard height >= 1, height < Int64.max else {
                    throw LocalConsensusError.store(Self.corrupted(path, "its height is \(height)"))
                }
                // Rounds are written only when they fit (see `insert`), so one that is not an
                // integer, or a negative one (a round above Int64.max bit-cast by an older
                // version), is corrupt.
                if let odd = try Row.fetchOne(db, sql: "SELECT round FROM blocks WHERE typeof(round) != 'integer' LIMIT 1") {
                    throw StoredValueMismatch(column: "round", value: odd["round"], expected: "an integer")
                }
                if let round = try Int64.fetchOne(db, sql: "SELECT MIN(round) FROM blocks"), round < 0 {
                    throw LocalConsensusError.store(Self.corrupted(path, "it holds a block with round \(round)"))
                }
                let runtimes = try Row.fetchAll(db, sql: "SELECT * FROM runtimes ORDER BY sequence").map { row in
                    RuntimeRecord(
                        sequence: Int(try row.storedInteger("sequence")),
                        registry: try Self.decoder.decode(RuntimeDescriptor.self, from: try row.storedBlob("registry")),
                        active: try Self.decoder.decode(RuntimeDescriptor.self, from: try row.storedBlob("active")))
                }
                var latest: [Namespace: AnnotatedBlock] = [:]
                let rows = try Row.fetchAll(db, sql: """
                    SELECT b.block FROM blocks b
                    JOIN (SELECT runtime_id, MAX(round) AS round FROM blocks GROUP BY runtime_id) m
                    ON b.runtime_id = m.runtime_id AND b.round = m.round
                    """)
                for row in rows {
                    let block = try Self.decoder.decode(AnnotatedBlock.self, from: try row.storedBlob("block"))
                    if let id = block.block?.header.namespace { latest[id] = block }
                }
                let stored = try row.storedInteger("epoch")
                return Loaded(
                    chainContext: try row.storedText("chain_context"), height: height, epoch: UInt64(bitPattern: stored),
                    runtimes: runtimes, latestBlocks: latest)
            }
        } catch let error as LocalConsensusError {
            throw error
        } catch let error as StoredValueMismatch {
            throw .store(Self.corrupted(path, "\(error)"))
        } catch {
            throw .store("cannot read '\(path)': \(error)")
        }
    }

    /// The refusal of a state file this chain did not write.
    private static func corrupted(_ path: String, _ what: String) -> String {
        "the consensus store '\(path)' is corrupted: \(what); restore it from a backup, or remove it "
            + "(and the runtimes' history.sqlite files) to start a new chain"
    }

    /// Refuses a step the database cannot hold as it is: a round above `Int64.max` would be
    /// bit-cast to a negative integer, which sorts first, so the chain would lose its latest
    /// block on restart and then collide with a stored round.
    private func check(_ step: Step) throws(LocalConsensusError) {
        for record in step.blocks {
            guard let header = record.block.block?.header, Int64(exactly: header.round) == nil else { continue }
            throw .store(
                "cannot write '\(path)': runtime \(header.namespace) reached round \(header.round), above "
                    + "\(Int64.max), the largest round the state database holds")
        }
    }

    /// Writes one consensus step in one transaction, on GRDB's writer queue: the caller's
    /// thread (a cooperative-pool thread in async code) does not wait out the fsync.
    func write(_ step: Step, chainContext: String) async throws(LocalConsensusError) {
        try check(step)
        do {
            try await queue.write { db in try Self.insert(step, chainContext: chainContext, into: db) }
        } catch {
            throw .store("cannot write '\(path)': \(error)")
        }
    }

    /// ``write(_:chainContext:)`` for the opening step, from a synchronous initializer.
    func writeSynchronously(_ step: Step, chainContext: String) throws(LocalConsensusError) {
        try check(step)
        do {
            try queue.write { db in try Self.insert(step, chainContext: chainContext, into: db) }
        } catch {
            throw .store("cannot write '\(path)': \(error)")
        }
    }

    private static func insert(_ step: Step, chainContext: String, into db: Database) throws {
        let encoder = CBOREncoder()
        try db.execute(
            sql: """
                INSERT INTO chain(id, schema_version, chain_context, height, epoch) VALUES (1, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET height = excluded.height, epoch = excluded.epoch
                """,
            arguments: [schemaVersion, chainContext, step.height, Int64(bitPattern: step.epoch)])
        for record in step.runtimes {
            try db.execute(
                sql: """
                    INSERT INTO runtimes(id, sequence, registry, active) VALUES (?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET registry = excluded.registry, active = excluded.active
                    """,
                arguments: [
                    Data(record.registry.id.bytes), record.sequence, Data(try encoder.encode(record.registry)),
                    Data(try encoder.encode(record.active)),
                ])
        }
        for record in step.blocks {
            guard let header = record.block.block?.header else { continue }
            // `check(_:)` refused such a step before the transaction.
            guard let round = Int64(exactly: header.round) else {
                throw LocalConsensusError.store("round \(header.round) does not fit in the state database")
            }
            try db.execute(
                sql: "INSERT INTO blocks(runtime_id, round, height, block, results) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    Data(header.namespace.bytes), round, record.block.consensusHeight,
                    Data(try encoder.encode(record.block)), try record.results.map { Data(try encoder.encode($0)) },
                ])
        }
    }

    /// Up to `limit` blocks of `runtime` finalized above consensus height `height`, by round.
    func blocks(runtime: Namespace, afterHeight height: Int64, limit: Int) async throws(LocalConsensusError)
        -> [BlockRecord]
    {
        do {
            return try await queue.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT block, results FROM blocks WHERE runtime_id = ? AND height > ?
                        ORDER BY round LIMIT ?
                        """,
                    arguments: [Data(runtime.bytes), height, limit]
                ).map { row in
                    let results = try row.storedOptionalBlob("results")
                    return BlockRecord(
                        block: try Self.decoder.decode(AnnotatedBlock.self, from: try row.storedBlob("block")),
                        results: try results.map { try Self.decoder.decode(RoundResults.self, from: $0) })
                }
            }
        } catch {
            throw .store("cannot read blocks from '\(path)': \(error)")
        }
    }

    func close() {
        try? queue.close()
    }
}
