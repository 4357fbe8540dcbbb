import ConsensusAPI
import Foundation
import Logging
import OasisCBOR
import OasisCommon
import RuntimeHost
import RuntimeHostProtocol
import RuntimeHostProtocolTesting
import RuntimeStorage
import Testing

@testable import kv_runtime

/// The node's side of state for kv-runtime tests: answers `HostStorageSyncRequest` `SyncGet`s
/// with proofs from in-memory Merkle trees, one per committed state root, and commits the
/// state write logs the runtime returns. It can be told to tamper with every proof it sends.
final class TestStorageHost: RequestHandler {
    private struct State {
        var trees: [Hash: MerkleTree] = [Hash.empty: MerkleTree()]
        var tampering = false
        var syncReads: [SyncGetRequest] = []
    }

    private let state = Locked(State())
    private let gate: ReadGate?

    /// A host whose reads first pass `gate`, when there is one.
    init(gate: ReadGate? = nil) {
        self.gate = gate
    }

    /// Whether the proofs sent from now on are tampered with.
    func tamper(_ on: Bool) {
        state.withLock { $0.tampering = on }
    }

    /// The `SyncGet` requests served so far.
    var syncReads: [SyncGetRequest] { state.value.syncReads }

    /// Applies `writeLog` to the tree at `root` and keeps the result; returns its root.
    func commit(_ writeLog: WriteLog, on root: Hash) throws -> Hash {
        guard let tree = state.value.trees[root] else { throw TestStorageError("no state root \(root)") }
        let next = try tree.applying(writeLog)
        state.withLock { $0.trees[next.hash] = next }
        return next.hash
    }

    /// The tree committed at `root`.
    func tree(_ root: Hash) -> MerkleTree? { state.value.trees[root] }

    func handle(_ request: Body) async throws -> Body {
        guard case .hostStorageSyncRequest(let sync) = request else { throw MethodNotSupported() }
        guard sync.endpoint == .runtime else { throw TestStorageError("endpoint not supported") }
        guard case .get(let get) = sync.operation else { throw MethodNotSupported() }
        await gate?.pass()
        let (tree, tampering) = state.withLock { state in
            state.syncReads.append(get)
            return (state.trees[get.tree.root.hash], state.tampering)
        }
        guard get.tree.root.type == .state, let tree else {
            throw TestStorageError("no state root \(get.tree.root.hash)")
        }
        var proof = try tree.proveGet(get.key)
        if tampering, !proof.entries.isEmpty {
            // Change the last byte of the last entry: a leaf's value, a withheld leaf's value
            // hash or a pruned subtree's hash. The proof no longer hashes to the root.
            let last = proof.entries.count - 1
            proof.entries[last][proof.entries[last].count - 1] ^= 0x01
        }
        return .hostStorageSyncResponse(HostStorageSyncResponse(proofResponse: ProofResponse(proof: proof)))
    }
}

/// Holds reads until `count` of them wait at once, then lets them and every later read through:
/// a runtime that reads its keys one after another never gets past it. A read whose task is
/// cancelled (the connection closing) goes through at once.
final class ReadGate: Sendable {
    private struct State {
        var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
        var open = false
    }

    private let count: Int
    private let state = Locked(State())

    init(count: Int) {
        self.count = count
    }

    func pass() async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let released = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                    if state.open || state.cancelled.contains(id) { return [continuation] }
                    state.waiting[id] = continuation
                    guard state.waiting.count >= count else { return [] }
                    state.open = true
                    defer { state.waiting = [:] }
                    return Array(state.waiting.values)
                }
                for waiting in released { waiting.resume() }
            }
        } onCancel: {
            let waiting = state.withLock { state in
                state.cancelled.insert(id)
                return state.waiting.removeValue(forKey: id)
            }
            waiting?.resume()
        }
    }
}

struct TestStorageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Executes `inputs` on the block `header` and returns the computed batch.
func execute(_ connection: Connection, on header: BlockHeader, _ inputs: [KVTransaction]) async throws -> ComputedBatch {
    let answer = try await connection.call(.runtimeExecuteTxBatchRequest(RuntimeExecuteTxBatchRequest(
        roundResults: RoundResults(), ioRoot: header.ioRoot, inputs: inputs.map(\.encoded), block: Block(header: header))))
    guard case .runtimeExecuteTxBatchResponse(let response) = answer else {
        throw TestStorageError("execute answered \(answer.kind)")
    }
    return response.batch
}

/// The transaction outputs of a computed batch, in batch order.
func outputs(of batch: ComputedBatch) throws -> [[UInt8]] {
    try IOTreeLayout.parse(batch.ioWriteLog).transactions.sorted { $0.batchOrder < $1.batchOrder }.map(\.output)
}

