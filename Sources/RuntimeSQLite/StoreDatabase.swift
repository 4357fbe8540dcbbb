import Foundation
package import GRDB
public import OasisCommon

/// How hard SQLite works to keep a commit (`PRAGMA synchronous` in WAL mode).
package enum StoreDurability: Sendable, Hashable {
    /// `synchronous=NORMAL`: the WAL is written before a commit returns but fsynced only at
    /// checkpoints. A commit survives a crash of the process (`kill -9`); it may be lost, though
    /// never half-applied, if the machine loses power. For stores that can be rebuilt.
    case processCrash
    /// `synchronous=FULL`: the WAL is fsynced on every commit, so a commit also survives power
    /// loss and an OS crash. Matches badger's `SyncWrites` in oasis-core.
    case powerLoss

    var pragma: String {
        switch self {
        case .processCrash: "NORMAL"
        case .powerLoss: "FULL"
        }
    }
}

/// What a store's file holds and how its errors read.
package struct StoreDescriptor: Sendable {
    /// The store's kind as written into its stamp, e.g. `history`.
    package var kind: String
    /// The prefix of every error the store reports, e.g. `runtime/history`.
    package var errorPrefix: String
    /// The schema version this code writes.
    package var schemaVersion: Int64
    /// What a commit survives.
    package var durability: StoreDurability
    /// Creates the store's tables in a fresh file (inside the opening transaction).
    package var createSchema: @Sendable (Database) throws -> Void
    /// The step that brings a file of version `v` to `v + 1`, by `v`. An older file is migrated
    /// through every step up to ``schemaVersion`` inside the opening transaction, so a crash
    /// leaves it as it was.
    package var migrations: [Int64: @Sendable (Database) throws -> Void]

    /// A store's description.
    package init(kind: String, errorPrefix: String, schemaVersion: Int64, durability: StoreDurability,
                 migrations: [Int64: @Sendable (Database) throws -> Void] = [:],
                 createSchema: @escaping @Sendable (Database) throws -> Void) {
        self.kind = kind
        self.errorPrefix = errorPrefix
        self.schemaVersion = schemaVersion
        self.durability = durability
        self.migrations = migrations
        self.createSchema = createSchema
    }

    /// The steps from `version` to ``schemaVersion``, in order; nil when there is no way there
    /// (a newer version, or a step missing).
    func migrationSteps(from version: Int64) -> [@Sendable (Database) throws -> Void]? {
        guard version >= 1, version <= schemaVersion else { return nil }
        var steps: [@Sendable (Database) throws -> Void] = []
        for from in version..<schemaVersion {
            guard let step = migrations[from] else { return nil }
            steps.append(step)
        }
        return steps
    }
}

/// Why a store could not be opened. Each store reports it under its own error prefix.
public struct StoreOpenError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Hashable, Sendable {
        /// SQLite could not open or read the file.
        case openFailed(String)
        /// The file was written by another (newer) schema version.
        case unsupportedVersion(expected: Int64, got: Int64)
        /// The file belongs to another runtime.
        case differentRuntime(expected: Namespace, got: Namespace)
        /// The file holds another kind of store.
        case wrongStore(expected: String, got: String)
    }

    /// What went wrong.
    public var reason: Reason
    /// The database file.
    public var path: String
    /// The store's error prefix, e.g. `runtime/history`.
    public var prefix: String

    /// An open error.
    public init(reason: Reason, path: String, prefix: String) {
        self.reason = reason
        self.path = path
        self.prefix = prefix
    }

    public var description: String {
        switch reason {
        case .openFailed(let why):
            "\(prefix): failed to open database: \(path): \(why)"
        case .unsupportedVersion(let expected, let got):
            "\(prefix): unsupported database version (expected: \(expected) got: \(got)): \(path) was "
                + "written by another release; run that release or move the file away"
        case .differentRuntime(let expected, let got):
            "\(prefix): database for different runtime (expected: \(expected) got: \(got)): \(path) "
                + "belongs to runtime \(got); give each runtime its own state directory"
        case .wrongStore(let expected, let got):
            "\(prefix): \(path) holds a \(got) store, not a \(expected) store; check the file name"
        }
    }
}

