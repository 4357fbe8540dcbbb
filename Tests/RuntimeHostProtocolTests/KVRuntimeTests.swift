import ConsensusAPI
import Foundation
import OasisCBOR
import OasisCommon
import ProcessTesting
import RuntimeHostProtocol
import RuntimeHostProtocolTesting
import RuntimeStorage
import Synchronization
import Testing

@testable import kv_runtime

/// The kv-runtime binary built next to this test bundle.
let kvRuntimeBinary: String = {
    let products = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0]).deletingLastPathComponent()
    return products.appendingPathComponent("kv-runtime").path
}()

/// The independent host written in Python (cbor2), next to this file.
let pythonHostScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("peers/host_peer.py").path

@Suite("kv-runtime transactions")
struct KVTransactionTests {
    @Test("transactions decode from {method, args} and refuse anything else")
    func decoding() throws {
        #expect(try KVTransaction(decoding: KVTransaction.insert(key: "k", value: "v").encoded) == .insert(key: "k", value: "v"))
        #expect(try KVTransaction(decoding: KVTransaction.remove(key: "k").encoded) == .remove(key: "k"))
        #expect(try KVTransaction(decoding: KVTransaction.get(key: "k").encoded) == .get(key: "k"))
        #expect(throws: KVTransaction.Malformed.self) { try KVTransaction(decoding: [0xff]) }
        // An empty value would be a delete in the storage's write log, so insert refuses it.
        #expect {
            try KVTransaction(decoding: KVTransaction.insert(key: "k", value: "").encoded)
        } throws: { error in
            "\(error)" == "malformed transaction: insert needs a non-empty value (use remove to delete a key)"
        }
        #expect(throws: KVTransaction.Malformed.self) {
            try KVTransaction(decoding: try CBORValue.map([.init(key: .textString("method"), value: .textString("fly"))]).encoded())
        }
        // An empty key would be an empty `kv_key` tag, which the I/O tree cannot hold.
        for tx in [KVTransaction.insert(key: "", value: "v"), .remove(key: ""), .get(key: "")] {
            #expect {
                try KVTransaction(decoding: tx.encoded)
            } throws: { error in
                "\(error)" == "malformed transaction: \(tx.operation) needs a non-empty key"
            }
        }
    }

    @Test("a tag with an empty value is refused by the I/O tree layout, not dropped")
    func emptyTagValue() throws {
        let tx = TransactionArtifacts(input: [1], output: [2], batchOrder: 0)
        let tag = TransactionTag(key: Array("kv_key".utf8), value: [], txHash: tx.hash)
        #expect(throws: IOTreeLayoutError.emptyTagValue(key: tag.key, txHash: tx.hash)) {
            try IOTreeLayout.writeLog(transactions: [tx], tags: [tag])
        }
        #expect(
            "\(IOTreeLayoutError.emptyTagValue(key: tag.key, txHash: tx.hash))"
                == "transaction \(tx.hash) emitted tag 6b765f6b6579 with an empty value, which an I/O tree cannot hold; give tags non-empty values")
    }

    @Test("a batch reads through its own writes, returns previous values, and writes sorted changes with tags")
    func batch() async throws {
        let stored: [[UInt8]: [UInt8]] = [Array("a".utf8): Array("old".utf8)]
        let inputs = [
            KVTransaction.insert(key: "b", value: "1").encoded,
            KVTransaction.insert(key: "a", value: "new").encoded,
            KVTransaction.get(key: "a").encoded,
            KVTransaction.remove(key: "b").encoded,
            [0xff],
        ]
        let result = try await executeBatch(inputs, isAborted: { false }, read: { stored[$0] })
        #expect(result.outputs == [
            .success(.null), .success(.textString("old")), .success(.textString("new")), .success(.textString("1")),
            .error("malformed transaction: cbor: malformed item: unexpected break code (at byte 0)"),
        ])
        // "b" was absent before the batch and is again after it: no change, no entry.
        #expect(result.stateWriteLog == [WriteLogEntry(key: Array("a".utf8), value: Array("new".utf8))])
        #expect(result.tags.count == 8)
        #expect(result.tags.first == TransactionTag(
            key: Array("kv_op".utf8), value: Array("insert".utf8), txHash: Hash.digest(inputs[0])))
        #expect(result.tags[1] == TransactionTag(key: Array("kv_key".utf8), value: Array("b".utf8), txHash: Hash.digest(inputs[0])))

        // The I/O write log the runtime returns reads back as the same transactions and tags.
        let io = try IOTreeLayout.writeLog(transactions: result.artifacts, tags: result.tags)
        let parsed = try IOTreeLayout.parse(io)
        #expect(Set(parsed.transactions) == Set(result.artifacts))
        #expect(Set(parsed.tags) == Set(result.tags))
    }

    @Test("the state write log has no deletes of keys the state did not hold; removing a stored key deletes it")
    func deletesOnlyStoredKeys() async throws {
        let stored: [[UInt8]: [UInt8]] = [Array("kept".utf8): Array("1".utf8), Array("gone".utf8): Array("2".utf8)]
        let inputs = [
            KVTransaction.remove(key: "never").encoded,
            KVTransaction.insert(key: "brief", value: "x").encoded,
            KVTransaction.remove(key: "brief").encoded,
            KVTransaction.remove(key: "gone").encoded,
            KVTransaction.insert(key: "gone", value: "3").encoded,
            KVTransaction.remove(key: "gone").encoded,
            KVTransaction.insert(key: "kept", value: "1").encoded,
        ]
        let result = try await executeBatch(inputs, isAborted: { false }, read: { stored[$0] })
        #expect(result.outputs == [
            .success(.null), .success(.null), .success(.textString("x")), .success(.textString("2")), .success(.null),
            .success(.textString("3")), .success(.textString("1")),
        ])
        #expect(result.stateWriteLog == [
            WriteLogEntry(key: Array("gone".utf8), value: []), WriteLogEntry(key: Array("kept".utf8), value: Array("1".utf8)),
        ])
        // A batch that only removes an absent key changes nothing.
        let noop = try await executeBatch([KVTransaction.remove(key: "never").encoded], isAborted: { false }, read: { stored[$0] })
        #expect(noop.stateWriteLog.isEmpty)
    }

    @Test("an abort stops the batch at the next transaction")
    func abort() async throws {
        await #expect(throws: BatchAborted.self) {
            _ = try await executeBatch([KVTransaction.get(key: "a").encoded], isAborted: { true }, read: { _ in nil })
        }
    }
}