/// A `get` query of `key` at `header`.
func query(_ connection: Connection, get key: String, at header: BlockHeader) async throws -> CBORValue {
    let answer = try await connection.call(.runtimeQueryRequest(RuntimeQueryRequest(
        method: "get", header: header, args: .map([CBORMapEntry(key: .textString("key"), value: .textString(key))]))))
    guard case .runtimeQueryResponse(let response) = answer else {
        throw TestStorageError("query answered \(answer.kind)")
    }
    // An absent value (`null`) may come back as no data at all.
    return response.data ?? .null
}

/// A write log entry from text.
func entry(_ key: String, _ value: String) -> WriteLogEntry {
    WriteLogEntry(key: Array(key.utf8), value: Array(value.utf8))
}

@Suite(
    "kv-runtime state through the host",
    .enabled(if: FileManager.default.isExecutableFile(atPath: kvRuntimeBinary), "needs the kv-runtime binary"))
struct KVRuntimeStateTests {
    let runtimeID = Namespace.test(seed: "kv-state")

    /// The header of the block after `batch` (computed on `previous`), as consensus would make it.
    func header(after batch: ComputedBatch, on previous: BlockHeader, stateRoot: Hash) -> BlockHeader {
        BlockHeader(
            namespace: runtimeID, round: batch.header.round, headerType: .normal, previousHash: previous.encodedHash(),
            ioRoot: batch.header.ioRoot ?? .empty, stateRoot: stateRoot, messagesHash: batch.header.messagesHash ?? .empty)
    }

    @Test("the proof cache holds at most byteLimit bytes of proofs per root")
    func proofCacheByteBound() throws {
        let cache = ProofCache()
        let proof = try VerifiedProof(Proof(untrustedRoot: .empty, entries: []), trustedRoot: .empty)
        let half = ProofCache.byteLimit / 2
        let root = Hash.digest([1])
        let other = Hash.digest([2])
        cache.insert(ProofCache.Entry(proof: proof, value: nil, size: half), root: root, key: [1])
        cache.insert(ProofCache.Entry(proof: proof, value: nil, size: half), root: root, key: [2])
        // A third would pass the bound, though far below the key limit: it is not kept.
        cache.insert(ProofCache.Entry(proof: proof, value: nil, size: 1), root: root, key: [3])
        #expect(cache.entry(root: root, key: [1]) != nil)
        #expect(cache.entry(root: root, key: [2]) != nil)
        #expect(cache.entry(root: root, key: [3]) == nil)
        // Inserting a key again does not count it twice.
        cache.insert(ProofCache.Entry(proof: proof, value: nil, size: half), root: root, key: [1])
        // The bound is per root.
        cache.insert(ProofCache.Entry(proof: proof, value: nil, size: 1), root: other, key: [3])
        #expect(cache.entry(root: other, key: [3]) != nil)
    }

    @Test("two batches read state through verified host proofs and their roots equal the host's trie; get queries read the latest root")
    func batchesAndQueries() async throws {
        let storage = TestStorageHost()
        let (logger, _) = capturingLogger()
        let runtimeID = runtimeID
        try await withHostedRuntime(executable: kvRuntimeBinary, runtimeID: runtimeID, handler: storage, logger: logger) {
            hosted in
            let connection = hosted.connection
            // Round 5 → 6: two inserts into the empty state.
            let genesis = BlockHeader(
                namespace: runtimeID, round: 5, headerType: .normal, ioRoot: .empty, stateRoot: .empty,
                messagesHash: .empty)
            let first = try await execute(
                connection, on: genesis, [.insert(key: "a", value: "1"), .insert(key: "b", value: "2")])
            #expect(first.header.round == 6)
            #expect(first.header.previousHash == genesis.encodedHash())
            #expect(first.header.messagesHash == RuntimeMessage.messagesHash([]))
            #expect(first.messages.isEmpty)
            #expect(first.rakSig == .zero)
            #expect(first.stateWriteLog == [entry("a", "1"), entry("b", "2")])
            let root1 = try storage.commit(first.stateWriteLog, on: .empty)
            #expect(root1 != .empty)
            #expect(first.header.stateRoot == root1)
            #expect(first.header.ioRoot == (try MerkleTree().applying(first.ioWriteLog).hash))
            #expect(try outputs(of: first) == [KVOutput.success(.null).encoded, KVOutput.success(.null).encoded])
            // The runtime read each key once (insert returns the previous value), at the block's root.
            #expect(storage.syncReads.map(\.key) == [Array("a".utf8), Array("b".utf8)])
            #expect(storage.syncReads.allSatisfy {
                $0.tree == TreeID(
                    root: StorageRoot(namespace: runtimeID, version: 5, type: .state, hash: .empty), position: .empty)
            })

