public import ConsensusAPI
public import OasisCBOR
public import OasisCommon
public import RuntimeStorage

// Payloads of the requests the host sends to the runtime and of the runtime's answers
// (host.md §3.5 rows 3–26). Byte fields are always written as byte strings (an empty one when
// there is nothing), never as `null`; `null` or an absent key reads as empty.

/// `RuntimeInfoRequest`: the handshake request, telling the runtime who it is and what
/// consensus it runs on.
public struct RuntimeInfoRequest: Hashable, Sendable {
    /// The runtime the host started.
    public var runtimeID: Namespace
    /// The consensus backend name (`tendermint`).
    public var consensusBackend: String
    /// Packed `major << 32 | minor << 16 | patch`.
    public var consensusProtocolVersion: UInt64
    /// The chain domain separation context.
    public var consensusChainContext: String

    /// A handshake request.
    public init(runtimeID: Namespace, consensusBackend: String = "", consensusProtocolVersion: UInt64 = 0,
                consensusChainContext: String = "") {
        self.runtimeID = runtimeID
        self.consensusBackend = consensusBackend
        self.consensusProtocolVersion = consensusProtocolVersion
        self.consensusChainContext = consensusChainContext
    }
}

extension RuntimeInfoRequest: Codable {
    enum CodingKeys: String, CodingKey {
        case runtimeID = "runtime_id"
        case consensusBackend = "consensus_backend"
        case consensusProtocolVersion = "consensus_protocol_version"
        case consensusChainContext = "consensus_chain_context"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        runtimeID = try c.decode(Namespace.self, forKey: .runtimeID, orZero: Namespace(unchecked: .zero))
        consensusBackend = try c.decode(String.self, forKey: .consensusBackend, orZero: "")
        consensusProtocolVersion = try c.decode(UInt64.self, forKey: .consensusProtocolVersion, orZero: 0)
        consensusChainContext = try c.decode(String.self, forKey: .consensusChainContext, orZero: "")
    }
}

/// `RuntimeInfoResponse`: the runtime's protocol and own versions, both packed.
///
/// The raw u64s are kept so the message round-trips; ``protocolVersion`` and
/// ``runtimeVersion`` unpack them with v21.1's 8-bit-per-component quirk.
public struct RuntimeInfoResponse: Hashable, Sendable {
    /// The RHP version the runtime speaks, packed.
    public var packedProtocolVersion: UInt64
    /// The runtime's own version, packed.
    public var packedRuntimeVersion: UInt64

    /// An answer with raw packed versions.
    public init(packedProtocolVersion: UInt64, packedRuntimeVersion: UInt64) {
        self.packedProtocolVersion = packedProtocolVersion
        self.packedRuntimeVersion = packedRuntimeVersion
    }

    /// An answer from versions (packed on the wire).
    public init(protocolVersion: Version, runtimeVersion: Version) {
        self.init(packedProtocolVersion: protocolVersion.packed, packedRuntimeVersion: runtimeVersion.packed)
    }

    /// The RHP version the runtime speaks.
    public var protocolVersion: Version { Version(packed: packedProtocolVersion) }
    /// The runtime's own version.
    public var runtimeVersion: Version { Version(packed: packedRuntimeVersion) }
}

extension RuntimeInfoResponse: Codable {
    enum CodingKeys: String, CodingKey {
        case packedProtocolVersion = "protocol_version"
        case packedRuntimeVersion = "runtime_version"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        packedProtocolVersion = try c.decode(UInt64.self, forKey: .packedProtocolVersion, orZero: 0)
        packedRuntimeVersion = try c.decode(UInt64.self, forKey: .packedRuntimeVersion, orZero: 0)
    }
}

/// `RuntimeCapabilityTEERakInitRequest`: the quoting enclave's SGX target info.
public struct RuntimeCapabilityTEERakInitRequest: Hashable, Sendable {
    /// The SGX target info.
    public var targetInfo: [UInt8]

    /// A RAK init request.
    public init(targetInfo: [UInt8] = []) {
        self.targetInfo = targetInfo
    }
}

extension RuntimeCapabilityTEERakInitRequest: Codable {
    enum CodingKeys: String, CodingKey { case targetInfo = "target_info" }

