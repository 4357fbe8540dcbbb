public import ConsensusAPI
import Foundation
import GRDB
import OasisCBOR
import RuntimeSQLite
public import Logging
public import OasisCommon
public import RuntimeStorage
import Synchronization

/// The local versioned storage backend of one runtime: `storage.sqlite` in the runtime's state
/// directory (docs/STORAGE.md §6).
///
/// Trie nodes are stored content-addressed, so a version shares every unchanged subtree with
/// the versions before it, and a root is a row naming its type, hash and round. All reads run
/// on WAL snapshots (`DatabasePool`): a read never waits for an apply, and sees a whole round
/// or none of it. Safe to use from many tasks at once.
public final class SQLiteStorageBackend: PrunableStorageBackend, DirectlyReadableStorage {
    /// The database's file name in the runtime's state directory.
    public static let fileName = "storage.sqlite"
    /// The schema this code writes; a database with a newer one is refused.
    public static let schemaVersion: Int64 = 2

    /// The runtime this backend stores.
    public let namespace: Namespace
    /// The database file.
    public let path: String
    private let pool: Mutex<DatabasePool?>
    private let logger: Logger
    /// Nodes read lately, for every read and apply: the top of the trie is on every path.
    let nodeCache = NodeCache(capacity: NodeCache.defaultCapacity, shards: NodeCache.defaultShards)