            // Round 6 → 7: read both keys back, remove one.
            let block6 = header(after: first, on: genesis, stateRoot: root1)
            let second = try await execute(connection, on: block6, [.get(key: "a"), .remove(key: "b")])
            #expect(second.header.round == 7)
            #expect(second.header.previousHash == block6.encodedHash())
            #expect(try outputs(of: second) == [
                KVOutput.success(.textString("1")).encoded, KVOutput.success(.textString("2")).encoded,
            ])
            #expect(second.stateWriteLog == [WriteLogEntry(key: Array("b".utf8), value: [])])
            let root2 = try storage.commit(second.stateWriteLog, on: root1)
            #expect(second.header.stateRoot == root2)
            #expect(try storage.tree(root2)?.iterate() == [entry("a", "1")])
            #expect(storage.syncReads.suffix(2).allSatisfy {
                $0.tree == TreeID(root: StorageRoot(namespace: runtimeID, version: 6, type: .state, hash: root1), position: root1)
            })

            // Queries read at the root of the header they carry: the latest block's.
            let block7 = header(after: second, on: block6, stateRoot: root2)
            #expect(try await query(connection, get: "a", at: block7) == .textString("1"))
            #expect(try await query(connection, get: "b", at: block7) == .null)
            #expect(try await query(connection, get: "b", at: block6) == .textString("2"))
        }
    }

    @Test("a batch asks the host for all its keys at once, then runs on the answers", .timeLimit(.minutes(3)))
    func batchPrefetchesItsKeys() async throws {
        // Three distinct keys: the host answers no read until all three are waiting.
        let storage = TestStorageHost(gate: ReadGate(count: 3))
        let (logger, _) = capturingLogger()
        let runtimeID = runtimeID
        try await withHostedRuntime(executable: kvRuntimeBinary, runtimeID: runtimeID, handler: storage, logger: logger) {
            hosted in
            let genesis = BlockHeader(
                namespace: runtimeID, round: 1, headerType: .normal, ioRoot: .empty, stateRoot: .empty, messagesHash: .empty)
            let batch = try await execute(
                hosted.connection, on: genesis,
                [.insert(key: "a", value: "1"), .get(key: "c"), .insert(key: "b", value: "2"), .insert(key: "a", value: "3")])
            #expect(batch.stateWriteLog == [entry("a", "3"), entry("b", "2")])
            #expect(try outputs(of: batch).count == 4)
            // Each key read once, whatever the order the answers came in.
            #expect(Set(storage.syncReads.map(\.key)) == [Array("a".utf8), Array("b".utf8), Array("c".utf8)])
            #expect(storage.syncReads.count == 3)
        }
    }

    @Test("a host that tampers with a proof gets an error naming the key, and the connection stays up")
    func tamperedProof() async throws {
        let storage = TestStorageHost()
        let root = try storage.commit([entry("k", "v"), entry("other", "x")], on: .empty)
        let (logger, _) = capturingLogger()
        let runtimeID = runtimeID
        try await withHostedRuntime(executable: kvRuntimeBinary, runtimeID: runtimeID, handler: storage, logger: logger) {
            hosted in
            let connection = hosted.connection
            let block = BlockHeader(namespace: runtimeID, round: 3, headerType: .normal, stateRoot: root)
            storage.tamper(true)
            await #expect {
                _ = try await execute(connection, on: block, [.insert(key: "k", value: "w")])
            } throws: { error in
                guard let remote = error as? RemoteError else { return false }
                return remote.module == "dispatcher" && remote.code == 1
                    && remote.message.contains("state proof for key \"k\" does not verify")
            }
            await #expect {
                _ = try await query(connection, get: "k", at: block)
            } throws: { error in
                (error as? RemoteError)?.message.contains("key \"k\"") == true
            }
            #expect(connection.state == .ready)
            #expect(try await connection.call(.runtimePingRequest) == .empty)

            // Nothing of the refused proofs was kept: honest proofs are read and used again.
            storage.tamper(false)
            #expect(try await query(connection, get: "k", at: block) == .textString("v"))
            let batch = try await execute(connection, on: block, [.insert(key: "k", value: "w")])
            #expect(batch.header.stateRoot == (try storage.commit(batch.stateWriteLog, on: root)))
        }
    }

    @Test("check-tx refuses malformed transactions with a runtime error and accepts well-formed ones")
    func checkTx() async throws {
        let (logger, _) = capturingLogger()
        try await withHostedRuntime(executable: kvRuntimeBinary, runtimeID: runtimeID, logger: logger) { hosted in
            let unknown = try CBORValue.map([
                CBORMapEntry(key: .textString("method"), value: .textString("fly")),
                CBORMapEntry(key: .textString("args"), value: .map([])),
            ]).encoded()
            let answer = try await hosted.connection.call(.runtimeCheckTxBatchRequest(RuntimeCheckTxBatchRequest(
                inputs: [KVTransaction.insert(key: "k", value: "v").encoded, [0xff], unknown])))
            guard case .runtimeCheckTxBatchResponse(let response) = answer else {
                Issue.record("check-tx answered \(answer.kind)")
                return
            }
            #expect(response.results.count == 3)
            #expect(response.results.first?.isSuccess == true)
            let errors = response.results.dropFirst().map(\.error)
            #expect(errors.allSatisfy { $0.module == "kv" && $0.code == 1 })
            #expect(errors.first?.message.hasPrefix("malformed transaction") == true)
            #expect(errors.last?.message == "method not found: fly")
        }
    }
}

