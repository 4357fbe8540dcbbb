import ConsensusAPI
import Logging
import OasisCBOR
import OasisCommon
import RuntimeHostProtocol
import RuntimeStorage
import Synchronization

/// The runtime's answers to the host (the guest side of RHP).
///
/// Like the v21.1 Rust runtime it refuses everything but info and ping until the host has sent
/// `RuntimeInfoRequest`, and refuses what a runtime never serves (shutdown, `Host*` requests)
/// with `method not supported`; all of these are module `dispatcher`, code 1. Requests are
/// served concurrently.
///
/// An abort fails every batch that started before it, at the batch's next transaction, and is
/// answered once those batches have ended (v21.1's runtime answers an abort when its
/// dispatcher has acknowledged it): when the host gets the answer, nothing it aborted still
/// runs, and a batch it sends next is not affected. A batch stuck in a host call holds the
/// answer back, and the host's abort deadline then kills the runtime.
final class KVHandler: RequestHandler {
    /// The runtime's own version, reported in the handshake.
    static let version = Version(major: 0, minor: 1, patch: 0)

    private struct Environment {
        var runtimeID: Namespace?
        /// The number of the last batch that started (batches are numbered from 1).
        var lastBatch: UInt64 = 0
        /// Batches that have started and not ended.
        var runningBatches: Set<UInt64> = []
        /// Every batch numbered up to this one is aborted.
        var abortedThrough: UInt64 = 0
        /// Aborts waiting for the batches they abort (numbered up to `through`) to end.
        var abortWaiters: [(through: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let environment = Mutex(Environment())
    private let state: any KVStateAccess
    private let logger: Logger

    init(state: any KVStateAccess, logger: Logger) {
        self.state = state
        self.logger = logger
    }

    /// A `dispatcher`/1 error, as the Rust runtime reports protocol and dispatch failures.
    static func dispatcherError(_ message: String) -> CodedError {
        CodedError(module: "dispatcher", code: 1, message: message)
    }

    /// Pings need nothing but the connection: answered on the event loop as they are read.
    func immediateAnswer(to request: Body) -> Body? {
        if case .runtimePingRequest = request { return .empty }
        return nil
    }

    func handle(_ request: Body) async throws -> Body {
        switch request {
        case .runtimeInfoRequest(let info):
            environment.withLock { $0.runtimeID = info.runtimeID }
            logger.info("kv-runtime: host environment configured", metadata: ["runtime.id": "\(info.runtimeID)"])
            return .runtimeInfoResponse(RuntimeInfoResponse(
                protocolVersion: .runtimeHostProtocol, runtimeVersion: Self.version))
        case .runtimePingRequest:
            return .empty
        case .runtimeShutdownRequest, .hostRPCCallRequest, .hostStorageSyncRequest, .hostLocalStorageGetRequest,
            .hostLocalStorageSetRequest, .runtimeCapabilityTEERakInitRequest, .runtimeCapabilityTEERakReportRequest,
            .runtimeCapabilityTEERakAvrRequest:
            throw Self.dispatcherError("method not supported")
        default:
            break
        }
        guard let runtimeID = environment.withLock({ $0.runtimeID }) else {
            throw Self.dispatcherError("host environment information not configured")
        }
        switch request {
        case .runtimeAbortRequest:
            await abortRunningBatches()
            return .runtimeAbortResponse
        case .runtimeCheckTxBatchRequest(let check):
            return .runtimeCheckTxBatchResponse(RuntimeCheckTxBatchResponse(results: check.inputs.map(checkTx)))
        case .runtimeExecuteTxBatchRequest(let execute):
            let batch = try await dispatching { try await executeTx(execute) }
            return .runtimeExecuteTxBatchResponse(RuntimeExecuteTxBatchResponse(batch: batch))
        case .runtimeQueryRequest(let query):
            let data = try await dispatching { try await self.query(query, runtimeID: runtimeID) }
            return .runtimeQueryResponse(RuntimeQueryResponse(data: data))
        case .runtimeLocalRPCCallRequest(let call):
            return .runtimeLocalRPCCallResponse(RuntimeLocalRPCCallResponse(
                response: try localRPC(call.request, runtimeID: runtimeID)))
        case .runtimeRPCCallRequest, .runtimeKeyManagerPolicyUpdateRequest:
            // No enclave RPC and no key manager in this runtime.
            throw Self.dispatcherError("method not supported")
        default:
            throw Self.dispatcherError("method not supported")
        }
    }

    /// Runs `body`, reporting any failure that carries no code of its own as `dispatcher`/1,
    /// as the Rust runtime reports dispatch failures.
    private func dispatching<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let coded as CodedError {
            throw coded
        } catch {
            throw Self.dispatcherError("\(error)")
        }
    }

    /// Check-tx only checks that the input is a transaction this runtime knows.
    private func checkTx(_ input: [UInt8]) -> CheckTxResult {
        do {
            _ = try KVTransaction(decoding: input)
            return CheckTxResult()
        } catch {
            return CheckTxResult(error: ErrorBody(module: "kv", code: 1, message: error.description))
        }
    }

    /// How many aborts wait for batches to end (for tests).
    var waitingAborts: Int { environment.withLock { $0.abortWaiters.count } }

    /// Aborts every batch that has started, and returns once each of them has ended.
    private func abortRunningBatches() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = environment.withLock { e -> Bool in
                e.abortedThrough = e.lastBatch
                // Every running batch is numbered up to `lastBatch`, so all of them are aborted.
                guard e.runningBatches.isEmpty else {
                    e.abortWaiters.append((e.lastBatch, continuation))
                    return false
                }
                return true
            }
            if idle { continuation.resume() }
        }
    }

