import ConsensusAPI
import Foundation
import Logging
import OasisCommon
import RuntimeStorage
import RuntimeStorageSQLite
import Testing

@Suite("SQLite storage backend")
struct SQLiteStorageBackendTests {
    let logger = Logger(label: "storage-tests")

    func open(_ directory: String, runtime: Namespace = runtimeA) throws -> SQLiteStorageBackend {
        try SQLiteStorageBackend(directory: directory, runtime: runtime, logger: logger)
    }

    /// Applies `log` to `(round - 1, source)` giving round `round`; returns the new root.
    @discardableResult
    func apply(_ backend: SQLiteStorageBackend, _ log: WriteLog, from source: Hash, round: UInt64,
               type: RootType = .state) async throws -> Hash {
        let expected = try MerkleTree().applying(try await backend.entries(at: root(source, round: round - 1, type: type)) + log).hash
        _ = try await backend.apply(ApplyRequest(namespace: backend.namespace, rootType: type, srcRound: round - 1,
                                                 srcRoot: source, dstRound: round, dstRoot: expected, writeLog: log))
        return expected
    }

    /// Runs `body` on a backend in a fresh directory, then closes it and removes the directory.
    func withBackend(_ body: (SQLiteStorageBackend) async throws -> Void) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backend = try open(directory)
        do {
            try await body(backend)
        } catch {
            await backend.cleanup()
            throw error
        }
        await backend.cleanup()
    }

    func root(_ hash: Hash, round: UInt64, type: RootType = .state, runtime: Namespace = runtimeA) -> StorageRoot {
        StorageRoot(namespace: runtime, version: round, type: type, hash: hash)
    }

    @Test("apply stores the round and reads at that root come with proofs that verify")
    func applyAndRead() async throws {
        try await withBackend { backend in
            let log: WriteLog = [WriteLogEntry(key: bytes("a"), value: bytes("1")), WriteLogEntry(key: bytes("b"), value: bytes("2"))]
            let expected = try MerkleTree().applying(log).hash
            let receipts = try await backend.apply(ApplyRequest(
                namespace: runtimeA, rootType: .state, srcRound: 0, srcRoot: .empty, dstRound: 1, dstRoot: expected, writeLog: log))
            #expect(receipts == [Receipt(body: StorageReceiptBody(namespace: runtimeA, round: 1, rootTypes: [.state], roots: [expected]))])
            #expect(receipts.first?.signature == nil)
            #expect(throws: StorageErrors.cantProve) { try receipts.first?.requireSigned() }

            let request = SyncGetRequest(tree: TreeID(root: root(expected, round: 1), position: expected), key: bytes("b"))
            #expect(try await backend.syncGet(request).verify(request) == bytes("2"))
            let absent = SyncGetRequest(tree: TreeID(root: root(expected, round: 1)), key: bytes("c"))
            #expect(try await backend.syncGet(absent).verify(absent) == nil)
            let iterate = SyncIterateRequest(tree: TreeID(root: root(expected, round: 1)), key: [], prefetch: 10)
            #expect(try await backend.syncIterate(iterate).verify(iterate) == log)
            let prefixes = SyncGetPrefixesRequest(tree: TreeID(root: root(expected, round: 1)), prefixes: [bytes("a")], limit: 5)
            #expect(try await backend.syncGetPrefixes(prefixes).verify(prefixes) == [log[0]])
            // The empty root is always there.
            #expect(try await backend.entries(at: root(.empty, round: 0)) == [])
        }
    }

    @Test("apply whose result differs from the expected root fails with storage: expected root mismatch and stores nothing")
    func rootMismatch() async throws {
        try await withBackend { backend in
            let log: WriteLog = [WriteLogEntry(key: bytes("a"), value: bytes("1"))]
            let wrong = try MerkleTree().applying([WriteLogEntry(key: bytes("a"), value: bytes("2"))]).hash
            let error = await #expect(throws: CodedError.self) {
                try await backend.apply(ApplyRequest(namespace: runtimeA, rootType: .state, srcRound: 0, srcRoot: .empty,
                                                     dstRound: 1, dstRoot: wrong, writeLog: log))
            }
            #expect(error?.matches(StorageErrors.expectedRootMismatch) == true)
            #expect(error?.message == "storage: expected root mismatch")
            await #expect(throws: StorageBackendError.rootNotFound(root(wrong, round: 1))) {
                try await backend.syncGet(SyncGetRequest(tree: TreeID(root: root(wrong, round: 1)), key: bytes("a")))
            }
        }
    }

    @Test("apply batch stores all operations of a round or none of them")
    func applyBatchAtomic() async throws {
        try await withBackend { backend in
            let io: WriteLog = [WriteLogEntry(key: bytes("tx"), value: bytes("in"))]
            let state: WriteLog = [WriteLogEntry(key: bytes("k"), value: bytes("v"))]
            let ioRoot = try MerkleTree().applying(io).hash
            let stateRoot = try MerkleTree().applying(state).hash
            let good = ApplyOp(rootType: .io, srcRound: 1, srcRoot: .empty, dstRoot: ioRoot, writeLog: io)
            let bad = ApplyOp(rootType: .state, srcRound: 0, srcRoot: .empty, dstRoot: ioRoot, writeLog: state)
            await #expect(throws: CodedError.self) {
                try await backend.applyBatch(ApplyBatchRequest(namespace: runtimeA, dstRound: 1, ops: [good, bad]))
            }
            await #expect(throws: StorageBackendError.self) { try await backend.entries(at: root(ioRoot, round: 1, type: .io)) }

            let fixed = ApplyOp(rootType: .state, srcRound: 0, srcRoot: .empty, dstRoot: stateRoot, writeLog: state)
            let receipts = try await backend.applyBatch(ApplyBatchRequest(namespace: runtimeA, dstRound: 1, ops: [good, fixed]))
            #expect(receipts.map(\.body) == [StorageReceiptBody(namespace: runtimeA, round: 1, rootTypes: [.io, .state], roots: [ioRoot, stateRoot])])
            #expect(try await backend.entries(at: root(ioRoot, round: 1, type: .io)) == io)
            #expect(try await backend.entries(at: root(stateRoot, round: 1)) == state)
            // Roots are kept per type: the state root is not an I/O root.
            await #expect(throws: StorageBackendError.self) { try await backend.entries(at: root(stateRoot, round: 1, type: .io)) }
            await #expect(throws: StorageErrors.noRoots) {
                try await backend.applyBatch(ApplyBatchRequest(namespace: runtimeA, dstRound: 2, ops: []))
            }
        }
    }

    @Test("apply to a destination root that already exists is a no-op")
    func existingDestination() async throws {
        try await withBackend { backend in
            let first = try await apply(backend, [WriteLogEntry(key: bytes("a"), value: bytes("1"))], from: .empty, round: 1)
            // The write log is not even looked at: the root is already stored.
            let receipts = try await backend.apply(ApplyRequest(
                namespace: runtimeA, rootType: .state, srcRound: 1, srcRoot: first, dstRound: 2, dstRoot: first,
                writeLog: [WriteLogEntry(key: bytes("junk"), value: bytes("x"))]))
            #expect(receipts.map(\.body.round) == [2])
            #expect(try await backend.entries(at: root(first, round: 2)) == [WriteLogEntry(key: bytes("a"), value: bytes("1"))])
        }
    }

    @Test("requests for another runtime, an unknown source root or a later source round are refused")
    func refusals() async throws {
        try await withBackend { backend in
            let unknown = Hash.digest(bytes("no such root"))
            await #expect(throws: StorageBackendError.namespaceMismatch(expected: runtimeA, got: runtimeB)) {
                try await backend.apply(ApplyRequest(namespace: runtimeB, rootType: .state, srcRound: 0, srcRoot: .empty,
                                                     dstRound: 1, dstRoot: unknown, writeLog: []))
            }
            await #expect(throws: StorageBackendError.rootNotFound(root(unknown, round: 0))) {
                try await backend.apply(ApplyRequest(namespace: runtimeA, rootType: .state, srcRound: 0, srcRoot: unknown,
                                                     dstRound: 1, dstRoot: .zero, writeLog: []))
            }
            await #expect(throws: StorageBackendError.roundWentBackwards(source: 2, destination: 1)) {
                try await backend.apply(ApplyRequest(namespace: runtimeA, rootType: .state, srcRound: 2, srcRoot: .empty,
                                                     dstRound: 1, dstRoot: .empty, writeLog: []))
            }
            let subtree = await #expect(throws: CodedError.self) {
                try await backend.syncGet(SyncGetRequest(tree: TreeID(root: root(.empty, round: 0), position: unknown)))
            }
            #expect(subtree?.matches(StorageErrors.unsupported) == true)
            await #expect(throws: StorageBackendError.invalidRootType(.invalid)) {
                try await backend.syncGet(SyncGetRequest(tree: TreeID(root: root(.empty, round: 0, type: .invalid))))
            }
        }
    }

    @Test("checkpoints answer storage: method not supported by backend")
    func checkpointsUnsupported() async throws {
        try await withBackend { backend in
            let error = await #expect(throws: CodedError.self) { try await backend.getCheckpoints(GetCheckpointsRequest(namespace: runtimeA)) }
            #expect(error?.matches(StorageErrors.unsupported) == true)
            #expect(error?.message == "storage: method not supported by backend")
            let chunkError = await #expect(throws: CodedError.self) {
                try await backend.getCheckpointChunk(ChunkMetadata(root: root(.empty, round: 0), index: 0, digest: .empty)) { _ in }
            }
            #expect(chunkError?.matches(StorageErrors.unsupported) == true)
        }
    }

    @Test("another runtime's database is refused")
    func otherRuntimeDatabase() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await open(directory, runtime: runtimeA).cleanup()
        #expect(throws: SQLiteStorageError.self) { try open(directory, runtime: runtimeB) }
        do {
            _ = try open(directory, runtime: runtimeB)
        } catch let error as SQLiteStorageError {
            #expect(error.description.hasPrefix("storage: database for different runtime"))
            #expect(error.description.contains("\(runtimeA)"))
        }
        // The rightful runtime still opens it.
        try await open(directory, runtime: runtimeA).cleanup()
    }

    @Test("reopening after cleanup keeps every round, and a closed backend refuses calls")
    func reopen() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var backend = try open(directory)
        var roots: [Hash] = [.empty]
        var models: [DictionaryModel] = [DictionaryModel()]
        var random = RandomWrites(seed: 99)
        for round in 1...10 {
            let log = random.writeLog(maxCount: 8)
            roots.append(try await apply(backend, log, from: roots[round - 1], round: UInt64(round)))
            var model = models[round - 1]
            model.apply(log)
            models.append(model)
        }
        await backend.cleanup()
        await backend.cleanup()
        await #expect(throws: StorageBackendError.closed) { try await backend.entries(at: root(roots[3], round: 3)) }

        backend = try open(directory)
        for round in 0...10 {
            #expect(try await backend.entries(at: root(roots[round], round: UInt64(round))) == models[round].sorted)
        }
        await backend.cleanup()
    }

    @Test("calls racing cleanup either finish or fail with storage: backend is closed, not with SQLite's out of memory")
    func callsRacingCleanup() async throws {
        let log: WriteLog = [WriteLogEntry(key: bytes("a"), value: bytes("1"))]
        let written = try MerkleTree().applying(log).hash
        var unexpected: [String] = []
        for _ in 0..<20 {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let backend = try open(directory)
            let errors = await withTaskGroup(of: (any Error)?.self) { group in
                for call in 0..<8 {
                    group.addTask {
                        do {
                            if call % 2 == 0 {
                                _ = try await backend.apply(ApplyRequest(
                                    namespace: runtimeA, rootType: .state, srcRound: 0, srcRoot: .empty,
                                    dstRound: UInt64(call), dstRoot: written, writeLog: log))
                            } else {
                                let request = SyncGetRequest(tree: TreeID(root: root(.empty, round: 0)), key: bytes("a"))
                                _ = try await backend.syncGet(request)
                            }
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
                group.addTask {
                    await backend.cleanup()
                    return nil
                }
                var errors: [any Error] = []
                for await error in group { if let error { errors.append(error) } }
                return errors
            }
            unexpected += errors.filter { ($0 as? StorageBackendError) != .closed }.map { "\($0)" }
        }
        // Before, most of them failed with `SQLite error 21: out of memory - while executing
        // BEGIN DEFERRED TRANSACTION`: the call had taken the pool just before it was closed.
        #expect(unexpected == [])
    }

    @Test("random write logs over many rounds agree with a dictionary model in the database")
    func propertyAgainstModel() async throws {
        try await withBackend { backend in
            var random = RandomWrites(seed: 2024)
            var roots: [Hash] = [.empty]
            var models: [DictionaryModel] = [DictionaryModel()]
            var memory = MerkleTree()
            for round in 1...40 {
                let log = random.writeLog(maxCount: 16)
                memory = try memory.applying(log)
                var model = models[round - 1]
                model.apply(log)
                _ = try await backend.apply(ApplyRequest(
                    namespace: runtimeA, rootType: .state, srcRound: UInt64(round - 1), srcRoot: roots[round - 1],
                    dstRound: UInt64(round), dstRoot: memory.hash, writeLog: log))
                roots.append(memory.hash)
                models.append(model)
                let context = "round \(round)"
                let current = root(memory.hash, round: UInt64(round))
                #expect(try await backend.entries(at: current, pageSize: 3) == model.sorted, "\(context)")
                for _ in 0..<4 {
                    let key = random.key()
                    let get = SyncGetRequest(tree: TreeID(root: current), key: key)
                    #expect(try await backend.syncGet(get).verify(get) == model.entries[key], "\(context) get \(key)")
                    let iterate = SyncIterateRequest(tree: TreeID(root: current), key: random.key(), prefetch: UInt16(random.int(0...4)))
                    #expect(try await backend.syncIterate(iterate).verify(iterate)
                        == model.iterate(from: iterate.key, count: max(1, Int(iterate.prefetch))), "\(context) iterate")
                    let prefixes = SyncGetPrefixesRequest(tree: TreeID(root: current), prefixes: [Array(random.key().prefix(1))],
                                                          limit: UInt16(random.int(0...3)))
                    #expect(try await backend.syncGetPrefixes(prefixes).verify(prefixes)
                        == model.prefixes(prefixes.prefixes, limit: Int(prefixes.limit)), "\(context) prefixes")
                }
                let past = random.int(0...(round - 1))
                let diff = GetDiffRequest(startRoot: root(roots[past], round: UInt64(past)), endRoot: current)
                #expect(try await backend.getDiff(diff) == models[past].diff(to: model), "\(context) diff from \(past)")
                let paged = GetDiffRequest(startRoot: diff.startRoot, endRoot: current,
                                           options: GetDiffOptions(offsetKey: random.key(), limit: 2))
                let expected = models[past].diff(to: model).filter { !$0.key.lexicographicallyPrecedes(paged.options.offsetKey) }
                #expect(try await backend.getDiff(paged) == Array(expected.prefix(2)), "\(context) paged diff")
            }
            // Every retained round still answers.
            for round in [0, 7, 23, 40] {
                #expect(try await backend.entries(at: root(roots[round], round: UInt64(round))) == models[round].sorted)
            }
        }
    }

    @Test("reads of retained rounds from many tasks agree with the model while rounds are applied")
    func concurrentReadersAndWriter() async throws {
        try await withBackend { backend in
            var random = RandomWrites(seed: 5)
            var model = DictionaryModel()
            var tree = MerkleTree()
            var logs: [WriteLog] = []
            for _ in 0..<30 { logs.append(random.writeLog(maxCount: 10)) }
            let first = logs[0]
            tree = try tree.applying(first)
            model.apply(first)
            _ = try await backend.apply(ApplyRequest(namespace: runtimeA, rootType: .state, srcRound: 0, srcRoot: .empty,
                                                     dstRound: 1, dstRoot: tree.hash, writeLog: first))
            let firstRoot = root(tree.hash, round: 1)
            let firstEntries = model.sorted
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        for _ in 0..<15 {
                            let entries = try await backend.entries(at: firstRoot, pageSize: 4)
                            #expect(entries == firstEntries)
                        }
                    }
                }
                let remaining = Array(logs.dropFirst())
                let start = tree
                group.addTask {
                    var current = start
                    for (offset, log) in remaining.enumerated() {
                        let next = try current.applying(log)
                        _ = try await backend.apply(ApplyRequest(
                            namespace: runtimeA, rootType: .state, srcRound: UInt64(offset + 1), srcRoot: current.hash,
                            dstRound: UInt64(offset + 2), dstRoot: next.hash, writeLog: log))
                        current = next
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
