import Foundation
import GRDB
public import Logging
public import OasisCommon
public import RuntimeSQLite

/// Why a local storage operation failed.
public enum LocalStorageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An empty key (v21.1's exact message).
    case invalidKey
    /// A value above ``RuntimeLocalStorage/maxValueSize``.
    case valueTooLarge(size: Int)
    /// The database could not be opened, or belongs to another runtime or schema.
    case open(StoreOpenError)
    /// SQLite failed.
    case database(String)
    /// The store was closed.
    case closed

    public var description: String {
        switch self {
        case .invalidKey:
            "invalid local storage key"
        case .valueTooLarge(let size):
            "runtime/localstorage: value of \(size) bytes is above the limit of \(RuntimeLocalStorage.maxValueSize) "
                + "bytes; store large data in the runtime's state instead"
        case .open(let error):
            error.description
        case .database(let why):
            "runtime/localstorage: \(why)"
        case .closed:
            "runtime/localstorage: the local storage is closed"
        }
    }
}

/// A runtime's private key-value store (oasis-core's `go/runtime/localstorage`), kept in
/// `local-storage.sqlite` in the runtime's state directory. The runtime reaches it through the
/// host's `HostLocalStorageGet/Set` requests.
///
/// Keys are stored exactly as given — the separate file per runtime is the only isolation.
/// A missing key reads as an empty value, so storing an empty value and deleting look the same.
/// Writes are fsynced before `set` returns (`synchronous=FULL`); reads never wait for a write.
public final class RuntimeLocalStorage: Sendable {
    /// The database file name inside the runtime's state directory.
    public static let fileName = "local-storage.sqlite"
    /// The largest value accepted: 16 MiB.
    public static let maxValueSize = 16 << 20
    static let schemaVersion: Int64 = 1

    static let descriptor = StoreDescriptor(
        kind: "local-storage", errorPrefix: "runtime/localstorage", schemaVersion: schemaVersion,
        durability: .powerLoss
    ) { db in
        // A rowid table: values may be large, which WITHOUT ROWID tables handle badly.
        try db.execute(sql: "CREATE TABLE entries(key BLOB NOT NULL UNIQUE, value BLOB NOT NULL)")
    }

    /// The runtime this store belongs to (checked against the file on open).
    public let runtimeID: Namespace
    private let store: StorePool
    private let logger: Logger

    /// Opens (creating if needed) the local storage of `runtimeID` in `directory`.
    public init(directory: String, runtimeID: Namespace, logger: Logger) throws(LocalStorageError) {
        var logger = logger
        logger[metadataKey: "runtime.id"] = "\(runtimeID)"
        self.logger = logger
        self.runtimeID = runtimeID
        do {
            store = try StoreDatabase.open(
                directory: directory, fileName: Self.fileName, runtimeID: runtimeID, descriptor: Self.descriptor,
                closedError: { LocalStorageError.closed })
        } catch {
            throw .open(error)
        }
    }

    /// The value of `key`; empty when the key was never set. An empty key fails with
    /// `invalid local storage key`.
    public func get(_ key: [UInt8]) async throws -> [UInt8] {
        guard !key.isEmpty else { throw LocalStorageError.invalidKey }
        let keyData = Data(key)
        do {
            return try await store.read { db in
                let rows = try Row.fetchCursor(
                    db.cachedStatement(sql: "SELECT value FROM entries WHERE key = ?"), arguments: [keyData])
                guard let row = try rows.next() else { return [] }
                return try row.withUnsafeData(atIndex: 0) { $0.map { [UInt8]($0) } ?? [] }
            }
        } catch {
            throw mapError(error, operation: "get")
        }
    }

    /// Stores `value` under `key`, replacing any previous value. An empty key fails with
    /// `invalid local storage key`; values above 16 MiB are refused.
    public func set(_ key: [UInt8], _ value: [UInt8]) async throws {
        guard !key.isEmpty else { throw LocalStorageError.invalidKey }
        guard value.count <= Self.maxValueSize else { throw LocalStorageError.valueTooLarge(size: value.count) }
        let keyData = Data(key)
        let valueData = Data(value)
        do {
            try await store.write { db in
                try db.cachedStatement(sql: """
                    INSERT INTO entries(key, value) VALUES (?, ?)
                    ON CONFLICT(key) DO UPDATE SET value = excluded.value
                    """).execute(arguments: [keyData, valueData])
            }
        } catch {
            throw mapError(error, operation: "set")
        }
    }

    /// Closes the database. Idempotent; later calls fail with `LocalStorageError.closed`.
    public func close() {
        do {
            try store.close()
        } catch {
            logger.error("closing the local storage failed", metadata: ["error": "\(error)"])
        }
    }

    /// The writer's `PRAGMA synchronous`, for tests.
    func writerSynchronous() throws -> Int { try store.writerSynchronous() }

    private func mapError(_ error: any Error, operation: String) -> any Error {
        if error is LocalStorageError || error is CancellationError { return error }
        logger.error("local storage \(operation) failed", metadata: ["error": "\(error)"])
        return LocalStorageError.database("\(operation) failed: \(error)")
    }
}
