package import GRDB
import Synchronization

/// An open per-runtime store: the GRDB pool plus the closed flag every store needs.
///
/// Reads run on GRDB's reader connections (WAL: they never wait for a write); writes are
/// serialized on its writer. After ``close()`` every access fails with the store's own
/// "closed" error, also for an access that raced with the close.
package final class StorePool: Sendable {
    /// The writer and pooled readers.
    package let pool: DatabasePool
    /// Read-only connections for ``lookup(_:)``, used round robin.
    private let lookupConnections: [DatabaseQueue]
    private let nextLookup = Atomic<Int>(0)
    private let isClosed = Mutex(false)
    private let closedError: @Sendable () -> any Error

    /// The number of connections kept for point lookups.
    static let lookupConnectionCount = 4

    init(pool: DatabasePool, closedError: @escaping @Sendable () -> any Error) throws {
        self.pool = pool
        self.closedError = closedError
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = pool.configuration.label.map { "\($0) lookup" }
        lookupConnections = try (0..<Self.lookupConnectionCount).map { _ in
            try DatabaseQueue(path: pool.path, configuration: configuration)
        }
    }

    /// The database file.
    package var path: String { pool.path }

    /// Whether ``close()`` was called.
    package var closed: Bool { isClosed.withLock { $0 } }

    /// Runs `body` in a read transaction.
    package func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if closed { throw closedError() }
        do {
            return try await pool.read(body)
        } catch {
            throw closed ? closedError() : error
        }
    }

    /// Runs `body`, which must execute a **single** statement, without suspending and without
    /// a transaction: the statement's own implicit transaction gives it a consistent snapshot.
    ///
    /// For point lookups on the hot path. It runs on one of a few dedicated read-only
    /// connections and blocks the calling thread for the lookup — microseconds of SQLite work,
    /// never a wait for a writer in WAL mode. Profiling showed the alternatives costing several
    /// times the lookup itself: an async read pays two thread hops, and a pooled read a
    /// transaction, a savepoint, a schema check and a pool checkout. Longer reads use
    /// ``read(_:)``.
    package func lookup<T>(_ body: (Database) throws -> T) throws -> T {
        if closed { throw closedError() }
        let ticket = UInt(bitPattern: nextLookup.wrappingAdd(1, ordering: .relaxed).oldValue)
        let connection = lookupConnections[Int(ticket % UInt(lookupConnections.count))]
        do {
            return try connection.inDatabase(body)
        } catch {
            throw closed ? closedError() : error
        }
    }

    /// Runs `body` in a write transaction, then `afterCommit` on the writer queue, so whatever
    /// `afterCommit` publishes comes out in commit order.
    @discardableResult
    package func write<T: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> T,
        afterCommit: @escaping @Sendable (T) -> Void = { _ in }
    ) async throws -> T {
        if closed { throw closedError() }
        do {
            return try await pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction {
                    result = try body(db)
                    return .commit
                }
                // `inTransaction` returned normally, so `body` ran and the transaction committed.
                afterCommit(result!)
                return result!
            }
        } catch {
            throw closed ? closedError() : error
        }
    }

    /// The writer connection's `PRAGMA synchronous` (1 NORMAL, 2 FULL), for tests.
    package func writerSynchronous() throws -> Int {
        try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Closes the connections the first time; later calls do nothing.
    package func close() throws {
        let first = isClosed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        for connection in lookupConnections { try? connection.close() }
        try pool.close()
    }
}