/// State held in memory, with stand-in roots: enough to check how the handler assembles a
/// computed batch, apart from the host (`KVStateTests` covers `HostState` end to end).
struct InMemoryState: KVStateAccess {
    let values: [[UInt8]: [UInt8]]

    func value(of key: [UInt8], at root: StorageRoot) async throws -> [UInt8]? { values[key] }

    func stateRoot(after writeLog: WriteLog, on root: StorageRoot) async throws -> Hash {
        Hash.digest(parts: [root.hash.bytes] + writeLog.flatMap { [$0.key, $0.value] })
    }

    func ioRoot(of writeLog: WriteLog) throws -> Hash {
        Hash.digest(parts: writeLog.flatMap { [$0.key, $0.value] })
    }
}

/// Lines appended from several tasks, in the order they came.
final class Lines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// State without values whose reads of the `held` keys wait until `release` opens.
struct HeldState: KVStateAccess {
    let held: Set<[UInt8]>
    /// Opens when a held read begins.
    let reading = Latch()
    let release = Latch()

    func value(of key: [UInt8], at root: StorageRoot) async throws -> [UInt8]? {
        if held.contains(key) {
            reading.open()
            await release.waitIgnoringCancellation()
        }
        return nil
    }

    func stateRoot(after writeLog: WriteLog, on root: StorageRoot) async throws -> Hash {
        try await InMemoryState(values: [:]).stateRoot(after: writeLog, on: root)
    }

    func ioRoot(of writeLog: WriteLog) throws -> Hash { try InMemoryState(values: [:]).ioRoot(of: writeLog) }
}

@Suite("kv-runtime handler")
struct KVHandlerTests {
    let runtimeID = Namespace.test(seed: "kv-handler")

    func configuredHandler(_ values: [[UInt8]: [UInt8]] = [:]) async throws -> KVHandler {
        let (logger, _) = capturingLogger()
        let handler = KVHandler(state: InMemoryState(values: values), logger: logger)
        _ = try await handler.handle(.runtimeInfoRequest(RuntimeInfoRequest(runtimeID: runtimeID)))
        return handler
    }

