public import ConsensusAPI
public import OasisCBOR
public import OasisCommon
public import RuntimeHostProtocol

/// The errors of ``RichRuntime`` (oasis-core's `ErrInvalidArgument`, `ErrCheckTxFailed` and
/// `ErrInternal`): plain errors with no module or code, so sent over RHP they map to
/// `unknown`/1, as in v21.1. Compare with ``matches(_:)`` (Go's `errors.Is`).
public struct RichRuntimeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Which sentinel.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The sentinel's message.
        public let message: String
        private init(_ message: String) { self.message = message }
        public var description: String { message }

        /// `runtime: invalid argument`
        public static let invalidArgument = Kind("runtime: invalid argument")
        /// `runtime: check tx failed`
        public static let checkTxFailed = Kind("runtime: check tx failed")
        /// `runtime: internal error`
        public static let `internal` = Kind("runtime: internal error")
    }

    /// The sentinel this error is (or wraps).
    public let kind: Kind
    /// What was wrapped, if anything.
    public let detail: String?

    /// The error of `kind`, wrapping `detail`.
    public init(_ kind: Kind, detail: String? = nil) {
        self.kind = kind
        self.detail = detail
    }

    /// `ErrInvalidArgument`.
    public static let invalidArgument = RichRuntimeError(.invalidArgument)
    /// `ErrCheckTxFailed`.
    public static let checkTxFailed = RichRuntimeError(.checkTxFailed)
    /// `ErrInternal`.
    public static let `internal` = RichRuntimeError(.internal)

    /// `<sentinel>` or `<sentinel>: <detail>`.
    public var description: String { detail.map { "\(kind.message): \($0)" } ?? kind.message }

    /// Whether `error` is this sentinel or wraps it.
    public func matches(_ error: any Error) -> Bool {
        (error as? RichRuntimeError)?.kind == kind
    }
}

/// A hosted runtime with typed helpers for the requests a node sends (oasis-core's
/// `host.RichRuntime`). Every ``HostedRuntime`` requirement passes straight through.
public struct RichRuntime: HostedRuntime {
    /// The wrapped runtime.
    public let runtime: any HostedRuntime

    /// Wraps `runtime`.
    public init(_ runtime: any HostedRuntime) {
        self.runtime = runtime
    }

    // MARK: Pass-through

    public var id: Namespace { runtime.id }
    public func call(_ body: Body, timeout: Duration?) async throws -> Body { try await runtime.call(body, timeout: timeout) }
    public func events() -> AsyncStream<HostEvent> { runtime.events() }
    public func start() { runtime.start() }
    public func abort(force: Bool) async throws { try await runtime.abort(force: force) }
    public func stop() { runtime.stop() }
    public func run() async throws { try await runtime.run() }

    // MARK: Helpers

    /// Checks one transaction (`CheckTx`).
    ///
    /// Throws ``RichRuntimeError/invalidArgument`` without calling the runtime when `block` or
    /// `lightBlock` is nil; `internal` when the call fails (with its error appended) or the
    /// answer is malformed; `checkTxFailed` (`runtime error: module: … code: … message: …`)
    /// when the result's error code is not 0 — only the code decides, and `meta` is ignored.
    public func checkTx(block: Block?, lightBlock: LightBlock?, transaction: [UInt8], timeout: Duration? = nil)
        async throws(RichRuntimeError)
    {
        guard let block, let lightBlock else { throw .invalidArgument }
        let response: Body
        do {
            response = try await runtime.call(
                .runtimeCheckTxBatchRequest(
                    RuntimeCheckTxBatchRequest(consensusBlock: lightBlock, inputs: [transaction], block: block)),
                timeout: timeout)
        } catch {
            throw RichRuntimeError(.internal, detail: "\(error)")
        }
        guard case .runtimeCheckTxBatchResponse(let batch) = response else {
            throw RichRuntimeError(.internal, detail: "malformed runtime response")
        }
        guard batch.results.count == 1 else {
            throw RichRuntimeError(.internal, detail: "malformed runtime response: incorrect number of results")
        }
        let error = batch.results[0].error
        guard error.code == 0 else {
            throw RichRuntimeError(
                .checkTxFailed,
                detail: "runtime error: module: \(error.module) code: \(error.code) message: \(error.message)")
        }
    }