    /// Runs a batch under the next number, so that an abort fails it exactly when the abort
    /// came after it started.
    private func runningBatch<T>(_ body: (_ isAborted: @escaping @Sendable () -> Bool) async throws -> T) async throws -> T {
        let number = environment.withLock { e in
            e.lastBatch += 1
            e.runningBatches.insert(e.lastBatch)
            return e.lastBatch
        }
        defer {
            let released = environment.withLock { e -> [CheckedContinuation<Void, Never>] in
                e.runningBatches.remove(number)
                let oldest = e.runningBatches.min() ?? .max
                let done = e.abortWaiters.filter { $0.through < oldest }
                e.abortWaiters.removeAll { $0.through < oldest }
                return done.map(\.continuation)
            }
            for waiter in released { waiter.resume() }
        }
        return try await body { self.environment.withLock { $0.abortedThrough >= number } }
    }

    private func executeTx(_ request: RuntimeExecuteTxBatchRequest) async throws -> ComputedBatch {
        try await runningBatch { isAborted in try await executeTx(request, isAborted: isAborted) }
    }

    private func executeTx(_ request: RuntimeExecuteTxBatchRequest, isAborted: () -> Bool) async throws -> ComputedBatch {
        let header = request.block.header
        let (round, overflow) = header.round.addingReportingOverflow(1)
        guard !overflow else { throw Self.dispatcherError("block round \(header.round) is the last one; no round follows it") }
        let stateRoot = StorageRoot(namespace: header.namespace, version: header.round, type: .state, hash: header.stateRoot)
        let result: BatchResult
        do {
            result = try await executeBatch(
                request.inputs, isAborted: isAborted,
                prefetch: { keys in await state.prefetch(keys, at: stateRoot) },
                read: { key in try await state.value(of: key, at: stateRoot) })
            // The new roots may need more host reads: an abort that came meanwhile ends it here.
            if isAborted() { throw BatchAborted() }
        } catch let aborted as BatchAborted {
            throw Self.dispatcherError(aborted.description)
        }
        let ioWriteLog = try IOTreeLayout.writeLog(transactions: result.artifacts, tags: result.tags)
        let newStateRoot = try await state.stateRoot(after: result.stateWriteLog, on: stateRoot)
        let ioRoot = try state.ioRoot(of: ioWriteLog)
        logger.debug(
            "kv-runtime: executed batch",
            metadata: ["runtime.round": "\(round)", "runtime.transactions": "\(request.inputs.count)"])
        return ComputedBatch(
            header: ComputeResultsHeader(
                round: round, previousHash: header.encodedHash(), ioRoot: ioRoot, stateRoot: newStateRoot,
                messagesHash: RuntimeMessage.messagesHash([])),
            ioWriteLog: ioWriteLog, stateWriteLog: result.stateWriteLog, rakSig: .zero, messages: [])
    }

    /// Queries: `get_runtime_id` (no arguments) and `get` (args: the key as text, or `{key}`).
    private func query(_ request: RuntimeQueryRequest, runtimeID: Namespace) async throws -> CBORValue {
        switch request.method {
        case "get_runtime_id":
            return .textString(runtimeID.description)
        case "get":
            let key: String
            switch request.args {
            case .textString(let text): key = text
            case let args where args["key"] != nil:
                guard case .textString(let text) = args["key"] else { throw Self.dispatcherError("malformed query") }
                key = text
            default: throw Self.dispatcherError("malformed query")
            }
            let root = StorageRoot(
                namespace: request.header.namespace, version: request.header.round, type: .state,
                hash: request.header.stateRoot)
            return KVOutput.text(try await state.value(of: Array(key.utf8), at: root))
        default:
            throw Self.dispatcherError("query not supported")
        }
    }

    /// Local RPC: CBOR `{method, args}`; `get_runtime_id` answers the runtime id as text.
    private func localRPC(_ request: [UInt8], runtimeID: Namespace) throws -> [UInt8] {
        guard let call = try? CBORValue(decoding: request), case .textString(let method) = call["method"] else {
            throw Self.dispatcherError("malformed request")
        }
        switch method {
        case "get_runtime_id": return try CBORValue.textString(runtimeID.description).encoded()
        default: throw Self.dispatcherError("method not supported")
        }
    }
}
