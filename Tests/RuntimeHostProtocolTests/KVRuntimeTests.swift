import ConsensusAPI
import Foundation
import OasisCBOR
import OasisCommon
import RuntimeHostProtocol
import RuntimeHostProtocolTesting
import RuntimeStorage
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
        #expect(throws: KVTransaction.Malformed.self) {
            try KVTransaction(decoding: try CBORValue.map([.init(key: .textString("method"), value: .textString("fly"))]).encoded())
        }
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
        #expect(result.stateWriteLog == [
            WriteLogEntry(key: Array("a".utf8), value: Array("new".utf8)), WriteLogEntry(key: Array("b".utf8), value: []),
        ])
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

    @Test("an abort stops the batch at the next transaction")
    func abort() async throws {
        await #expect(throws: BatchAborted.self) {
            _ = try await executeBatch([KVTransaction.get(key: "a").encoded], isAborted: { true }, read: { _ in nil })
        }
    }
}

@Suite(
    "kv-runtime as a process",
    .enabled(if: FileManager.default.isExecutableFile(atPath: kvRuntimeBinary), "needs the kv-runtime binary"))
struct KVRuntimeProcessTests {
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
                return Int32(-1)
            }
            #expect(results.results.map(\.isSuccess) == [true, false])

            let query = try await connection.call(.runtimeQueryRequest(RuntimeQueryRequest(method: "get_runtime_id")))
            #expect(query == .runtimeQueryResponse(RuntimeQueryResponse(data: .textString(runtimeID.description))))

            // Execute needs state; this build reports what it lacks, as a dispatcher error.
            await #expect {
                _ = try await connection.call(.runtimeExecuteTxBatchRequest(RuntimeExecuteTxBatchRequest(
                    inputs: [KVTransaction.insert(key: "k", value: "v").encoded],
                    block: Block(header: BlockHeader(namespace: runtimeID, round: 1, stateRoot: .empty)))))
            } throws: { error in
                (error as? RemoteError)?.module == "dispatcher" && "\(error)".contains("Merkle scheme")
            }
            await connection.close()
            return try await withDeadline(.seconds(30), "kv-runtime exiting") { await hosted.process.exitStatus() }
        }
        #expect(status == 0)
    }

    @Test(
        "an independent Python host drives kv-runtime: exact handshake and ping bytes, queries, oversize and garbage input",
        .enabled(if: pythonPeerAvailable, "needs python3 with cbor2"),
        arguments: ["protocol", "not-configured", "oversize", "garbage", "garbage-stream"])
    func pythonHost(scenario: String) async throws {
        let child = try ChildProcess.launch(
            executable: "python3", arguments: [pythonHostScript, kvRuntimeBinary, scenario],
            environment: ProcessInfo.processInfo.environment)
        let status = try await withDeadline(.seconds(60), "the Python host scenario \(scenario)") { await child.exitStatus() }
        #expect(status == 0, "host_peer.py \(scenario) failed; its reason is on stderr")
    }
}