    @Test("work before the handshake is refused as the Rust runtime does; ping is served")
    func beforeHandshake() async throws {
        let (logger, _) = capturingLogger()
        let handler = KVHandler(state: InMemoryState(values: [:]), logger: logger)
        #expect(try await handler.handle(.runtimePingRequest) == .empty)
        await #expect {
            _ = try await handler.handle(.runtimeQueryRequest(RuntimeQueryRequest(method: "get_runtime_id")))
        } throws: { error in
            ErrorBody(mapping: error) == ErrorBody(
                module: "dispatcher", code: 1, message: "host environment information not configured")
        }
    }

    @Test("execute returns the next round's header, both write logs with tags, and the new roots")
    func execute() async throws {
        let handler = try await configuredHandler([Array("a".utf8): Array("1".utf8)])
        let header = BlockHeader(namespace: runtimeID, round: 7, headerType: .normal, stateRoot: Hash.digest([1]))
        let inputs = [KVTransaction.insert(key: "a", value: "2").encoded, KVTransaction.get(key: "zz").encoded]
        let answer = try await handler.handle(.runtimeExecuteTxBatchRequest(RuntimeExecuteTxBatchRequest(
            inputs: inputs, block: Block(header: header))))
        guard case .runtimeExecuteTxBatchResponse(let response) = answer else {
            Issue.record("answered \(answer.kind)")
            return
        }
        let batch = response.batch
        #expect(batch.header.round == 8)
        #expect(batch.header.previousHash == header.encodedHash())
        #expect(batch.header.messagesHash == .empty)
        #expect(batch.stateWriteLog == [WriteLogEntry(key: Array("a".utf8), value: Array("2".utf8))])
        #expect(batch.header.stateRoot == (try await InMemoryState(values: [:]).stateRoot(
            after: batch.stateWriteLog, on: StorageRoot(hash: header.stateRoot))))
        #expect(batch.header.ioRoot == (try InMemoryState(values: [:]).ioRoot(of: batch.ioWriteLog)))
        #expect(batch.rakSig == .zero)
        let io = try IOTreeLayout.parse(batch.ioWriteLog)
        #expect(io.transactions.count == 2)
        let outputs = Dictionary(uniqueKeysWithValues: io.transactions.map { ($0.batchOrder, $0.output) })
        #expect(outputs[0] == KVOutput.success(.textString("1")).encoded)
        #expect(outputs[1] == KVOutput.success(.null).encoded)
        let opTags = io.tags.filter { $0.key == Array("kv_op".utf8) }.map { String(decoding: $0.value, as: UTF8.self) }
        #expect(opTags.sorted() == ["get", "insert"])
    }

    @Test("execute on a block of the last round refuses the batch instead of overflowing")
    func executeAfterLastRound() async throws {
        let handler = try await configuredHandler()
        let header = BlockHeader(namespace: runtimeID, round: .max, headerType: .normal)
        await #expect {
            _ = try await handler.handle(.runtimeExecuteTxBatchRequest(RuntimeExecuteTxBatchRequest(
                inputs: [KVTransaction.get(key: "k").encoded], block: Block(header: header))))
        } throws: { error in
            ErrorBody(mapping: error) == ErrorBody(
                module: "dispatcher", code: 1, message: "block round 18446744073709551615 is the last one; no round follows it")
        }
    }

    @Test(
        "an abort fails the batch under way and is answered once that batch has ended; a batch sent after the abort runs",
        .timeLimit(.minutes(5)))
    func abortWaitsForTheBatch() async throws {
        let (logger, _) = capturingLogger()
        let state = HeldState(held: [Array("slow".utf8)])
        let handler = KVHandler(state: state, logger: logger)
        _ = try await handler.handle(.runtimeInfoRequest(RuntimeInfoRequest(runtimeID: runtimeID)))
        let header = BlockHeader(namespace: runtimeID, round: 3, headerType: .normal)
        @Sendable func execute(_ key: String) async throws -> Body {
            try await handler.handle(.runtimeExecuteTxBatchRequest(RuntimeExecuteTxBatchRequest(
                inputs: [KVTransaction.insert(key: key, value: "v").encoded], block: Block(header: header))))
        }
        let order = Lines()
        let old = Task {
            do {
                _ = try await execute("slow")
                order.append("old batch committed")
            } catch {
                order.append("old batch failed: \(ErrorBody(mapping: error).message)")
            }
        }
        // The old batch waits in its read of "slow".
        try await state.reading.wait()
        let abort = Task {
            _ = try await handler.handle(.runtimeAbortRequest)
            order.append("abort answered")
        }
        try await waitUntil(.seconds(120), "the abort waits or is answered") {
            handler.waitingAborts == 1 || !order.all.isEmpty
        }
        #expect(order.all.isEmpty, "the abort was answered while the batch it aborts still ran")
        // A batch that starts after the abort is not aborted by it.
        guard case .runtimeExecuteTxBatchResponse(let fresh) = try await execute("fast") else {
            Issue.record("the batch after the abort did not commit")
            return
        }
        #expect(fresh.batch.stateWriteLog.map(\.key) == [Array("fast".utf8)])
        state.release.open()
        await old.value
        try await abort.value
        #expect(order.all == ["old batch failed: batch aborted", "abort answered"])
        // With no batch under way, an abort is answered at once.
        #expect(try await handler.handle(.runtimeAbortRequest) == .runtimeAbortResponse)
    }

    @Test("a get query reads state at the header's root")
    func getQuery() async throws {
        let handler = try await configuredHandler([Array("k".utf8): Array("v".utf8)])
        let answer = try await handler.handle(.runtimeQueryRequest(RuntimeQueryRequest(
            method: "get", args: .map([CBORMapEntry(key: .textString("key"), value: .textString("k"))]))))
        #expect(answer == .runtimeQueryResponse(RuntimeQueryResponse(data: .textString("v"))))
    }
}