    public init(from decoder: any Decoder) throws {
        targetInfo = try decoder.container(keyedBy: CodingKeys.self).decodeBytes(forKey: .targetInfo)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeBytes(targetInfo, forKey: .targetInfo)
    }
}

/// `RuntimeCapabilityTEERakReportResponse`: the runtime attestation key and its SGX report.
public struct RuntimeCapabilityTEERakReportResponse: Hashable, Sendable {
    /// The runtime attestation public key.
    public var rakPub: PublicKey
    /// The SGX report binding the key.
    public var report: [UInt8]
    /// The nonce the report was made with.
    public var nonce: String

    /// A RAK report answer.
    public init(rakPub: PublicKey = PublicKey(raw: .zero), report: [UInt8] = [], nonce: String = "") {
        self.rakPub = rakPub
        self.report = report
        self.nonce = nonce
    }
}

extension RuntimeCapabilityTEERakReportResponse: Codable {
    enum CodingKeys: String, CodingKey {
        case rakPub = "rak_pub"
        case report, nonce
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rakPub = try c.decode(PublicKey.self, forKey: .rakPub, orZero: PublicKey(raw: .zero))
        report = try c.decodeBytes(forKey: .report)
        nonce = try c.decode(String.self, forKey: .nonce, orZero: "")
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rakPub, forKey: .rakPub)
        try c.encodeBytes(report, forKey: .report)
        try c.encode(nonce, forKey: .nonce)
    }
}

/// An attestation verification report from IAS with its signature (`ias.AVRBundle`).
public struct AVRBundle: Hashable, Sendable {
    /// The report body (JSON from IAS).
    public var body: [UInt8]
    /// IAS's certificate chain (PEM).
    public var certificateChain: [UInt8]
    /// IAS's signature over the body.
    public var signature: [UInt8]

    /// A bundle.
    public init(body: [UInt8] = [], certificateChain: [UInt8] = [], signature: [UInt8] = []) {
        self.body = body
        self.certificateChain = certificateChain
        self.signature = signature
    }
}

extension AVRBundle: Codable {
    enum CodingKeys: String, CodingKey {
        case body
        case certificateChain = "certificate_chain"
        case signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        body = try c.decodeBytes(forKey: .body)
        certificateChain = try c.decodeBytes(forKey: .certificateChain)
        signature = try c.decodeBytes(forKey: .signature)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeBytes(body, forKey: .body)
        try c.encodeBytes(certificateChain, forKey: .certificateChain)
        try c.encodeBytes(signature, forKey: .signature)
    }
}

/// `RuntimeCapabilityTEERakAvrRequest`: hands the runtime its attestation report.
public struct RuntimeCapabilityTEERakAvrRequest: Hashable, Sendable {
    /// The attestation report.
    public var avr: AVRBundle

    /// An AVR request.
    public init(avr: AVRBundle = AVRBundle()) {
        self.avr = avr
    }
}

extension RuntimeCapabilityTEERakAvrRequest: Codable {
    enum CodingKeys: String, CodingKey { case avr }

    public init(from decoder: any Decoder) throws {
        avr = try decoder.container(keyedBy: CodingKeys.self).decode(AVRBundle.self, forKey: .avr, orZero: AVRBundle())
    }
}

/// `RuntimeRPCCallRequest`: an opaque EnclaveRPC frame for the runtime.
public struct RuntimeRPCCallRequest: Hashable, Sendable {
    /// The EnclaveRPC frame.
    public var request: [UInt8]

    /// An RPC request.
    public init(request: [UInt8] = []) {
        self.request = request
    }
}

/// `RuntimeRPCCallResponse`: the runtime's EnclaveRPC answer.
public struct RuntimeRPCCallResponse: Hashable, Sendable {
    /// The EnclaveRPC answer frame.
    public var response: [UInt8]

    /// An RPC answer.
    public init(response: [UInt8] = []) {
        self.response = response
    }
}

/// `RuntimeLocalRPCCallRequest`: CBOR of `{method, args}` for the runtime's local RPC.
public struct RuntimeLocalRPCCallRequest: Hashable, Sendable {
    /// CBOR of `{method, args}`.
    public var request: [UInt8]