    /// Checks several transactions in one `CheckTx` call; one result per transaction, in order:
    /// `nil` for an accepted transaction, the runtime's error text (`runtime error: module: …
    /// code: … message: …`) for a refused one.
    ///
    /// Throws ``RichRuntimeError/invalidArgument`` when `block` or `lightBlock` is nil, and
    /// `internal` when the call fails or the answer is malformed (not one result per input).
    public func checkTxBatch(block: Block?, lightBlock: LightBlock?, transactions: [[UInt8]], timeout: Duration? = nil)
        async throws(RichRuntimeError) -> [String?]
    {
        guard let block, let lightBlock else { throw .invalidArgument }
        guard !transactions.isEmpty else { return [] }
        let response: Body
        do {
            response = try await runtime.call(
                .runtimeCheckTxBatchRequest(
                    RuntimeCheckTxBatchRequest(consensusBlock: lightBlock, inputs: transactions, block: block)),
                timeout: timeout)
        } catch {
            throw RichRuntimeError(.internal, detail: "\(error)")
        }
        guard case .runtimeCheckTxBatchResponse(let batch) = response else {
            throw RichRuntimeError(.internal, detail: "malformed runtime response")
        }
        guard batch.results.count == transactions.count else {
            throw RichRuntimeError(.internal, detail: "malformed runtime response: incorrect number of results")
        }
        return batch.results.map { result in
            result.error.code == 0
                ? nil
                : "runtime error: module: \(result.error.module) code: \(result.error.code) message: \(result.error.message)"
        }
    }

    /// Runs a read-only query against `block` (`Query`) and returns its `data` (possibly nil).
    ///
    /// Throws ``RichRuntimeError/invalidArgument`` when `block` is nil, the call's own error
    /// unchanged when it fails, and `internal` (`malformed runtime response`) for a wrong answer.
    public func query(block: Block?, method: String, arguments: CBORValue = .null, timeout: Duration? = nil)
        async throws -> CBORValue?
    {
        guard let block else { throw RichRuntimeError.invalidArgument }
        let response = try await runtime.call(
            .runtimeQueryRequest(RuntimeQueryRequest(method: method, header: block.header, args: arguments)),
            timeout: timeout)
        guard case .runtimeQueryResponse(let answer) = response else {
            throw RichRuntimeError(.internal, detail: "malformed runtime response")
        }
        return answer.data
    }

    /// Executes a batch (what the executor worker sends with `Call` in v21.1) and returns the
    /// computed batch. A wrong answer throws `internal` (`malformed runtime response`); a failed
    /// call throws its own error (the executor then aborts the runtime).
    public func executeTxBatch(_ request: RuntimeExecuteTxBatchRequest, timeout: Duration? = nil) async throws
        -> ComputedBatch
    {
        let response = try await runtime.call(.runtimeExecuteTxBatchRequest(request), timeout: timeout)
        guard case .runtimeExecuteTxBatchResponse(let answer) = response else {
            throw RichRuntimeError(.internal, detail: "malformed runtime response")
        }
        return answer.batch
    }

    /// A local RPC call into the runtime (the key manager's `init`); returns the response bytes.
    public func localRPC(_ request: [UInt8], timeout: Duration? = nil) async throws -> [UInt8] {
        let response = try await runtime.call(
            .runtimeLocalRPCCallRequest(RuntimeLocalRPCCallRequest(request: request)), timeout: timeout)
        guard case .runtimeLocalRPCCallResponse(let answer) = response else {
            throw RichRuntimeError(.internal, detail: "malformed runtime response")
        }
        return answer.response
    }

    /// An enclave RPC call from a remote client into the runtime; returns the response bytes.
    public func rpc(_ request: [UInt8], timeout: Duration? = nil) async throws -> [UInt8] {
        let response = try await runtime.call(
            .runtimeRPCCallRequest(RuntimeRPCCallRequest(request: request)), timeout: timeout)
        guard case .runtimeRPCCallResponse(let answer) = response else {
            throw RichRuntimeError(.internal, detail: "malformed runtime response")
        }
        return answer.response
    }

    /// Hands the runtime a new signed key-manager policy (CBOR of the signed policy).
    public func updateKeyManagerPolicy(signedPolicyRaw: [UInt8], timeout: Duration? = nil) async throws {
        let response = try await runtime.call(
            .runtimeKeyManagerPolicyUpdateRequest(RuntimeKeyManagerPolicyUpdateRequest(signedPolicyRaw: signedPolicyRaw)),
            timeout: timeout)
        guard case .runtimeKeyManagerPolicyUpdateResponse = response else {
            throw RichRuntimeError(.internal, detail: "malformed runtime response")
        }
    }
}