@Suite(
    "kv-runtime as a process",
    .enabled(if: FileManager.default.isExecutableFile(atPath: kvRuntimeBinary), "needs the kv-runtime binary"))
struct KVRuntimeProcessTests {
    @Test("kv-runtime runs one event loop thread, not one per core, so what it needs does not grow with the machine")
    func oneEventLoop() async throws {
        let (logger, _) = capturingLogger()
        let status = try await withHostedRuntime(
            executable: kvRuntimeBinary, runtimeID: Namespace.test(seed: "kv-runtime"), logger: logger
        ) { hosted in
            #expect(try await hosted.connection.call(.runtimePingRequest) == .empty)
            let pid = hosted.process.processIdentifier
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap {
                try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8)
            }
            // NIO names its event loop threads `NIO-ELT-…`, or `NIO-SGLTN-…` in its shared group.
            #expect(names.filter { $0.hasPrefix("NIO-") }.count == 1, "\(names)")
            await hosted.connection.close()
            return try await withDeadline(.seconds(120), "kv-runtime exiting") { await hosted.process.exitStatus() }
        }
        #expect(status == .exited(0))
    }

    @Test("our host runs the handshake with kv-runtime, pings it, checks transactions and queries it")
    func hostedByOurHost() async throws {
        let (logger, _) = capturingLogger()
        let runtimeID = Namespace.test(seed: "kv-runtime")
        let status = try await withHostedRuntime(executable: kvRuntimeBinary, runtimeID: runtimeID, logger: logger) { hosted in
            #expect(hosted.runtimeVersion == KVHandler.version)
            let connection = hosted.connection
            #expect(try await connection.call(.runtimePingRequest) == .empty)

            let check = try await connection.call(.runtimeCheckTxBatchRequest(RuntimeCheckTxBatchRequest(
                inputs: [KVTransaction.insert(key: "k", value: "v").encoded, [0x00]])))
            guard case .runtimeCheckTxBatchResponse(let results) = check else {
                Issue.record("check-tx answered \(check.kind)")
                return ChildProcess.Termination.exited(-1)
            }
            #expect(results.results.map(\.isSuccess) == [true, false])

            let query = try await connection.call(.runtimeQueryRequest(RuntimeQueryRequest(method: "get_runtime_id")))
            #expect(query == .runtimeQueryResponse(RuntimeQueryResponse(data: .textString(runtimeID.description))))

            // Execute reads state from the host; this host serves no storage, which the runtime
            // reports as a dispatcher error naming the key.
            await #expect {
                _ = try await connection.call(.runtimeExecuteTxBatchRequest(RuntimeExecuteTxBatchRequest(
                    inputs: [KVTransaction.insert(key: "k", value: "v").encoded],
                    block: Block(header: BlockHeader(namespace: runtimeID, round: 1, stateRoot: .empty)))))
            } throws: { error in
                (error as? RemoteError)?.module == "dispatcher"
                    && "\(error)" == "state read of key \"k\" failed: method not supported"
            }
            await connection.close()
            return try await withDeadline(.seconds(120), "kv-runtime exiting") { await hosted.process.exitStatus() }
        }
        #expect(status == .exited(0))
    }

    @Test(
        "an independent Python host drives kv-runtime: exact handshake and ping bytes, queries, an execute batch with storage reads, oversize and garbage input",
        .enabled(if: pythonPeerAvailable, "needs python3 with cbor2"),
        arguments: ["protocol", "not-configured", "oversize", "garbage", "garbage-stream", "execute"])
    func pythonHost(scenario: String) async throws {
        let child = try ChildProcess.launch(
            executable: "python3", arguments: [pythonHostScript, kvRuntimeBinary, scenario],
            environment: ProcessInfo.processInfo.environment)
        let status = try await withDeadline(.seconds(300), "the Python host scenario \(scenario)") { await child.exitStatus() }
        #expect(status == .exited(0), "host_peer.py \(scenario) failed; its reason is on stderr")
    }
}
