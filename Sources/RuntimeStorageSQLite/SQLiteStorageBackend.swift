import ConsensusAPI
import Foundation
import GRDB
import OasisCBOR
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
public final class SQLiteStorageBackend: StorageBackend {
    /// The database's file name in the runtime's state directory.
    public static let fileName = "storage.sqlite"
    /// The schema this code writes; a database with a newer one is refused.
    public static let schemaVersion: Int64 = 1

    /// The runtime this backend stores.
    public let namespace: Namespace
    /// The database file.
    public let path: String
    private let pool: Mutex<DatabasePool?>
    private let logger: Logger

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
            try pool.write { db in try Self.prepareSchema(db, runtime: runtime) }
        } catch {
            try? pool.close()
            throw error
        }
        self.pool = Mutex(pool)
        logger.debug("storage opened", metadata: ["runtime.id": "\(runtime)", "storage.path": "\(path)"])
    }

    private static func prepareSchema(_ db: Database, runtime: Namespace) throws {
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
            guard let storedSchema, storedSchema <= schemaVersion else {
                throw SQLiteStorageError.unsupportedSchema(found: storedSchema, supported: schemaVersion)
            }
            return
        }
        // Leaves hold key and value; branches the split bit and their children's hashes.
        try db.execute(
            sql: """
                CREATE TABLE nodes (
                    hash BLOB NOT NULL PRIMARY KEY,
                    kind INTEGER NOT NULL,
                    bit INTEGER,
                    left BLOB,
                    right BLOB,
                    key BLOB,
                    value BLOB
                );
                CREATE TABLE roots (
                    root_type INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    round INTEGER NOT NULL,
                    PRIMARY KEY (root_type, hash, round)
                ) WITHOUT ROWID;
                """)
        try db.execute(
            sql: "INSERT INTO meta (name, value) VALUES ('runtime_id', ?), ('schema_version', ?)",
            arguments: [Data(runtime.bytes), schemaVersion])
    }

    private func database() throws -> DatabasePool {
        guard let pool = pool.withLock({ $0 }) else { throw StorageBackendError.closed }
        return pool
    }

    // MARK: Reads

    public func syncGet(_ request: SyncGetRequest) async throws -> ProofResponse {
        try checkRead(request.tree)
        return try await database().read { [namespace] db in
            let tree = try Self.tree(at: request.tree.root, namespace: namespace, in: db)
            return ProofResponse(proof: try tree.proveGet(request.key, nodes: StoredNodes(db: db)))
        }
    }

    public func syncGetPrefixes(_ request: SyncGetPrefixesRequest) async throws -> ProofResponse {
        try checkRead(request.tree)
        return try await database().read { [namespace] db in
            let tree = try Self.tree(at: request.tree.root, namespace: namespace, in: db)
            return ProofResponse(
                proof: try tree.provePrefixes(request.prefixes, limit: request.limit, nodes: StoredNodes(db: db)))
        }
    }

    public func syncIterate(_ request: SyncIterateRequest) async throws -> ProofResponse {
        try checkRead(request.tree)
        return try await database().read { [namespace] db in
            let tree = try Self.tree(at: request.tree.root, namespace: namespace, in: db)
            return ProofResponse(
                proof: try tree.proveIterate(from: request.key, prefetch: request.prefetch, nodes: StoredNodes(db: db)))
        }
    }

    public func getDiff(_ request: GetDiffRequest) async throws -> WriteLog {
        try await database().read { [namespace] db in
            let start = try Self.tree(at: request.startRoot, namespace: namespace, in: db)
            let end = try Self.tree(at: request.endRoot, namespace: namespace, in: db)
            return try start.diff(
                to: end, offsetKey: request.options.offsetKey,
                limit: Int(clamping: request.options.limit), nodes: StoredNodes(db: db))
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

    // MARK: Writes

    public func apply(_ request: ApplyRequest) async throws -> [Receipt] {
        try await database().write { [namespace, logger] db in
            try Self.apply(request, namespace: namespace, in: db, logger: logger)
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
        return try await database().write { [namespace, logger] db in
            for op in request.ops {
                try Self.apply(request.request(for: op), namespace: namespace, in: db, logger: logger)
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
    private static func apply(_ request: ApplyRequest, namespace: Namespace, in db: Database, logger: Logger) throws {
        guard request.namespace == namespace else {
            throw StorageBackendError.namespaceMismatch(expected: namespace, got: request.namespace)
        }
        guard request.rootType == .state || request.rootType == .io else {
            throw StorageBackendError.invalidRootType(request.rootType)
        }
        guard request.srcRound <= request.dstRound else {
            throw StorageBackendError.roundWentBackwards(source: request.srcRound, destination: request.dstRound)
        }
        let recordRoot = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO roots (root_type, hash, round) VALUES (?, ?, ?)")
        let rootArguments: StatementArguments = [
            Int64(request.rootType.rawValue), Data(request.dstRoot.bytes), Int64(bitPattern: request.dstRound),
        ]
        if try hasRoot(type: request.rootType, hash: request.dstRoot, in: db) {
            // Already have it: nothing to compute, only note the round.
            try recordRoot.execute(arguments: rootArguments)
            return
        }
        let source = StorageRoot(
            namespace: namespace, version: request.srcRound, type: request.rootType, hash: request.srcRoot)
        guard try hasRoot(type: request.rootType, hash: request.srcRoot, in: db) else {
            throw StorageBackendError.rootNotFound(source)
        }
        let nodes = StoredNodes(db: db)
        let tree = try MerkleTree(storedRoot: request.srcRoot).applying(request.writeLog, nodes: nodes)
        guard tree.hash == request.dstRoot else {
            throw StorageErrors.expectedRootMismatch.wrapping("expected \(request.dstRoot), got \(tree.hash)")
        }
        var written = 0
        let insert = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO nodes (hash, kind, bit, left, right, key, value) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
        try tree.forEachNodeInMemory { node in
            guard let record = node.record else { return false }
            let hash = Data(node.hash.bytes)
            switch record {
            case .leaf(let key, let value):
                try insert.execute(arguments: [hash, StoredNodes.leafKind, nil, nil, nil, Data(key), Data(value)])
            case .branch(let bit, let left, let right):
                try insert.execute(arguments: [
                    hash, StoredNodes.branchKind, Int64(bit), Data(left.bytes), Data(right.bytes), nil, nil,
                ])
            }
            // A node already stored brings its whole subtree with it.
            guard db.changesCount > 0 else { return false }
            written += 1
            return true
        }
        try recordRoot.execute(arguments: rootArguments)
        logger.debug(
            "storage applied write log",
            metadata: [
                "runtime.id": "\(namespace)", "storage.round": "\(request.dstRound)",
                "storage.root_type": "\(request.rootType)",
                "storage.root": "\(request.dstRoot)", "storage.entries": "\(request.writeLog.count)",
                "storage.new_nodes": "\(written)",
            ])
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

/// The nodes table as a ``MerkleNodeSource`` for one transaction.
struct StoredNodes: MerkleNodeSource {
    static let leafKind: Int64 = 0
    static let branchKind: Int64 = 1

    let db: Database

    func node(_ hash: Hash) throws -> MerkleNode {
        let statement = try db.cachedStatement(
            sql: "SELECT kind, bit, left, right, key, value FROM nodes WHERE hash = ?")
        guard let row = try Row.fetchOne(statement, arguments: [Data(hash.bytes)]) else {
            throw MerkleError.missingNode(hash)
        }
        let kind: Int64 = row[0]
        if kind == Self.leafKind {
            let key: Data = row[4]
            let value: Data = row[5]
            return MerkleNode(record: .leaf(key: Array(key), value: Array(value)))
        }
        let bit: Int64 = row[1]
        let left: Data = row[2]
        let right: Data = row[3]
        return MerkleNode(
            record: .branch(
                bit: UInt32(truncatingIfNeeded: bit), left: try Hash(bytes: Array(left)),
                right: try Hash(bytes: Array(right))))
    }
}

/// Why the SQLite storage could not be opened.
public enum SQLiteStorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The database belongs to another runtime (its id in hex).
    case differentRuntime(expected: Namespace, found: String)
    /// The database has a schema this code does not know.
    case unsupportedSchema(found: Int64?, supported: Int64)

    public var description: String {
        switch self {
        case .differentRuntime(let expected, let found):
            "storage: database for different runtime (database is for \(found), opened for \(expected))"
        case .unsupportedSchema(let found, let supported):
            "storage: unsupported database schema version \(found.map(String.init) ?? "(missing)") (this build supports up to \(supported))"
        }
    }
}
