import ConsensusAPI
import Foundation
import GRDB
import Logging
import OasisCommon
import RuntimeStorage
import Testing

@testable import RuntimeStorageSQLite

/// `storage.sqlite` comes from disk: a damaged row must fail the request that meets it with an
/// error, never stop the process.
@Suite("SQLite storage with a damaged database")
struct StorageCorruptionTests {
    let logger = Logger(label: "storage-corruption-tests")

    /// Stores `a`, `b` at round 1 and `b` alone at round 2, closes the backend, runs `damage` on
    /// the file, reopens it and runs `body` with round 1's and round 2's roots.
    func withDamagedDatabase(
        _ damage: String, _ body: (SQLiteStorageBackend, StorageRoot, StorageRoot) async throws -> Void
    ) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var backend = try SQLiteStorageBackend(directory: directory, runtime: runtimeA, logger: logger)
        let first: WriteLog = [WriteLogEntry(key: bytes("a"), value: bytes("1")), WriteLogEntry(key: bytes("b"), value: bytes("2"))]
        let second: WriteLog = [WriteLogEntry(key: bytes("a"), value: [])]
        let firstRoot = try MerkleTree().applying(first).hash
        let secondRoot = try MerkleTree().applying(first + second).hash
        _ = try await backend.apply(ApplyRequest(
            namespace: runtimeA, rootType: .state, srcRound: 0, srcRoot: .empty, dstRound: 1, dstRoot: firstRoot,
            writeLog: first))
        _ = try await backend.apply(ApplyRequest(
            namespace: runtimeA, rootType: .state, srcRound: 1, srcRoot: firstRoot, dstRound: 2, dstRoot: secondRoot,
            writeLog: second))
        await backend.cleanup()
        let queue = try DatabaseQueue(path: backend.path)
        try await queue.write { db in try db.execute(sql: damage) }
        try queue.close()

        backend = try SQLiteStorageBackend(directory: directory, runtime: runtimeA, logger: logger)
        do {
            try await body(
                backend, StorageRoot(namespace: runtimeA, version: 1, type: .state, hash: firstRoot),
                StorageRoot(namespace: runtimeA, version: 2, type: .state, hash: secondRoot))
        } catch {
            await backend.cleanup()
            throw error
        }
        await backend.cleanup()
    }

    @Test("a leaf stored without its key or value fails the read with storage: stored node … is corrupt")
    func leafWithNullColumns() async throws {
        for column in ["key", "value"] {
            try await withDamagedDatabase("UPDATE nodes SET \(column) = NULL WHERE kind = 0") { backend, first, _ in
                let request = SyncGetRequest(tree: TreeID(root: first), key: bytes("a"))
                let error = await #expect(throws: SQLiteStorageError.self) { try await backend.syncGet(request) }
                #expect(error?.description.hasPrefix("storage: stored node ") == true, "\(column)")
                #expect(error?.description.contains("is corrupt: its column \(column) holds NULL, not a blob") == true, "\(column)")
            }
        }
    }

    @Test("a branch stored without a child, with an unknown kind or an out-of-range bit fails the read")
    func damagedBranch() async throws {
        let damages = [
            "UPDATE nodes SET left = NULL WHERE kind = 1",
            "UPDATE nodes SET bit = NULL WHERE kind = 1",
            "UPDATE nodes SET bit = 4294967296 WHERE kind = 1",
            "UPDATE nodes SET kind = 7 WHERE kind = 1",
        ]
        for damage in damages {
            try await withDamagedDatabase(damage) { backend, first, _ in
                await #expect(throws: SQLiteStorageError.self, "\(damage)") { try await backend.entries(at: first) }
            }
        }
    }

    @Test("pruning that meets a branch without a child fails with an error and keeps the database as it was")
    func pruneThroughDamagedBranch() async throws {
        try await withDamagedDatabase("UPDATE nodes SET right = NULL WHERE kind = 1") { backend, _, second in
            await #expect(throws: SQLiteStorageError.self) { try await backend.prune(before: 2) }
            // The failed prune transaction rolled back: round 2 (a single leaf) still reads.
            let entries = try await backend.entries(at: second)
            #expect(entries == [WriteLogEntry(key: bytes("b"), value: bytes("2"))])
        }
    }
}
