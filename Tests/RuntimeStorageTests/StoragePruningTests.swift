import ConsensusAPI
import Foundation
import GRDB
import Logging
import OasisCBOR
import OasisCommon
import RuntimeStorage
import Testing

@testable import RuntimeStorageSQLite

/// What the database holds, read with its own connection and checked without the backend's
/// code: every node reachable from a root, every link and root pointing at a stored node, and
/// each node's count equal to its links plus one while a root names it.
struct StorageAudit {
    var nodes = 0
    var roots = 0
    var problems: [String] = []
    var schemaVersion: Int64?

    init(path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        try queue.read { db in
            schemaVersion = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'schema_version'")
            var stored: [Data: (kind: Int64, left: Data?, right: Data?, refs: Int64)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT hash, kind, left, right, refs FROM nodes") {
                stored[row[0]] = (row[1], row[2], row[3], row[4])
            }
            nodes = stored.count
            let rootRows = try Row.fetchAll(db, sql: "SELECT root_type, hash, round FROM roots")
            roots = rootRows.count
            let named = Set(rootRows.map { row -> Data in row[1] })
            var links: [Data: Int64] = [:]
            for node in stored.values where node.kind == 1 {
                for child in [node.left, node.right].compactMap({ $0 }) { links[child, default: 0] += 1 }
            }
            let empty = Data(Hash.empty.bytes)
            for root in named where root != empty && stored[root] == nil {
                problems.append("root \(Hex.encode(root)) has no node")
            }
            for (child, _) in links where stored[child] == nil && child != empty {
                problems.append("link to missing node \(Hex.encode(child))")
            }
            for (hash, node) in stored {
                let expected = links[hash, default: 0] + (named.contains(hash) ? 1 : 0)
                if node.refs != expected {
                    problems.append("node \(Hex.encode(hash)) counts \(node.refs) references, has \(expected)")
                }
            }
            var reached: Set<Data> = []
            var pending = Array(named)
            while let hash = pending.popLast() {
                guard let node = stored[hash], reached.insert(hash).inserted else { continue }
                if node.kind == 1 { pending += [node.left, node.right].compactMap { $0 } }
            }
            let unreachable = stored.count - reached.count
            if unreachable != 0 { problems.append("\(unreachable) nodes no root reaches") }
        }
    }
}

@Suite("SQLite storage pruning")
struct StoragePruningTests {
    let logger = Logger(label: "storage-pruning-tests")

    /// A backend in a fresh directory with `rounds` of state applied, one model per round.
    struct Fixture {
        var backend: SQLiteStorageBackend
        var directory: String
        var roots: [Hash] = [.empty]
        var models: [DictionaryModel] = [DictionaryModel()]

        var path: String { backend.path }
        func audit() throws -> StorageAudit { try StorageAudit(path: path) }

        func root(_ round: Int, type: RootType = .state) -> StorageRoot {
            StorageRoot(namespace: backend.namespace, version: UInt64(round), type: type, hash: roots[round])
        }

        /// Applies `log` to the latest state as round `roots.count`.
        @discardableResult
        mutating func apply(_ log: WriteLog) async throws -> Hash {
            var model = models.last!
            model.apply(log)
            let hash = try MerkleTree().applying(model.sorted).hash
            let dstRound = UInt64(roots.count)
            _ = try await backend.apply(ApplyRequest(
                namespace: backend.namespace, rootType: .state, srcRound: UInt64(roots.count - 1), srcRoot: roots.last!,
                dstRound: dstRound, dstRoot: hash, writeLog: log))
            roots.append(hash)
            models.append(model)
            return hash
        }

        func read(_ round: Int) async throws -> [WriteLogEntry] {
            try await backend.entries(at: root(round))
        }
    }