    /// A local RPC request.
    public init(request: [UInt8] = []) {
        self.request = request
    }
}

/// `RuntimeLocalRPCCallResponse`: the runtime's local RPC answer.
public struct RuntimeLocalRPCCallResponse: Hashable, Sendable {
    /// The answer, as the runtime encodes it.
    public var response: [UInt8]

    /// A local RPC answer.
    public init(response: [UInt8] = []) {
        self.response = response
    }
}

/// A payload that is one byte field named `request`.
private enum RequestKey: String, CodingKey { case request }
/// A payload that is one byte field named `response`.
private enum ResponseKey: String, CodingKey { case response }

extension RuntimeRPCCallRequest: Codable {
    public init(from decoder: any Decoder) throws {
        request = try decoder.container(keyedBy: RequestKey.self).decodeBytes(forKey: .request)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: RequestKey.self)
        try c.encodeBytes(request, forKey: .request)
    }
}

extension RuntimeRPCCallResponse: Codable {
    public init(from decoder: any Decoder) throws {
        response = try decoder.container(keyedBy: ResponseKey.self).decodeBytes(forKey: .response)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: ResponseKey.self)
        try c.encodeBytes(response, forKey: .response)
    }
}

extension RuntimeLocalRPCCallRequest: Codable {
    public init(from decoder: any Decoder) throws {
        request = try decoder.container(keyedBy: RequestKey.self).decodeBytes(forKey: .request)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: RequestKey.self)
        try c.encodeBytes(request, forKey: .request)
    }
}

extension RuntimeLocalRPCCallResponse: Codable {
    public init(from decoder: any Decoder) throws {
        response = try decoder.container(keyedBy: ResponseKey.self).decodeBytes(forKey: .response)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: ResponseKey.self)
        try c.encodeBytes(response, forKey: .response)
    }
}

/// `RuntimeCheckTxBatchRequest`: check transactions against the state of `block`.
public struct RuntimeCheckTxBatchRequest: Hashable, Sendable {
    /// The consensus light block the check runs against.
    public var consensusBlock: LightBlock
    /// The raw transactions.
    public var inputs: [[UInt8]]
    /// The latest runtime block: the state to check against.
    public var block: Block

    /// A check-tx request.
    public init(consensusBlock: LightBlock = LightBlock(), inputs: [[UInt8]] = [], block: Block = Block()) {
        self.consensusBlock = consensusBlock
        self.inputs = inputs
        self.block = block
    }
}

extension RuntimeCheckTxBatchRequest: Codable {
    enum CodingKeys: String, CodingKey {
        case consensusBlock = "consensus_block"
        case inputs, block
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        consensusBlock = try c.decode(LightBlock.self, forKey: .consensusBlock, orZero: LightBlock())
        inputs = try c.decode([GoBytes].self, forKey: .inputs, orZero: []).map(\.bytes)
        block = try c.decode(Block.self, forKey: .block, orZero: Block())
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(consensusBlock, forKey: .consensusBlock)
        try c.encode(inputs.map(GoBytes.init), forKey: .inputs)
        try c.encode(block, forKey: .block)
    }
}

/// The outcome of checking one transaction: `error` with code 0 means it passed.
public struct CheckTxResult: Hashable, Sendable {
    /// The check failure, or an empty body (code 0) for success.
    public var error: ErrorBody
    /// Runtime-specific metadata (`omitempty`).
    public var meta: CBORValue?

    /// A result; the defaults mean "passed, no metadata".
    public init(error: ErrorBody = ErrorBody(), meta: CBORValue? = nil) {
        self.error = error
        self.meta = meta
    }

    /// The transaction passed the check.
    public var isSuccess: Bool { error.code == 0 }
}

extension CheckTxResult: Codable {
    enum CodingKeys: String, CodingKey { case error, meta }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        error = try c.decode(ErrorBody.self, forKey: .error, orZero: ErrorBody())
        meta = c.contains(.meta) ? try c.decode(CBORValue.self, forKey: .meta) : nil
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(error, forKey: .error)
        try c.encodeIfPresent(meta, forKey: .meta)
    }
}

/// `RuntimeCheckTxBatchResponse`: one result per input, in order.
public struct RuntimeCheckTxBatchResponse: Hashable, Sendable {
    /// One result per input, in input order.
    public var results: [CheckTxResult]

