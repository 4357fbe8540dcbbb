package import GRDB
import Synchronization

/// An open per-runtime store: the GRDB pool plus the closed flag every store needs.
///
/// Reads run on GRDB's reader connections (WAL: they never wait for a write); writes are
/// serialized on its writer. After ``close()`` every access fails with the store's own
/// "closed" error, also for an access that raced with the close.
package final class StorePool: Sendable {
    package let pool: DatabasePool
    private let isClosed = Mutex(false)
    private let closedError: @Sendable () -> any Error

    init(pool: DatabasePool, closedError: @escaping @Sendable () -> any Error) {
        self.pool = pool
        self.closedError = closedError
    }

    /// The database file.
    package var path: String { pool.path }

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

    /// Runs `body`, which must execute a **single** statement, on a reader connection without
    /// suspending: the statement's own implicit transaction gives it a consistent snapshot.
    ///
    /// For point lookups on the hot path. It blocks the calling thread for the lookup — a few
    /// microseconds of SQLite page-cache work, never a wait for a writer in WAL mode — which
    /// costs far less than the two thread hops of an asynchronous read (about 10× the lookup
    /// itself here). Longer reads use ``read(_:)``.
    package func lookup<T>(_ body: (Database) throws -> T) throws -> T {
        if closed { throw closedError() }
        do {
            return try pool.unsafeRead(body)
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
        if first { try pool.close() }
    }
}