    func withFixture(_ body: (inout Fixture) async throws -> Void) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var fixture = Fixture(
            backend: try SQLiteStorageBackend(directory: directory, runtime: runtimeA, logger: logger),
            directory: directory)
        do {
            try await body(&fixture)
        } catch {
            await fixture.backend.cleanup()
            throw error
        }
        await fixture.backend.cleanup()
    }

    @Test("apply keeps every node's count equal to its links plus its roots")
    func applyCounts() async throws {
        try await withFixture { fixture in
            var random = RandomWrites(seed: 7)
            for _ in 1...25 { try await fixture.apply(random.writeLog(maxCount: 12)) }
            let audit = try fixture.audit()
            #expect(audit.problems == [])
            #expect(audit.roots == 25)
            #expect(audit.nodes > 0)
        }
    }

    @Test("pruning drops the older roots and every node only they reached; the kept rounds read as before")
    func pruneOldRounds() async throws {
        try await withFixture { fixture in
            var random = RandomWrites(seed: 11)
            for round in 1...20 {
                try await fixture.apply(random.writeLog(maxCount: 10) + [WriteLogEntry(key: bytes("round"), value: bytes("\(round)"))])
            }
            let before = try fixture.audit()

            let report = try await fixture.backend.prune(before: 12)

            #expect(report.roots == 11)
            #expect(report.nodes > 0)
            let after = try fixture.audit()
            #expect(after.problems == [])
            #expect(after.roots == 9)
            #expect(after.nodes == before.nodes - report.nodes)
            for round in 12...20 {
                #expect(try await fixture.read(round) == fixture.models[round].sorted, "round \(round)")
            }
            for round in 1...11 {
                await #expect(throws: StorageBackendError.rootNotFound(fixture.root(round)), "round \(round)") {
                    try await fixture.read(round)
                }
            }
            // Pruning the same point again finds nothing more.
            #expect(try await fixture.backend.prune(before: 12) == StoragePruneReport())
        }
    }

    @Test("the newest root at or below the prune point stays: later blocks carry it forward")
    func carriedForward() async throws {
        try await withFixture { fixture in
            for round in 1...3 { try await fixture.apply([WriteLogEntry(key: bytes("k\(round)"), value: bytes("v"))]) }

            // Rounds 4 to 9 had no apply (epoch transitions): their blocks still name round 3's root.
            let report = try await fixture.backend.prune(before: 10)

            #expect(report.roots == 2)
            #expect(try await fixture.read(3) == fixture.models[3].sorted)
            #expect(try fixture.audit().problems == [])
            // And the next round is applied on top of it.
            _ = try await fixture.backend.apply(ApplyRequest(
                namespace: runtimeA, rootType: .state, srcRound: 9, srcRoot: fixture.roots[3], dstRound: 10,
                dstRoot: try MerkleTree().applying(fixture.models[3].sorted + [WriteLogEntry(key: bytes("k10"), value: bytes("v"))]).hash,
                writeLog: [WriteLogEntry(key: bytes("k10"), value: bytes("v"))]))
            #expect(try fixture.audit().problems == [])
        }
    }

    @Test("roots named in `keeping` stay whatever their round: a batch stored under its expected round lands one later")
    func keptRootsStay() async throws {
        try await withFixture { fixture in
            // Rounds 1 and 2 applied; the history then has 1 (root 1), 2 (an epoch transition
            // that carries root 1) and 3 (the batch stored as round 2, finalized behind it).
            let carried = try await fixture.apply([WriteLogEntry(key: bytes("a"), value: bytes("1"))])
            let batch = try await fixture.apply([WriteLogEntry(key: bytes("b"), value: bytes("2"))])

            // The history prunes round 1 and keeps 2 (root 1) and 3 (root 2).
            let report = try await fixture.backend.prune(before: 2, keeping: [carried, .empty])

            #expect(report.roots == 0)
            #expect(try await fixture.read(1) == fixture.models[1].sorted)
            #expect(try await fixture.read(2) == fixture.models[2].sorted)
            #expect(try fixture.audit().problems == [])
            // Once the history is past the epoch block, root 1 goes.
            let later = try await fixture.backend.prune(before: 3, keeping: [batch])
            #expect(later.roots == 1)
            await #expect(throws: StorageBackendError.rootNotFound(fixture.root(1))) { try await fixture.read(1) }
            #expect(try await fixture.read(2) == fixture.models[2].sorted)
            #expect(try fixture.audit().problems == [])
        }
    }

    @Test("a root named again at a later round outlives the pruning of its first round")
    func rootNamedAgain() async throws {
        try await withFixture { fixture in
            let first = try await fixture.apply([WriteLogEntry(key: bytes("a"), value: bytes("1"))])
            try await fixture.apply([WriteLogEntry(key: bytes("a"), value: bytes("2")), WriteLogEntry(key: bytes("b"), value: bytes("2"))])
            let again = try await fixture.apply([WriteLogEntry(key: bytes("a"), value: bytes("1")), WriteLogEntry(key: bytes("b"), value: [])])
            #expect(again == first)

            let report = try await fixture.backend.prune(before: 3)

            #expect(report.roots == 2)
            #expect(report.nodes > 0)
            #expect(try await fixture.read(3) == [WriteLogEntry(key: bytes("a"), value: bytes("1"))])
            await #expect(throws: StorageBackendError.rootNotFound(fixture.root(2))) { try await fixture.read(2) }
            #expect(try fixture.audit().problems == [])
        }
    }

    @Test("state and I/O roots are each pruned up to their own newest root at or below the point")
    func eachTypeByItsOwnRoots() async throws {
        try await withFixture { fixture in
            for round in 1...5 { try await fixture.apply([WriteLogEntry(key: bytes("s"), value: bytes("\(round)"))]) }
            var io: [Hash] = [.empty]
            for round in 1...2 {
                let log = [WriteLogEntry(key: bytes("tx\(round)"), value: bytes("in"))]
                let hash = try MerkleTree().applying(log).hash
                _ = try await fixture.backend.apply(ApplyRequest(
                    namespace: runtimeA, rootType: .io, srcRound: UInt64(round), srcRoot: .empty, dstRound: UInt64(round),
                    dstRoot: hash, writeLog: log))
                io.append(hash)
            }
            let ioRoot = { (round: Int) in StorageRoot(namespace: runtimeA, version: UInt64(round), type: .io, hash: io[round]) }

            let report = try await fixture.backend.prune(before: 5)

            #expect(report.roots == 4 + 1)
            #expect(try await fixture.backend.entries(at: ioRoot(2)) == [WriteLogEntry(key: bytes("tx2"), value: bytes("in"))])
            await #expect(throws: StorageBackendError.rootNotFound(ioRoot(1))) { try await fixture.backend.entries(at: ioRoot(1)) }
            #expect(try await fixture.read(5) == fixture.models[5].sorted)
            await #expect(throws: StorageBackendError.rootNotFound(fixture.root(4))) { try await fixture.read(4) }
            #expect(try fixture.audit().problems == [])
        }
    }

    @Test("random rounds and prunes: the database stays exact and every kept round agrees with the model", arguments: [1, 2, 3] as [UInt64])
    func randomRoundsAndPrunes(seed: UInt64) async throws {
        try await withFixture { fixture in
            var random = RandomWrites(seed: seed)
            var prunedBefore = 0
            for round in 1...60 {
                try await fixture.apply(random.writeLog(maxCount: 14))
                guard random.int(0...5) == 0 else { continue }
                let point = random.int(prunedBefore...round)
                // Small transactions too: the result must not depend on how the work is cut.
                _ = try await fixture.backend.prune(before: UInt64(point), batchSize: random.int(1...8))
                prunedBefore = point
                let audit = try fixture.audit()
                #expect(audit.problems == [], "seed \(seed) round \(round) prune before \(point)")
                // The newest root at or below the point stays, and so does everything after it.
                for kept in max(point, 1)...round {
                    #expect(try await fixture.read(kept) == fixture.models[kept].sorted, "seed \(seed) round \(kept)")
                }
            }
            _ = try await fixture.backend.prune(before: 60)
            let final = try fixture.audit()
            #expect(final.problems == [])
            #expect(final.roots == 1)
        }
    }

    @Test("a large prune runs in bounded transactions, oldest roots first, with the same result")
    func boundedTransactions() async throws {
        try await withFixture { fixture in
            var random = RandomWrites(seed: 17)
            for round in 1...40 {
                try await fixture.apply(random.writeLog(maxCount: 6) + [WriteLogEntry(key: bytes("round"), value: bytes("\(round)"))])
            }

            let report = try await fixture.backend.prune(before: 30, batchSize: 4)

            #expect(report.roots == 29)
            #expect(report.transactions == 8)  // 4 × 7 rows, then the last one
            #expect(try fixture.audit().problems == [])
            for round in 30...40 { #expect(try await fixture.read(round) == fixture.models[round].sorted) }
            await #expect(throws: StorageBackendError.rootNotFound(fixture.root(29))) { try await fixture.read(29) }
        }
    }

    @Test("pruning an empty database, or below its first round, removes nothing")
    func nothingToPrune() async throws {
        try await withFixture { fixture in
            #expect(try await fixture.backend.prune(before: 100) == StoragePruneReport())
            for _ in 1...3 { try await fixture.apply([WriteLogEntry(key: bytes("k"), value: bytes("\(fixture.roots.count)"))]) }
            #expect(try await fixture.backend.prune(before: 1) == StoragePruneReport())
            #expect(try await fixture.backend.prune(before: 0) == StoragePruneReport())
            #expect(try fixture.audit().roots == 3)
        }
    }

    @Test("a round above Int64.max is refused by apply and apply-batch; a prune point above it clamps")
    func roundsAboveInt64Max() async throws {
        try await withFixture { fixture in
            for round in 1...3 { try await fixture.apply([WriteLogEntry(key: bytes("k"), value: bytes("\(round)"))]) }
            let log: WriteLog = [WriteLogEntry(key: bytes("k"), value: bytes("late"))]
            let late = try MerkleTree().applying(log).hash
            let tooLarge = UInt64(Int64.max) + 1

            // Stored as a signed integer it would be negative, the oldest round of all.
            await #expect(throws: SQLiteStorageError.roundTooLarge(tooLarge)) {
                _ = try await fixture.backend.apply(ApplyRequest(
                    namespace: runtimeA, rootType: .state, srcRound: 3, srcRoot: fixture.roots[3], dstRound: tooLarge,
                    dstRoot: late, writeLog: log))
            }
            await #expect(throws: SQLiteStorageError.roundTooLarge(tooLarge)) {
                _ = try await fixture.backend.applyBatch(ApplyBatchRequest(
                    namespace: runtimeA, dstRound: .max,
                    ops: [ApplyOp(rootType: .io, srcRound: tooLarge, srcRoot: .empty, dstRoot: late, writeLog: log)]))
            }
            #expect(try fixture.audit().roots == 3)
            #expect("\(SQLiteStorageError.roundTooLarge(tooLarge))"
                == "storage: round 9223372036854775808 is above the largest storable round 9223372036854775807")

            // Int64.max itself is stored; a prune before any larger round keeps it, the newest.
            _ = try await fixture.backend.apply(ApplyRequest(
                namespace: runtimeA, rootType: .state, srcRound: 3, srcRoot: fixture.roots[3], dstRound: UInt64(Int64.max),
                dstRoot: late, writeLog: log))
            let report = try await fixture.backend.prune(before: .max)
            #expect(report.roots == 3)
            #expect(try await fixture.backend.entries(at: StorageRoot(
                namespace: runtimeA, version: UInt64(Int64.max), type: .state, hash: late)) == log)
            let audit = try fixture.audit()
            #expect(audit.roots == 1)
            #expect(audit.problems == [])
        }
    }

    @Test("a schema 1 database is migrated on open: counts from its links and roots, then pruned exactly")
    func migratesSchemaOne() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var fixture = Fixture(
            backend: try SQLiteStorageBackend(directory: directory, runtime: runtimeA, logger: logger), directory: directory)
        var random = RandomWrites(seed: 5)
        for _ in 1...15 { try await fixture.apply(random.writeLog(maxCount: 10)) }
        await fixture.backend.cleanup()
        // Turn it into what schema 1 wrote: no counts, no index by round.
        let queue = try DatabaseQueue(path: fixture.path)
        try await queue.write { db in
            try db.execute(sql: """
                ALTER TABLE nodes DROP COLUMN refs;
                DROP INDEX roots_by_round;
                UPDATE meta SET value = 1 WHERE name = 'schema_version';
                """)
        }
        try queue.close()

        fixture.backend = try SQLiteStorageBackend(directory: directory, runtime: runtimeA, logger: logger)
        let migrated = try fixture.audit()
        #expect(migrated.schemaVersion == 2)
        #expect(migrated.problems == [])
        for round in [1, 8, 15] { #expect(try await fixture.read(round) == fixture.models[round].sorted) }
        let report = try await fixture.backend.prune(before: 10)
        #expect(report.roots == 9)
        #expect(try fixture.audit().problems == [])
        for round in 10...15 { #expect(try await fixture.read(round) == fixture.models[round].sorted) }
        await fixture.backend.cleanup()
    }

    @Test("a database with a newer schema is refused, and left as it was")
    func newerSchemaRefused() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backend = try SQLiteStorageBackend(directory: directory, runtime: runtimeA, logger: logger)
        await backend.cleanup()
        let queue = try DatabaseQueue(path: backend.path)
        try await queue.write { db in try db.execute(sql: "UPDATE meta SET value = 3 WHERE name = 'schema_version'") }
        try queue.close()

        #expect(throws: SQLiteStorageError.unsupportedSchema(found: 3, supported: 2)) {
            try SQLiteStorageBackend(directory: directory, runtime: runtimeA, logger: logger)
        }
        #expect(try StorageAudit(path: backend.path).schemaVersion == 3)
    }
}
