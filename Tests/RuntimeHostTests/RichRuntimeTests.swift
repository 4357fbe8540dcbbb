import ConsensusAPI
import OasisCBOR
import OasisCommon
import RuntimeHost
import RuntimeHostProtocol
import Synchronization
import Testing

/// A hosted runtime that answers every call with a scripted result and counts the calls.
final class ScriptedRuntime: HostedRuntime {
    let id = Fixtures.runtimeID
    private let answer: @Sendable (Body) throws -> Body
    private let calls = Mutex<[Body]>([])

    init(_ answer: @escaping @Sendable (Body) throws -> Body) {
        self.answer = answer
    }

    var received: [Body] { calls.withLock { $0 } }

    func call(_ body: Body, timeout: Duration?) async throws -> Body {
        calls.withLock { $0.append(body) }
        return try answer(body)
    }

    func events() -> AsyncStream<HostEvent> { AsyncStream { $0.finish() } }
    func start() {}
    func abort(force: Bool) async throws {}
    func stop() {}
    func run() async throws {}
}

struct CallFailed: Error, CustomStringConvertible {
    var description: String { "rhp: channel closed" }
}

@Suite("RichRuntime")
struct RichRuntimeTests {
    static func checkTxAnswer(_ results: [CheckTxResult]) -> ScriptedRuntime {
        ScriptedRuntime { _ in .runtimeCheckTxBatchResponse(RuntimeCheckTxBatchResponse(results: results)) }
    }