/// Opens the per-runtime SQLite stores: one `DatabasePool` in WAL mode per file, stamped with
/// the store kind, the runtime id and the schema version on creation and checked on every open
/// (an older schema is migrated).
package enum StoreDatabase {
    /// Opens (creating if needed) `directory/fileName` for `runtimeID`.
    ///
    /// The stamp check runs in one immediate transaction, so two openers racing on a fresh
    /// file cannot both create it. On any failure the pool is closed before the error is thrown.
    /// `closedError` is what accesses throw after the store is closed.
    package static func open(
        directory: String, fileName: String, runtimeID: Namespace, descriptor: StoreDescriptor,
        closedError: @escaping @Sendable () -> any Error
    ) throws(StoreOpenError) -> StorePool {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        var configuration = Configuration()
        configuration.label = "\(descriptor.kind) \(runtimeID)"
        func failure(_ reason: StoreOpenError.Reason) -> StoreOpenError {
            StoreOpenError(reason: reason, path: path, prefix: descriptor.errorPrefix)
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw failure(.openFailed(String(describing: error)))
        }
        // The reason the stamp is refused, or nil when the file is ours.
        let refusal: StoreOpenError.Reason?
        do {
            refusal = try pool.writeWithoutTransaction { db in
                // Only the writer connection commits. GRDB sets NORMAL when it enables WAL, after
                // `prepareDatabase` has run, so the store's setting is applied here.
                try db.execute(sql: "PRAGMA synchronous = \(descriptor.durability.pragma)")
                var refusal: StoreOpenError.Reason?
                try db.inTransaction(.immediate) {
                    refusal = try checkStamp(db, runtimeID: runtimeID, descriptor: descriptor)
                    return refusal == nil ? .commit : .rollback
                }
                return refusal
            }
        } catch {
            refusal = .openFailed(String(describing: error))
        }
        if let refusal {
            try? pool.close()
            throw failure(refusal)
        }
        do {
            return try StorePool(pool: pool, closedError: closedError)
        } catch {
            try? pool.close()
            throw failure(.openFailed(String(describing: error)))
        }
    }

    private static func checkStamp(
        _ db: Database, runtimeID: Namespace, descriptor: StoreDescriptor
    ) throws -> StoreOpenError.Reason? {
        guard try db.tableExists("store_meta") else {
            try db.execute(sql: """
                CREATE TABLE store_meta(
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    store TEXT NOT NULL,
                    runtime_id BLOB NOT NULL,
                    schema_version INTEGER NOT NULL)
                """)
            try db.execute(
                sql: "INSERT INTO store_meta(id, store, runtime_id, schema_version) VALUES (1, ?, ?, ?)",
                arguments: [descriptor.kind, Data(runtimeID.bytes), descriptor.schemaVersion])
            try descriptor.createSchema(db)
            return nil
        }
        guard let row = try Row.fetchOne(db, sql: "SELECT store, runtime_id, schema_version FROM store_meta")
        else {
            return .openFailed("the store_meta table has no row")
        }
        let kind: String
        let idBytes: [UInt8]
        let version: Int64
        do {
            kind = try row.storedText("store")
            idBytes = try row.storedBlob("runtime_id")
            version = try row.storedInteger("schema_version")
        } catch {
            return .openFailed("the store_meta row is damaged: \(error)")
        }
        if kind != descriptor.kind {
            return .wrongStore(expected: descriptor.kind, got: kind)
        }
        // An older file is migrated below, once it is known to be this runtime's.
        guard let steps = descriptor.migrationSteps(from: version) else {
            return .unsupportedVersion(expected: descriptor.schemaVersion, got: version)
        }
        guard let stored = try? Namespace(bytes: idBytes) else {
            return .openFailed("the stored runtime id is not 32 bytes")
        }
        if stored != runtimeID {
            return .differentRuntime(expected: runtimeID, got: stored)
        }
        if !steps.isEmpty {
            for step in steps { try step(db) }
            try db.execute(
                sql: "UPDATE store_meta SET schema_version = ? WHERE id = 1", arguments: [descriptor.schemaVersion])
        }
        return nil
    }
}