    /// A check-tx answer.
    public init(results: [CheckTxResult] = []) {
        self.results = results
    }
}

extension RuntimeCheckTxBatchResponse: Codable {
    enum CodingKeys: String, CodingKey { case results }

    public init(from decoder: any Decoder) throws {
        results = try decoder.container(keyedBy: CodingKeys.self).decode([CheckTxResult].self, forKey: .results, orZero: [])
    }
}

/// `RuntimeExecuteTxBatchRequest`: execute a batch on top of `block`.
public struct RuntimeExecuteTxBatchRequest: Hashable, Sendable {
    /// The consensus light block the batch runs against.
    public var consensusBlock: LightBlock
    /// What consensus recorded about the previous round; `nil` is written as `null`.
    public var roundResults: RoundResults?
    /// The I/O root holding the batch's inputs.
    public var ioRoot: Hash
    /// The raw transactions, in batch order.
    public var inputs: [[UInt8]]
    /// The previous runtime block: the state to execute on.
    public var block: Block
    /// How many runtime messages the batch may emit.
    public var maxMessages: UInt32

    /// An execute request.
    public init(consensusBlock: LightBlock = LightBlock(), roundResults: RoundResults? = RoundResults(),
                ioRoot: Hash = .zero, inputs: [[UInt8]] = [], block: Block = Block(), maxMessages: UInt32 = 0) {
        self.consensusBlock = consensusBlock
        self.roundResults = roundResults
        self.ioRoot = ioRoot
        self.inputs = inputs
        self.block = block
        self.maxMessages = maxMessages
    }
}

extension RuntimeExecuteTxBatchRequest: Codable {
    enum CodingKeys: String, CodingKey {
        case consensusBlock = "consensus_block"
        case roundResults = "round_results"
        case ioRoot = "io_root"
        case inputs, block
        case maxMessages = "max_messages"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        consensusBlock = try c.decode(LightBlock.self, forKey: .consensusBlock, orZero: LightBlock())
        roundResults = try c.decodeIfPresent(RoundResults.self, forKey: .roundResults)
        ioRoot = try c.decode(Hash.self, forKey: .ioRoot, orZero: .zero)
        inputs = try c.decode([GoBytes].self, forKey: .inputs, orZero: []).map(\.bytes)
        block = try c.decode(Block.self, forKey: .block, orZero: Block())
        maxMessages = try c.decode(UInt32.self, forKey: .maxMessages, orZero: 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(consensusBlock, forKey: .consensusBlock)
        try c.encodeOrNull(roundResults, forKey: .roundResults)
        try c.encode(ioRoot, forKey: .ioRoot)
        try c.encode(inputs.map(GoBytes.init), forKey: .inputs)
        try c.encode(block, forKey: .block)
        try c.encode(maxMessages, forKey: .maxMessages)
    }
}

/// The result of executing a batch (`commitment.ComputedBatch`).
public struct ComputedBatch: Hashable, Sendable {
    /// The round, the previous block hash and the new roots.
    public var header: ComputeResultsHeader
    /// The writes making up the round's I/O tree (inputs, outputs, tags).
    public var ioWriteLog: WriteLog
    /// The state changes; an empty value deletes its key.
    public var stateWriteLog: WriteLog
    /// The runtime attestation key's signature; all zeroes outside a TEE.
    public var rakSig: RawSignature
    /// The runtime messages (staking and registry operations) for consensus to carry out; the
    /// header's `messagesHash` is ``ConsensusAPI/RuntimeMessage/messagesHash(_:)`` of them.
    public var messages: [RuntimeMessage]