    /// Opens (creating when missing) `storage.sqlite` in `directory` for `runtime`. Throws
    /// ``SQLiteStorageError/differentRuntime(expected:found:)`` for another runtime's database
    /// and ``SQLiteStorageError/unsupportedSchema(found:supported:)`` for a newer schema.
    public init(directory: String, runtime: Namespace, logger: Logger) throws {
        self.namespace = runtime
        self.path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        self.logger = logger
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // WAL with NORMAL sync keeps every committed transaction through a crash of the
            // process (kill -9); only a power loss may drop the last few.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        do {
            try pool.write { db in try Self.prepareSchema(db, runtime: runtime, logger: logger) }
        } catch {
            try? pool.close()
            throw error
        }
        self.pool = Mutex(pool)
        logger.debug("storage opened", metadata: ["runtime.id": "\(runtime)", "storage.path": "\(path)"])
    }

    private static func prepareSchema(_ db: Database, runtime: Namespace, logger: Logger) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS meta (
                    name TEXT NOT NULL PRIMARY KEY,
                    value BLOB NOT NULL
                ) WITHOUT ROWID
                """)
        let storedRuntime = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'runtime_id'")
        let storedSchema = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'schema_version'")
        if let storedRuntime {
            guard Array(storedRuntime) == runtime.bytes else {
                throw SQLiteStorageError.differentRuntime(expected: runtime, found: Hex.encode(storedRuntime))
            }
            guard let storedSchema, storedSchema <= schemaVersion, storedSchema >= 1 else {
                throw SQLiteStorageError.unsupportedSchema(found: storedSchema, supported: schemaVersion)
            }
            if storedSchema == 1 { try migrateToReferenceCounts(db, runtime: runtime, logger: logger) }
            return
        }
        // Leaves hold key and value; branches the split bit and their children's hashes.
        // `refs` counts the branches that link to a node plus one while a root names it; a
        // node whose count falls to zero is unreachable from every kept root (prune).
        try db.execute(
            sql: """
                CREATE TABLE nodes (
                    hash BLOB NOT NULL PRIMARY KEY,
                    kind INTEGER NOT NULL,
                    bit INTEGER,
                    left BLOB,
                    right BLOB,
                    key BLOB,
                    value BLOB,
                    refs INTEGER NOT NULL DEFAULT 0
                );
                CREATE TABLE roots (
                    root_type INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    round INTEGER NOT NULL,
                    PRIMARY KEY (root_type, hash, round)
                ) WITHOUT ROWID;
                CREATE INDEX roots_by_round ON roots (root_type, round);
                """)
        try db.execute(
            sql: "INSERT INTO meta (name, value) VALUES ('runtime_id', ?), ('schema_version', ?)",
            arguments: [Data(runtime.bytes), schemaVersion])
    }

    /// Schema 1 → 2: adds the reference counts that pruning needs, counted from the links and
    /// roots already stored, and the index of roots by round. One transaction: a crash leaves
    /// schema 1, and the next open migrates again.
    private static func migrateToReferenceCounts(_ db: Database, runtime: Namespace, logger: Logger) throws {
        try db.execute(
            sql: """
                ALTER TABLE nodes ADD COLUMN refs INTEGER NOT NULL DEFAULT 0;
                CREATE TEMP TABLE links (hash BLOB NOT NULL PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO temp.links (hash, n)
                    SELECT child, COUNT(*) FROM (
                        SELECT left AS child FROM nodes WHERE kind = \(StoredNodes.branchKind)
                        UNION ALL
                        SELECT right FROM nodes WHERE kind = \(StoredNodes.branchKind)
                    ) GROUP BY child;
                UPDATE nodes SET refs =
                    COALESCE((SELECT n FROM temp.links WHERE temp.links.hash = nodes.hash), 0)
                    + EXISTS (SELECT 1 FROM roots WHERE roots.root_type IN (1, 2) AND roots.hash = nodes.hash);
                DROP TABLE temp.links;
                CREATE INDEX roots_by_round ON roots (root_type, round);
                UPDATE meta SET value = 2 WHERE name = 'schema_version';
                """)
        let nodes = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM nodes") ?? 0
        logger.info(
            "storage schema migrated from 1 to 2 (reference counts for pruning)",
            metadata: ["runtime.id": "\(runtime)", "storage.nodes": "\(nodes)"])
    }

    private func database() throws -> DatabasePool {
        guard let pool = pool.withLock({ $0 }) else { throw StorageBackendError.closed }
        return pool
    }

    /// `body` in a read transaction on a WAL snapshot.
    private func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await withPool { try await $0.read(body) }
    }

    /// `body` in a write transaction.
    private func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await withPool { try await $0.write(body) }
    }

    /// `operation` on the pool. A call that took the pool just before ``cleanup()`` closed it
    /// meets the closed connection, and SQLite then reports `SQLite error 21: out of memory`:
    /// such a call fails with ``StorageBackendError/closed``, as one made after the cleanup does.
    private func withPool<T>(_ operation: (DatabasePool) async throws -> T) async throws -> T {
        let pool = try database()
        do {
            return try await operation(pool)
        } catch let error as DatabaseError {
            throw self.pool.withLock { $0 == nil } ? StorageBackendError.closed : error
        }
    }

    // MARK: Reads

    public func syncGet(_ request: SyncGetRequest) async throws -> ProofResponse {
        try checkRead(request.tree)
        return try await read { [namespace, nodeCache] db in
            let tree = try Self.tree(at: request.tree.root, namespace: namespace, in: db)
            return ProofResponse(proof: try tree.proveGet(request.key, nodes: StoredNodes(db: db, cache: nodeCache)))
        }
    }

    public func syncGetPrefixes(_ request: SyncGetPrefixesRequest) async throws -> ProofResponse {
        try checkRead(request.tree)
        return try await read { [namespace, nodeCache] db in
            let tree = try Self.tree(at: request.tree.root, namespace: namespace, in: db)
            return ProofResponse(
                proof: try tree.provePrefixes(
                    request.prefixes, limit: request.limit, nodes: StoredNodes(db: db, cache: nodeCache)))
        }
    }

    public func syncIterate(_ request: SyncIterateRequest) async throws -> ProofResponse {
        try checkRead(request.tree)
        return try await read { [namespace, nodeCache] db in
            let tree = try Self.tree(at: request.tree.root, namespace: namespace, in: db)
            return ProofResponse(
                proof: try tree.proveIterate(
                    from: request.key, prefetch: request.prefetch, nodes: StoredNodes(db: db, cache: nodeCache)))
        }
    }

    public func getDiff(_ request: GetDiffRequest) async throws -> WriteLog {
        try await read { [namespace, nodeCache] db in
            let start = try Self.tree(at: request.startRoot, namespace: namespace, in: db)
            let end = try Self.tree(at: request.endRoot, namespace: namespace, in: db)
            return try start.diff(
                to: end, offsetKey: request.options.offsetKey,
                limit: Int(clamping: request.options.limit), nodes: StoredNodes(db: db, cache: nodeCache))
        }
    }

    public func directEntries(at root: StorageRoot) async throws -> [WriteLogEntry] {
        try await read { [namespace, nodeCache] db in
            try Self.tree(at: root, namespace: namespace, in: db).iterate(nodes: StoredNodes(db: db, cache: nodeCache))
        }
    }

    /// Reads start at a tree's root; a position inside the tree is not supported yet.
    private func checkRead(_ tree: TreeID) throws {
        guard tree.position == .zero || tree.position == tree.root.hash else {
            throw StorageErrors.unsupported.wrapping(
                "reads from position \(tree.position) below root \(tree.root.hash)")
        }
    }

    /// The tree of a retained root: the empty root always, another root once applied.
    private static func tree(at root: StorageRoot, namespace: Namespace, in db: Database) throws -> MerkleTree {
        guard root.namespace == namespace else {
            throw StorageBackendError.namespaceMismatch(expected: namespace, got: root.namespace)
        }
        guard root.type == .state || root.type == .io else { throw StorageBackendError.invalidRootType(root.type) }
        guard try hasRoot(type: root.type, hash: root.hash, in: db) else {
            throw StorageBackendError.rootNotFound(root)
        }
        return MerkleTree(storedRoot: root.hash)
    }

    /// A root is found by type and hash: equal content has equal hash whatever round made it,
    /// so a root carried into a later round (an epoch-transition block) needs no copy.
    private static func hasRoot(type: RootType, hash: Hash, in db: Database) throws -> Bool {
        if hash == .empty { return true }
        let statement = try db.cachedStatement(sql: "SELECT 1 FROM roots WHERE root_type = ? AND hash = ? LIMIT 1")
        return try Bool.fetchOne(statement, arguments: [Int64(type.rawValue), Data(hash.bytes)]) != nil
    }

    /// Notes that the root `hash` of `type` is the tree of `round`. The first root row to name a
    /// hash (of either type) holds one reference to its node.
    private static func recordRoot(_ type: RootType, _ hash: Hash, round: UInt64, in db: Database) throws {
        let named = try isRootHash(hash, in: db)
        let record = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO roots (root_type, hash, round) VALUES (?, ?, ?)")
        try record.execute(arguments: [Int64(type.rawValue), Data(hash.bytes), Int64(round)])
        if !named, db.changesCount > 0 { try addReference(to: hash, in: db) }
    }

    /// Whether any root row, of either type, names `hash`.
    private static func isRootHash(_ hash: Hash, in db: Database) throws -> Bool {
        let statement = try db.cachedStatement(
            sql: "SELECT 1 FROM roots WHERE root_type IN (1, 2) AND hash = ? LIMIT 1")
        return try Bool.fetchOne(statement, arguments: [Data(hash.bytes)]) != nil
    }

    /// One more link or root to the node `hash`; nothing for a hash with no node (the empty root).
    private static func addReference(to hash: Hash, in db: Database) throws {
        let statement = try db.cachedStatement(sql: "UPDATE nodes SET refs = refs + 1 WHERE hash = ?")
        try statement.execute(arguments: [Data(hash.bytes)])
    }

    // MARK: Writes

    public func apply(_ request: ApplyRequest) async throws -> [Receipt] {
        try await write { [namespace, logger, nodeCache] db in
            try Self.apply(request, namespace: namespace, cache: nodeCache, in: db, logger: logger)
            return [
                Receipt(
                    body: StorageReceiptBody(
                        namespace: request.namespace, round: request.dstRound, rootTypes: [request.rootType],
                        roots: [request.dstRoot]))
            ]
        }
    }

    public func applyBatch(_ request: ApplyBatchRequest) async throws -> [Receipt] {
        guard !request.ops.isEmpty else { throw StorageErrors.noRoots }
        return try await write { [namespace, logger, nodeCache] db in
            for op in request.ops {
                try Self.apply(
                    request.request(for: op), namespace: namespace, cache: nodeCache, in: db, logger: logger)
            }
            return [
                Receipt(
                    body: StorageReceiptBody(
                        namespace: request.namespace, round: request.dstRound,
                        rootTypes: request.ops.map(\.rootType), roots: request.ops.map(\.dstRoot)))
            ]
        }
    }

    /// Applies one write log inside the caller's write transaction.
    private static func apply(
        _ request: ApplyRequest, namespace: Namespace, cache: NodeCache, in db: Database, logger: Logger
    ) throws {
        guard request.namespace == namespace else {
            throw StorageBackendError.namespaceMismatch(expected: namespace, got: request.namespace)
        }
        guard request.rootType == .state || request.rootType == .io else {
            throw StorageBackendError.invalidRootType(request.rootType)
        }
        // SQLite stores signed 64-bit integers: a larger round would be stored negative, and
        // then pruned as the oldest by any prune.
        for round in [request.srcRound, request.dstRound] where Int64(exactly: round) == nil {
            throw SQLiteStorageError.roundTooLarge(round)
        }
        guard request.srcRound <= request.dstRound else {
            throw StorageBackendError.roundWentBackwards(source: request.srcRound, destination: request.dstRound)
        }
        if try hasRoot(type: request.rootType, hash: request.dstRoot, in: db) {
            // Already have it: nothing to compute, only note the round.
            try recordRoot(request.rootType, request.dstRoot, round: request.dstRound, in: db)
            return
        }
        let source = StorageRoot(
            namespace: namespace, version: request.srcRound, type: request.rootType, hash: request.srcRoot)
        guard try hasRoot(type: request.rootType, hash: request.srcRoot, in: db) else {
            throw StorageBackendError.rootNotFound(source)
        }
        let nodes = StoredNodes(db: db, cache: cache)
        let tree = try MerkleTree(storedRoot: request.srcRoot).applying(request.writeLog, nodes: nodes)
        guard tree.hash == request.dstRoot else {
            throw StorageErrors.expectedRootMismatch.wrapping("expected \(request.dstRoot), got \(tree.hash)")
        }
        var written = 0
        let insert = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO nodes (hash, kind, bit, left, right, key, value, refs)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
        // Each node visited below the root is linked from exactly one new branch (its parent in
        // the new tree), so a new one starts with one reference; the root's comes from its row.
        try tree.forEachNodeInMemory { node in
            guard let record = node.record else { return false }
            let hash = Data(node.hash.bytes)
            let refs: Int64 = node.hash == tree.hash ? 0 : 1
            switch record {
            case .leaf(let key, let value):
                try insert.execute(arguments: [hash, StoredNodes.leafKind, nil, nil, nil, Data(key), Data(value), refs])
            case .branch(let bit, let left, let right):
                try insert.execute(arguments: [
                    hash, StoredNodes.branchKind, Int64(bit), Data(left.bytes), Data(right.bytes), nil, nil, refs,
                ])
            }
            guard db.changesCount > 0 else {
                // Already stored, with its whole subtree: one more link to it.
                if refs > 0 { try addReference(to: node.hash, in: db) }
                return false
            }
            written += 1
            // Children only known by hash are stored and are not visited: count the new link.
            if let links = node.links {
                if case .stored(let left) = links.left { try addReference(to: left, in: db) }
                if case .stored(let right) = links.right { try addReference(to: right, in: db) }
            }
            return true
        }
        try recordRoot(request.rootType, request.dstRoot, round: request.dstRound, in: db)
        logger.debug(
            "storage applied write log",
            metadata: [
                "runtime.id": "\(namespace)", "storage.round": "\(request.dstRound)",
                "storage.root_type": "\(request.rootType)",
                "storage.root": "\(request.dstRoot)", "storage.entries": "\(request.writeLog.count)",
                "storage.new_nodes": "\(written)",
            ])
    }

    // MARK: Pruning

    /// Root rows one prune transaction removes at most, so that an apply waits for at most one
    /// such transaction, however much there is to prune (a node that had never pruned its
    /// storage).
    static let pruneBatchSize = 256

    public func prune(before round: UInt64, keeping: Set<Hash>) async throws -> StoragePruneReport {
        try await prune(before: round, keeping: keeping, batchSize: Self.pruneBatchSize)
    }

    /// ``prune(before:keeping:)`` in write transactions of at most `batchSize` root rows each,
    /// oldest first, each with the nodes those rows alone reached.
    func prune(before round: UInt64, keeping: Set<Hash> = [], batchSize: Int) async throws -> StoragePruneReport {
        var report = StoragePruneReport()
        let kept = keeping.map { Data($0.bytes) }
        while true {
            let batch = try await write { db in
                try Self.pruneBatch(before: round, keeping: kept, limit: max(batchSize, 1), in: db)
            }
            report.roots += batch.roots
            report.nodes += batch.nodes
            if batch.roots > 0 { report.transactions += 1 }
            guard batch.roots == batchSize else { break }
        }
        logger.debug(
            "storage pruned",
            metadata: [
                "runtime.id": "\(namespace)", "storage.before_round": "\(round)",
                "storage.roots_removed": "\(report.roots)", "storage.nodes_removed": "\(report.nodes)",
                "storage.transactions": "\(report.transactions)",
            ])
        return report
    }

    /// Removes up to `limit` of the oldest root rows that `before: round` drops (but none of a
    /// hash in `keeping`), then every node whose count falls to zero, walking down from the
    /// roots that lost their last row. No stored round is above `Int64.max`, so a larger
    /// `round` prunes as `Int64.max` does.
    private static func pruneBatch(
        before round: UInt64, keeping: [Data], limit: Int, in db: Database
    ) throws -> StoragePruneReport {
        var report = StoragePruneReport()
        var released: [Hash] = []
        let spared = keeping.isEmpty ? "" : " AND hash NOT IN (\(keeping.map { _ in "?" }.joined(separator: ", ")))"
        let select = try db.cachedStatement(
            sql: "SELECT hash, round FROM roots WHERE root_type = ? AND round < ?\(spared) ORDER BY round LIMIT ?")
        let deleteRoot = try db.cachedStatement(sql: "DELETE FROM roots WHERE root_type = ? AND hash = ? AND round = ?")
        for type in [RootType.state, .io] where report.roots < limit {
            let kind = Int64(type.rawValue)
            guard
                let floor = try Int64.fetchOne(
                    db, sql: "SELECT MAX(round) FROM roots WHERE root_type = ? AND round <= ?",
                    arguments: [kind, Int64(clamping: round)])
            else { continue }
            let values: [any DatabaseValueConvertible] = [kind, floor] + keeping + [limit - report.roots]
            let rows = try Row.fetchAll(select, arguments: StatementArguments(values))
            var hashes: Set<Data> = []
            for row in rows {
                // Passed back as stored: a damaged row is deleted, not decoded into a trap.
                let hash: DatabaseValue = row[0]
                let rowRound: DatabaseValue = row[1]
                try deleteRoot.execute(arguments: [kind, hash, rowRound])
                report.roots += db.changesCount
                if let bytes = Data.fromDatabaseValue(hash) { hashes.insert(bytes) }
            }
            for data in hashes {
                let hash = try Hash(bytes: Array(data))
                if try !isRootHash(hash, in: db) { released.append(hash) }
            }
        }
        let release = try db.cachedStatement(sql: "UPDATE nodes SET refs = refs - 1 WHERE hash = ?")
        let read = try db.cachedStatement(sql: "SELECT refs, kind, left, right FROM nodes WHERE hash = ?")
        let delete = try db.cachedStatement(sql: "DELETE FROM nodes WHERE hash = ?")
        while let hash = released.popLast() {
            let key = Data(hash.bytes)
            try release.execute(arguments: [key])
            guard db.changesCount > 0, let row = try Row.fetchOne(read, arguments: [key]) else { continue }
            let (refs, kind) = try StoredNodes.decoding(hash) {
                (try row.storedInteger(at: 0, named: "refs"), try row.storedInteger(at: 1, named: "kind"))
            }
            guard refs <= 0 else { continue }
            try delete.execute(arguments: [key])
            report.nodes += 1
            if kind == StoredNodes.branchKind {
                released.append(try StoredNodes.childHash(row, 2, "left", of: hash))
                released.append(try StoredNodes.childHash(row, 3, "right", of: hash))
            }
        }
        return report
    }

    // MARK: Checkpoints

    /// Not supported yet: `storage: method not supported by backend`.
    public func getCheckpoints(_ request: GetCheckpointsRequest) async throws -> [CheckpointMetadata] {
        throw StorageErrors.unsupported.wrapping("checkpoints are not supported yet")
    }

    /// Not supported yet: `storage: method not supported by backend`.
    public func getCheckpointChunk(_ chunk: ChunkMetadata, to write: @Sendable ([UInt8]) async throws -> Void)
        async throws
    {
        throw StorageErrors.unsupported.wrapping("checkpoints are not supported yet")
    }

    // MARK: Lifecycle

    /// Closes the database; calls after this fail with ``StorageBackendError/closed``.
    /// Calling it again does nothing.
    public func cleanup() async {
        let taken = pool.withLock { current -> DatabasePool? in
            defer { current = nil }
            return current
        }
        guard let pool = taken else { return }
        do {
            try pool.close()
            logger.debug("storage closed", metadata: ["runtime.id": "\(namespace)"])
        } catch {
            logger.error(
                "storage did not close cleanly", metadata: ["runtime.id": "\(namespace)", "error": "\(error)"])
        }
    }

    /// Returns at once: the backend serves requests as soon as it is open.
    public func initialized() async throws {
        try Task.checkCancellation()
    }
}

/// The nodes table as a ``MerkleNodeSource`` for one transaction, through the backend's cache.
struct StoredNodes: MerkleNodeSource {
    static let leafKind: Int64 = 0
    static let branchKind: Int64 = 1

    let db: Database
    var cache: NodeCache?

    func node(_ hash: Hash) throws -> MerkleNode {
        if let cached = cache?.node(hash) { return cached }
        let node = try load(hash)
        cache?.insert(node)
        return node
    }

    private func load(_ hash: Hash) throws -> MerkleNode {
        let statement = try db.cachedStatement(
            sql: "SELECT kind, bit, left, right, key, value FROM nodes WHERE hash = ?")
        guard let row = try Row.fetchOne(statement, arguments: [Data(hash.bytes)]) else {
            throw MerkleError.missingNode(hash)
        }
        return try Self.decoding(hash) {
            switch try row.storedInteger(at: 0, named: "kind") {
            case Self.leafKind:
                return MerkleNode(
                    record: .leaf(key: try row.storedBlob(at: 4, named: "key"), value: try row.storedBlob(at: 5, named: "value")))
            case Self.branchKind:
                return MerkleNode(
                    record: .branch(
                        bit: try row.storedInteger(at: 1, named: "bit", as: UInt32.self),
                        left: try Self.childHash(row, 2, "left", of: hash),
                        right: try Self.childHash(row, 3, "right", of: hash)))
            case let kind:
                throw SQLiteStorageError.corruptNode(hash, "unknown kind \(kind)")
            }
        }
    }

    /// `decode`'s result, with a damaged column of node `hash`'s row reported as
    /// ``SQLiteStorageError/corruptNode(_:_:)``: the database comes from disk, so a damaged row
    /// fails the request, not the process.
    static func decoding<T>(_ hash: Hash, _ decode: () throws -> T) throws -> T {
        do {
            return try decode()
        } catch let mismatch as StoredValueMismatch {
            throw SQLiteStorageError.corruptNode(hash, "\(mismatch)")
        }
    }

    /// A branch's child hash from column `index`.
    static func childHash(_ row: Row, _ index: Int, _ name: String, of hash: Hash) throws -> Hash {
        let bytes = try decoding(hash) { try row.storedBlob(at: index, named: name) }
        guard let child = try? Hash(bytes: bytes) else {
            throw SQLiteStorageError.corruptNode(hash, "its \(name) child hash has \(bytes.count) bytes")
        }
        return child
    }
}

/// Why the SQLite storage could not be opened, or refused to store something.
public enum SQLiteStorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The database belongs to another runtime (its id in hex).
    case differentRuntime(expected: Namespace, found: String)
    /// The database has a schema this code does not know.
    case unsupportedSchema(found: Int64?, supported: Int64)
    /// An apply named a round above `Int64.max`; SQLite stores signed 64-bit integers.
    case roundTooLarge(UInt64)
    /// The stored row of a node (or of a root) cannot be read as one: the file is damaged.
    case corruptNode(Hash, String)

    public var description: String {
        switch self {
        case .differentRuntime(let expected, let found):
            "storage: database for different runtime (database is for \(found), opened for \(expected))"
        case .unsupportedSchema(let found, let supported):
            "storage: unsupported database schema version \(found.map(String.init) ?? "(missing)") (this build supports up to \(supported))"
        case .roundTooLarge(let round):
            "storage: round \(round) is above the largest storable round \(Int64.max)"
        case .corruptNode(let hash, let why):
            "storage: stored node \(hash) is corrupt: \(why)"
        }
    }
}

/// Trie nodes read lately, by hash, shared by every transaction of one backend.
///
/// A node is immutable and named by its hash, so a cached node is as good as a read one. Pruning
/// deletes only nodes that no kept root reaches, and every read starts at a kept root, so a
/// pruned node left in the cache is never asked for. Two generations: lookups hit the young one
/// or promote from the old one; when the young one is full it becomes the old one. A generation
/// is full at `capacity` nodes or `byteCapacity` bytes of keys and values, whichever comes
/// first, so at most `2 × capacity` nodes and about `2 × byteCapacity` bytes stay in memory
/// whatever sizes the runtime gives its values; a leaf larger than a whole generation is not
/// kept at all.
///
/// The cache is split into `shards` parts by the hash's first byte, each with its own lock and
/// its share of both capacities: every proof a runtime asks for walks the same top of the trie,
/// and with one lock the readers working on a batch's proofs at once queued on it. In
/// `node-bench` at 100 transactions per batch, spinning for that lock took 3.9 % of the
/// machine's samples; with 16 shards, 0.2 %. (Throughput moved within its noise there: that
/// pipeline waits more than it computes.)
final class NodeCache: Sendable {
    /// Nodes per generation. The top twelve levels of a trie hold 4,095 branches; both
    /// generations together took about 4 MiB in the soak (small keys and values).
    static let defaultCapacity = 4096
    /// Bytes of keys and values (plus a fixed overhead per node) per generation.
    static let defaultByteCapacity = 8 << 20
    /// What a node costs besides its key and value: the object, its hashes, the dictionary slot.
    static let nodeOverhead = 160
    /// The storage backend's number of shards.
    static let defaultShards = 16

    private struct Generations {
        var young: [Hash: MerkleNode] = [:]
        var youngBytes = 0
        var old: [Hash: MerkleNode] = [:]
        var hits = 0
        var misses = 0
    }

    /// One part of the cache, with its own lock.
    private final class Shard: Sendable {
        let state = Mutex(Generations())
    }

    /// Nodes per generation, over all shards.
    let capacity: Int
    /// Bytes per generation, over all shards.
    let byteCapacity: Int
    private let shardCapacity: Int
    private let shardByteCapacity: Int
    private let shards: [Shard]

    /// A cache of `capacity` nodes and `byteCapacity` bytes per generation, split into
    /// `shards` parts (at most 256, one per first byte of a hash); each part holds its share, so
    /// with several shards a leaf larger than one part's share of `byteCapacity` is not kept.
    init(capacity: Int, byteCapacity: Int = NodeCache.defaultByteCapacity, shards: Int = 1) {
        let count = min(max(shards, 1), 256)
        self.capacity = max(capacity, 1)
        self.byteCapacity = max(byteCapacity, 1)
        self.shardCapacity = max(self.capacity / count, 1)
        self.shardByteCapacity = max(self.byteCapacity / count, 1)
        self.shards = (0..<count).map { _ in Shard() }
    }

    private func shard(of hash: Hash) -> Shard {
        shards[Int(hash.raw.firstByte) % shards.count]
    }

    func node(_ hash: Hash) -> MerkleNode? {
        shard(of: hash).state.withLock { generations in
            if let node = generations.young[hash] {
                generations.hits += 1
                return node
            }
            guard let node = generations.old[hash] else {
                generations.misses += 1
                return nil
            }
            generations.hits += 1
            add(node, to: &generations)
            return node
        }
    }

    func insert(_ node: MerkleNode) {
        shard(of: node.hash).state.withLock { add(node, to: &$0) }
    }

    /// Lookups answered from the cache and not, since the backend opened.
    var statistics: (hits: Int, misses: Int) {
        shards.reduce((0, 0)) { total, shard in
            shard.state.withLock { (total.0 + $0.hits, total.1 + $0.misses) }
        }
    }

    /// The bytes a node is counted for.
    static func cost(of node: MerkleNode) -> Int {
        switch node.record {
        case .leaf(let key, let value): nodeOverhead + key.count + value.count
        case .branch, nil: nodeOverhead
        }
    }

    private func add(_ node: MerkleNode, to generations: inout Generations) {
        let cost = Self.cost(of: node)
        guard cost <= shardByteCapacity else { return }
        if generations.youngBytes + cost > shardByteCapacity { rotate(&generations) }
        guard generations.young.updateValue(node, forKey: node.hash) == nil else { return }
        generations.youngBytes += cost
        if generations.young.count >= shardCapacity { rotate(&generations) }
    }

    private func rotate(_ generations: inout Generations) {
        generations.old = generations.young
        generations.young = [:]
        generations.youngBytes = 0
    }
}