    @Test("check-tx without a block or light block is an invalid argument and sends nothing")
    func checkTxMissingArguments() async throws {
        let runtime = Self.checkTxAnswer([CheckTxResult()])
        let rich = RichRuntime(runtime)
        for (block, light) in [(nil, LightBlock()), (Block(), nil), (nil, nil)] as [(Block?, LightBlock?)] {
            let error = await #expect(throws: RichRuntimeError.self) {
                try await rich.checkTx(block: block, lightBlock: light, transaction: [1])
            }
            #expect(error == .invalidArgument)
            #expect(error?.description == "runtime: invalid argument")
        }
        #expect(runtime.received.isEmpty)
    }

    @Test("check-tx with a result whose error is empty succeeds, and sends the transaction as the only input")
    func checkTxSuccess() async throws {
        let runtime = Self.checkTxAnswer([CheckTxResult(error: ErrorBody(), meta: .textString("ignored"))])
        try await RichRuntime(runtime).checkTx(block: Block(), lightBlock: LightBlock(height: 7), transaction: [1, 2])
        guard case .runtimeCheckTxBatchRequest(let request) = try #require(runtime.received.first) else {
            Issue.record("sent \(runtime.received)")
            return
        }
        #expect(request.inputs == [[1, 2]])
        #expect(request.consensusBlock.height == 7)
    }

    @Test("check-tx with a non-zero code fails with ErrCheckTxFailed and the runtime error's text")
    func checkTxFailed() async throws {
        let runtime = Self.checkTxAnswer([CheckTxResult(error: ErrorBody(module: "x", code: 4, message: "bad nonce"))])
        let error = await #expect(throws: RichRuntimeError.self) {
            try await RichRuntime(runtime).checkTx(block: Block(), lightBlock: LightBlock(), transaction: [1])
        }
        #expect(error.map { RichRuntimeError.checkTxFailed.matches($0) } == true)
        #expect(error?.description == "runtime: check tx failed: runtime error: module: x code: 4 message: bad nonce")
    }

    @Test("check-tx with a code but no module still fails: only the code decides")
    func checkTxCodeOnly() async throws {
        let runtime = Self.checkTxAnswer([CheckTxResult(error: ErrorBody(code: 1))])
        let error = await #expect(throws: RichRuntimeError.self) {
            try await RichRuntime(runtime).checkTx(block: Block(), lightBlock: LightBlock(), transaction: [1])
        }
        #expect(error?.kind == .checkTxFailed)
    }

    @Test("check-tx with two results, or with another body, is an internal error: malformed runtime response")
    func checkTxMalformed() async throws {
        let two = Self.checkTxAnswer([CheckTxResult(), CheckTxResult()])
        let countError = await #expect(throws: RichRuntimeError.self) {
            try await RichRuntime(two).checkTx(block: Block(), lightBlock: LightBlock(), transaction: [1])
        }
        #expect(countError?.kind == .internal)
        #expect(countError?.description == "runtime: internal error: malformed runtime response: incorrect number of results")

        let other = ScriptedRuntime { _ in .empty }
        let bodyError = await #expect(throws: RichRuntimeError.self) {
            try await RichRuntime(other).checkTx(block: Block(), lightBlock: LightBlock(), transaction: [1])
        }
        #expect(bodyError.map { RichRuntimeError.internal.matches($0) } == true)
        #expect(bodyError?.description == "runtime: internal error: malformed runtime response")
    }

    @Test("check-tx whose call fails is an internal error with the call's error appended")
    func checkTxCallFails() async throws {
        let runtime = ScriptedRuntime { _ in throw CallFailed() }
        let error = await #expect(throws: RichRuntimeError.self) {
            try await RichRuntime(runtime).checkTx(block: Block(), lightBlock: LightBlock(), transaction: [1])
        }
        #expect(error?.kind == .internal)
        #expect(error?.description == "runtime: internal error: rhp: channel closed")
    }

    @Test("query without a block is an invalid argument; a failed call's error comes back unwrapped")
    func queryErrors() async throws {
        let failing = ScriptedRuntime { _ in throw CallFailed() }
        let invalid = await #expect(throws: RichRuntimeError.self) {
            _ = try await RichRuntime(failing).query(block: nil, method: "hello")
        }
        #expect(invalid == .invalidArgument)
        #expect(failing.received.isEmpty)
        await #expect(throws: CallFailed.self) {
            _ = try await RichRuntime(failing).query(block: Block(), method: "hello")
        }
        let wrong = ScriptedRuntime { _ in .empty }
        let malformed = await #expect(throws: RichRuntimeError.self) {
            _ = try await RichRuntime(wrong).query(block: Block(), method: "hello")
        }
        #expect(malformed?.description == "runtime: internal error: malformed runtime response")
    }

    @Test("query sends the method, the block's header and the arguments, and returns data as is")
    func querySends() async throws {
        let runtime = ScriptedRuntime { _ in .runtimeQueryResponse(RuntimeQueryResponse(data: nil)) }
        var block = Block()
        block.header.round = 5
        let data = try await RichRuntime(runtime).query(block: block, method: "m", arguments: .unsignedInt(3))
        #expect(data == nil)
        guard case .runtimeQueryRequest(let request) = try #require(runtime.received.first) else { return }
        #expect(request.method == "m")
        #expect(request.header.round == 5)
        #expect(request.args == .unsignedInt(3))
    }

    @Test("with the mock runtime, query 'hello' returns the CBOR text 'hello world'")
    func mockQuery() async throws {
        let runtime = try await MockProvisioner().newRuntime(HostConfig(runtimeID: Fixtures.runtimeID, path: ""))
        let data = try #require(try await RichRuntime(runtime).query(block: Block(), method: "hello"))
        #expect(data == .textString("hello world"))
        #expect(try CBOREncoder().encode(data) == [0x6b, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x77, 0x6f, 0x72, 0x6c, 0x64])
    }

    @Test("the typed helpers unwrap local RPC, RPC, policy update and execute answers")
    func otherHelpers() async throws {
        let runtime = ScriptedRuntime { body in
            switch body {
            case .runtimeLocalRPCCallRequest(let call): .runtimeLocalRPCCallResponse(RuntimeLocalRPCCallResponse(response: call.request.reversed()))
            case .runtimeRPCCallRequest(let call): .runtimeRPCCallResponse(RuntimeRPCCallResponse(response: call.request + [0]))
            case .runtimeKeyManagerPolicyUpdateRequest: .runtimeKeyManagerPolicyUpdateResponse
            case .runtimeExecuteTxBatchRequest: .runtimeExecuteTxBatchResponse(RuntimeExecuteTxBatchResponse())
            default: .empty
            }
        }
        let rich = RichRuntime(runtime)
        #expect(try await rich.localRPC([1, 2]) == [2, 1])
        #expect(try await rich.rpc([1]) == [1, 0])
        try await rich.updateKeyManagerPolicy(signedPolicyRaw: [0xa0])
        #expect(try await rich.executeTxBatch(RuntimeExecuteTxBatchRequest()) == ComputedBatch())
        let wrong = RichRuntime(ScriptedRuntime { _ in .empty })
        await #expect(throws: RichRuntimeError.self) { _ = try await wrong.localRPC([1]) }
    }
}