    /// A computed batch.
    public init(header: ComputeResultsHeader = ComputeResultsHeader(), ioWriteLog: WriteLog = [],
                stateWriteLog: WriteLog = [], rakSig: RawSignature = .zero, messages: [RuntimeMessage] = []) {
        self.header = header
        self.ioWriteLog = ioWriteLog
        self.stateWriteLog = stateWriteLog
        self.rakSig = rakSig
        self.messages = messages
    }
}

extension ComputedBatch: Codable {
    enum CodingKeys: String, CodingKey {
        case header
        case ioWriteLog = "io_write_log"
        case stateWriteLog = "state_write_log"
        case rakSig = "rak_sig"
        case messages
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        header = try c.decode(ComputeResultsHeader.self, forKey: .header, orZero: ComputeResultsHeader())
        ioWriteLog = try c.decode(WriteLog.self, forKey: .ioWriteLog, orZero: [])
        stateWriteLog = try c.decode(WriteLog.self, forKey: .stateWriteLog, orZero: [])
        rakSig = try c.decode(RawSignature.self, forKey: .rakSig, orZero: .zero)
        messages = try c.decode([RuntimeMessage].self, forKey: .messages, orZero: [])
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(header, forKey: .header)
        try c.encode(ioWriteLog, forKey: .ioWriteLog)
        try c.encode(stateWriteLog, forKey: .stateWriteLog)
        try c.encode(rakSig, forKey: .rakSig)
        try c.encode(messages, forKey: .messages)
    }
}

/// `RuntimeExecuteTxBatchResponse`.
public struct RuntimeExecuteTxBatchResponse: Hashable, Sendable {
    /// The result of the batch.
    public var batch: ComputedBatch

    /// An execute answer.
    public init(batch: ComputedBatch = ComputedBatch()) {
        self.batch = batch
    }
}

extension RuntimeExecuteTxBatchResponse: Codable {
    enum CodingKeys: String, CodingKey { case batch }

    public init(from decoder: any Decoder) throws {
        batch = try decoder.container(keyedBy: CodingKeys.self).decode(ComputedBatch.self, forKey: .batch, orZero: ComputedBatch())
    }
}

/// `RuntimeKeyManagerPolicyUpdateRequest`: CBOR of a signed key-manager SGX policy.
public struct RuntimeKeyManagerPolicyUpdateRequest: Hashable, Sendable {
    /// CBOR of the signed policy.
    public var signedPolicyRaw: [UInt8]

    /// A policy update.
    public init(signedPolicyRaw: [UInt8] = []) {
        self.signedPolicyRaw = signedPolicyRaw
    }
}

extension RuntimeKeyManagerPolicyUpdateRequest: Codable {
    enum CodingKeys: String, CodingKey { case signedPolicyRaw = "signed_policy_raw" }

    public init(from decoder: any Decoder) throws {
        signedPolicyRaw = try decoder.container(keyedBy: CodingKeys.self).decodeBytes(forKey: .signedPolicyRaw)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeBytes(signedPolicyRaw, forKey: .signedPolicyRaw)
    }
}

/// `RuntimeQueryRequest`: a read-only query against the state of the block with `header`.
///
/// `args` is always written, as CBOR `null` when there are none: the v21.1 Rust guest requires
/// the key and ends its protocol loop when it is missing (host.md §3.9).
public struct RuntimeQueryRequest: Hashable, Sendable {
    /// The query method.
    public var method: String
    /// The header of the block whose state the query reads.
    public var header: BlockHeader
    /// The arguments; `null` when there are none.
    public var args: CBORValue

    /// A query.
    public init(method: String, header: BlockHeader = BlockHeader(), args: CBORValue = .null) {
        self.method = method
        self.header = header
        self.args = args
    }
}

extension RuntimeQueryRequest: Codable {
    enum CodingKeys: String, CodingKey { case method, header, args }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        method = try c.decode(String.self, forKey: .method, orZero: "")
        header = try c.decode(BlockHeader.self, forKey: .header, orZero: BlockHeader())
        args = c.contains(.args) ? try c.decode(CBORValue.self, forKey: .args) : .null
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encode(header, forKey: .header)
        try c.encode(args, forKey: .args)
    }
}

/// `RuntimeQueryResponse`: the query's result, if any (`omitempty`).
public struct RuntimeQueryResponse: Hashable, Sendable {
    /// The result; `nil` is left out on the wire.
    public var data: CBORValue?

    /// A query answer.
    public init(data: CBORValue? = nil) {
        self.data = data
    }
}

extension RuntimeQueryResponse: Codable {
    enum CodingKeys: String, CodingKey { case data }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        data = c.contains(.data) ? try c.decode(CBORValue.self, forKey: .data) : nil
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(data, forKey: .data)
    }
}
