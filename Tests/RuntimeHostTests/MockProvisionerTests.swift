import ConsensusAPI
import OasisCommon
import RuntimeHost
import RuntimeHostProtocol
import RuntimeStorage
import Testing

/// The mock provisioner (host.md §7) and, in its form, the provisioner suite.
@Suite("Mock provisioner")
struct MockProvisionerTests {
    func runtime() async throws -> any HostedRuntime {
        try await MockProvisioner().newRuntime(HostConfig(runtimeID: Fixtures.runtimeID, path: "/ignored"))
    }

    /// Collects the events `body` causes (the mock emits synchronously), then ends the service.
    func events(of runtime: any HostedRuntime, _ body: () async throws -> Void) async throws -> [String] {
        let log = EventLog()
        let stream = runtime.events()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run() }
            try await body()
            // run() ends the subscription when its group shuts it down: cancel it.
            group.cancelAll()
            try await group.waitForAll()
            await log.record(stream)
            return log.kinds
        }
    }

    @Test("Basic: start gives started with a zero version and no TEE, stop gives stopped; the id is the configured one")
    func basic() async throws {
        let runtime = try await runtime()
        #expect(runtime.id == Fixtures.runtimeID)
        var started: HostEvent?
        let stream = runtime.events()
        runtime.start()
        for await event in stream {
            started = event
            break
        }
        guard case .started(let version, let tee) = try #require(started) else {
            Issue.record("got \(String(describing: started))")
            return
        }
        #expect(version == Version())
        #expect(tee == nil)
        let kinds = try await events(of: runtime) { runtime.stop() }
        #expect(kinds == ["stopped"])
    }

    @Test("Restart: aborts return nil and cause no events")
    func restart() async throws {
        let runtime = try await runtime()
        let kinds = try await events(of: runtime) {
            runtime.start()
            try await runtime.abort(force: true)
            try await runtime.abort(force: false)
            try await runtime.abort(force: false)
        }
        #expect(kinds == ["started"])
    }

    @Test("start and stop are not idempotent: every call emits, as in v21.1; a late subscriber misses earlier events")
    func notIdempotent() async throws {
        let runtime = try await runtime()
        runtime.start()
        let kinds = try await events(of: runtime) {
            runtime.start()
            runtime.stop()
            runtime.stop()
        }
        #expect(kinds == ["started", "stopped", "stopped"])
    }

    @Test("check-tx with three inputs gives three results, all code 0")
    func checkTx() async throws {
        let answer = try await runtime().call(
            .runtimeCheckTxBatchRequest(RuntimeCheckTxBatchRequest(inputs: [[1], [2], [3]])))
        guard case .runtimeCheckTxBatchResponse(let response) = answer else {
            Issue.record("got \(answer)")
            return
        }
        #expect(response.results.count == 3)
        #expect(response.results.allSatisfy { $0.error.code == 0 && $0.meta == nil })
    }

    @Test("a ping is refused with '(mock) method not supported'")
    func ping() async throws {
        let error = await #expect(throws: MockMethodNotSupported.self) {
            try await runtime().call(.runtimePingRequest)
        }
        #expect(error?.description == "(mock) method not supported")
    }

    @Test("execute at round r gives round r+1, the block's hash as previous hash, empty state and messages hashes")
    func execute() async throws {
        var block = Block.genesis(namespace: Fixtures.runtimeID, timestamp: 1)
        block.header.round = 41
        let answer = try await runtime().call(
            .runtimeExecuteTxBatchRequest(RuntimeExecuteTxBatchRequest(inputs: [[0xaa], [0xbb]], block: block)))
        guard case .runtimeExecuteTxBatchResponse(let response) = answer else {
            Issue.record("got \(answer)")
            return
        }
        let header = response.batch.header
        #expect(header.round == 42)
        #expect(header.previousHash == block.header.encodedHash())
        #expect(header.stateRoot == .empty)
        #expect(header.messagesHash == .empty)
        #expect(response.batch.stateWriteLog.isEmpty)
        #expect(response.batch.messages.isEmpty)

        // The I/O tree: both transactions are the first input (v21.1's quirk), each tagged
        // txn_foo = txn_bar; io_root is the root of our Merkle trie over that write log.
        let (transactions, tags) = try IOTreeLayout.parse(response.batch.ioWriteLog)
        #expect(transactions.allSatisfy { $0.input == [0xaa] && $0.output == [0xaa] })
        #expect(tags.allSatisfy { $0.key == Array("txn_foo".utf8) && $0.value == Array("txn_bar".utf8) })
        #expect(!tags.isEmpty)
        #expect(header.ioRoot == (try MerkleTree().applying(response.batch.ioWriteLog)).hash)
    }
}