@Suite(
    "kv-runtime in the sandbox",
    .enabled(if: FileManager.default.isExecutableFile(atPath: kvRuntimeBinary), "needs the kv-runtime binary"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap"), "needs bubblewrap"))
struct KVRuntimeSandboxTests {
    @Test("kv-runtime runs in the bubblewrap sandbox: handshake, ping and one batch against host storage")
    func sandboxed() async throws {
        let storage = TestStorageHost()
        let (logger, logs) = capturingLogger()
        let runtimeID = Namespace.test(seed: "kv-sandbox")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/host.sock"
        let listener = try await ConnectionListener.bind(unixSocketPath: socketPath)
        let process: RuntimeProcess
        do {
            process = try await RuntimeProcess.spawn(RuntimeProcessConfiguration(
                // A generous preflight timeout: the preflight's result, a timeout on a loaded
                // machine included, is cached for the whole test process.
                executablePath: kvRuntimeBinary,
                isolation: .sandboxed(SandboxOptions(bubblewrapPath: "/usr/bin/bwrap", preflightTimeout: .seconds(600))),
                hostSocketPath: socketPath, environment: ["KV_RUNTIME_LOG_LEVEL": "debug"]))
        } catch {
            await listener.close()
            throw error
        }
        let runtimeLogger = logger.with(metadata: "runtime.id", runtimeID.description)
        let exit: ProcessExit? = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await process.relayOutput(to: runtimeLogger) }
            defer { group.cancelAll() }
            let connection: Connection
            do {
                connection = try await listener.accept(handler: storage, logger: logger, timeout: .seconds(300))
            } catch {
                await listener.close()
                await process.kill()
                throw error
            }
            group.addTask { try await connection.run() }
            do {
                let version = try await connection.initHost(
                    runtimeID: runtimeID,
                    hostInfo: HostInfo(
                        consensusBackend: "tendermint", consensusProtocolVersion: Version.consensusProtocol.packed,
                        consensusChainContext: "kv-sandbox"),
                    timeout: .seconds(300))
                #expect(version == KVHandler.version)
                #expect(try await connection.call(.runtimePingRequest) == .empty)
                let block = BlockHeader(namespace: runtimeID, round: 1, headerType: .normal, stateRoot: .empty)
                let batch = try await execute(connection, on: block, [.insert(key: "in", value: "sandbox")])
                #expect(batch.header.round == 2)
                #expect(batch.header.stateRoot == (try storage.commit(batch.stateWriteLog, on: .empty)))
            } catch {
                await connection.close()
                await listener.close()
                await process.kill()
                throw error
            }
            // kv-runtime exits 0 when the host closes the connection.
            await connection.close()
            await listener.close()
            let exit = try? await withDeadline(.seconds(300), "sandboxed kv-runtime exiting") {
                try await process.waitForExit()
            }
            if exit == nil { await process.kill() }
            return exit
        }
        let relayed = logs.entries.map { "\($0.message)" }
        #expect(exit == .exited(code: 0), "runtime output: \(relayed)")
    }

    /// A fresh directory for the host socket (short, so the socket path fits `sun_path`).
    func temporaryDirectory() throws -> String {
        var template = Array("/tmp/kv-sandbox-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw TestStorageError("mkdtemp failed: errno \(errno)") }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A host answering storage reads with a function, for `HostState` on its own.
struct ScriptedStorage: HostStorageSyncing {
    let answer: @Sendable (SyncGetRequest) throws -> Proof

    func sync(_ request: HostStorageSyncRequest) async throws -> HostStorageSyncResponse {
        guard request.endpoint == .runtime, case .get(let get) = request.operation else {
            throw TestStorageError("unexpected request \(request)")
        }
        return HostStorageSyncResponse(proofResponse: ProofResponse(proof: try answer(get)))
    }
}

@Suite("kv-runtime host state")
struct HostStateTests {
    let tree: MerkleTree
    let root: StorageRoot

    init() throws {
        tree = try MerkleTree().applying([entry("a", "1"), entry("b", "2"), entry("c", "3")])
        root = StorageRoot(namespace: Namespace.test(seed: "host-state"), version: 4, type: .state, hash: tree.hash)
    }

    /// Expects `read` to fail with a `dispatcher`/1 error naming key `key` and saying `why`.
    func expectRefusal(_ key: String, _ why: String, _ read: () async throws -> Void) async {
        await #expect {
            try await read()
        } throws: { error in
            guard let coded = error as? CodedError else { return false }
            return coded.module == "dispatcher" && coded.code == 1 && "\(error)".contains("key \"\(key)\"")
                && "\(error)".contains(why)
        }
    }

    @Test("honest proofs answer reads and the new root, fetching each key once per root")
    func honest() async throws {
        let reads = Locked<[[UInt8]]>([])
        let tree = tree
        let state = HostState(host: ScriptedStorage { get in
            reads.withLock { $0.append(get.key) }
            return try tree.proveGet(get.key)
        })
        #expect(try await state.value(of: Array("b".utf8), at: root) == Array("2".utf8))
        #expect(try await state.value(of: Array("zz".utf8), at: root) == nil)
        let log = [entry("b", "20"), WriteLogEntry(key: Array("c".utf8), value: []), entry("zz", "9")]
        #expect(try await state.stateRoot(after: log, on: root) == (try tree.applying(log).hash))
        #expect(reads.value == [Array("b".utf8), Array("zz".utf8), Array("c".utf8)])
        #expect(try state.ioRoot(of: [entry("x", "y")]) == (try MerkleTree().applying([entry("x", "y")]).hash))
    }

    @Test("prefetch reads each uncached key once; a read it could not make is left to the reader, who gets its error")
    func prefetch() async throws {
        let reads = Locked<[[UInt8]]>([])
        let tree = tree
        let state = HostState(host: ScriptedStorage { get in
            reads.withLock { $0.append(get.key) }
            guard get.key != Array("zz".utf8) else { throw TestStorageError("storage is down") }
            return try tree.proveGet(get.key)
        })
        #expect(try await state.value(of: Array("a".utf8), at: root) == Array("1".utf8))
        await state.prefetch(["a", "b", "c", "b", "zz"].map { Array($0.utf8) }, at: root)
        #expect(Set(reads.value) == Set(["a", "b", "c", "zz"].map { Array($0.utf8) }))
        #expect(reads.value.count == 4)
        #expect(try await state.value(of: Array("c".utf8), at: root) == Array("3".utf8))
        #expect(try await state.value(of: Array("b".utf8), at: root) == Array("2".utf8))
        #expect(reads.value.count == 4)
        await expectRefusal("zz", "failed: storage is down") { _ = try await state.value(of: Array("zz".utf8), at: root) }
        #expect(reads.value.count == 5)
    }

    @Test("a proof for another root, of another key, or tampered is refused naming the key")
    func dishonest() async throws {
        let tree = tree
        let other = try MerkleTree().applying([entry("a", "1")])
        let otherRoot = HostState(host: ScriptedStorage { get in try other.proveGet(get.key) })
        await expectRefusal("a", "does not verify") { _ = try await otherRoot.value(of: Array("a".utf8), at: root) }

        // A genuine proof of "a" does not show where "c" is.
        let otherKey = HostState(host: ScriptedStorage { _ in try tree.proveGet(Array("a".utf8)) })
        await expectRefusal("c", "does not cover") { _ = try await otherKey.value(of: Array("c".utf8), at: root) }
        await expectRefusal("c", "does not cover") {
            _ = try await otherKey.stateRoot(after: [entry("c", "4")], on: root)
        }

        let empty = HostState(host: ScriptedStorage { _ in Proof(untrustedRoot: tree.hash, entries: []) })
        await expectRefusal("a", "does not verify") { _ = try await empty.value(of: Array("a".utf8), at: root) }

        let failing = HostState(host: ScriptedStorage { _ in throw TestStorageError("storage is down") })
        await expectRefusal("b", "failed: storage is down") { _ = try await failing.value(of: Array("b".utf8), at: root) }
    }
}
