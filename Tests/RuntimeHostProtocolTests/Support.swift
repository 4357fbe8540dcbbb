import ConsensusAPI
import InMemoryLogging
import Logging
import OasisCBOR
import OasisCommon
import RuntimeHostProtocol
import RuntimeHostProtocolTesting
import RuntimeStorage
import Synchronization

/// Hex helpers for byte-exact expectations.
func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }
func bytes(_ hex: String) -> [UInt8] { try! Hex.decode(hex) }

/// A logger whose records the test can read.
func capturingLogger(_ label: String = "rhp-test") -> (Logger, InMemoryLogHandler) {
    let handler = InMemoryLogHandler()
    var logger = Logger(label: label, factory: { _ in handler })
    logger.logLevel = .trace
    return (logger, handler)
}

extension InMemoryLogHandler {
    /// The `rhp.reason` of every "closing connection" record.
    var closeReasons: [String] {
        entries.filter { "\($0.message)" == "rhp: closing connection" }.compactMap { entry in
            entry.metadata["rhp.reason"].map { "\($0)" }
        }
    }

    /// Whether any record's message is `message`.
    func contains(message: String) -> Bool {
        entries.contains { "\($0.message)" == message }
    }
}

/// A handler built from a closure.
struct ClosureHandler: RequestHandler {
    let body: @Sendable (Body) async throws -> Body

    init(_ body: @escaping @Sendable (Body) async throws -> Body) {
        self.body = body
    }

    func handle(_ request: Body) async throws -> Body {
        try await body(request)
    }
}

/// Counts invocations.
final class CallCounter: Sendable {
    private let value = Mutex(0)
    func increment() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}


/// Answers the handshake as a v21.1 runtime would (protocol 2.0.0, runtime 1.2.3), echoes
/// everything else, and remembers the info request.
final class GuestHandler: RequestHandler {
    let infoRequests = Mutex<[RuntimeInfoRequest]>([])
    let handled = CallCounter()
    let protocolVersion: UInt64
    let onRequest: @Sendable (Body) async throws -> Body

    init(protocolVersion: UInt64 = Version(major: 2).packed,
         onRequest: @escaping @Sendable (Body) async throws -> Body = { $0 }) {
        self.protocolVersion = protocolVersion
        self.onRequest = onRequest
    }

    func handle(_ request: Body) async throws -> Body {
        if case .runtimeInfoRequest(let info) = request {
            infoRequests.withLock { $0.append(info) }
            return .runtimeInfoResponse(RuntimeInfoResponse(
                packedProtocolVersion: protocolVersion, packedRuntimeVersion: Version(major: 1, minor: 2, patch: 3).packed))
        }
        handled.increment()
        return try await onRequest(request)
    }
}

let testRuntimeID = Namespace.test(seed: "rhp-tests")
let testHostInfo = HostInfo(
    consensusBackend: "tendermint", consensusProtocolVersion: Version.consensusProtocol.packed,
    consensusChainContext: "test-chain-context")

/// Two connections over a socketpair: `host` and `guest`, neither initialised yet.
struct ConnectionPair {
    let host: Connection
    let guest: Connection

    static func make(
        hostHandler: any RequestHandler = UnsupportedRequestHandler(), guestHandler: any RequestHandler,
        configuration: Connection.Configuration = Connection.Configuration(), logger: Logger
    ) async throws -> ConnectionPair {
        let (a, b) = try SocketPair.make()
        let host = try await Connection.adopting(
            connectedSocket: a, handler: hostHandler, configuration: configuration,
            logger: logger.with(metadata: "rhp.side", "host"))
        let guest = try await Connection.adopting(
            connectedSocket: b, handler: guestHandler, configuration: configuration,
            logger: logger.with(metadata: "rhp.side", "guest"))
        return ConnectionPair(host: host, guest: guest)
    }

    /// Runs both sides' `run()` around `body`, then closes both.
    @discardableResult
    func running<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await host.run() }
            group.addTask { try await guest.run() }
            do {
                let result = try await body()
                await host.close()
                await guest.close()
                try await group.waitForAll()
                return result
            } catch {
                await host.close()
                await guest.close()
                group.cancelAll()
                throw error
            }
        }
    }

    /// Initialises the guest, then runs the handshake from the host.
    func handshake() async throws -> Version {
        guest.initGuest()
        return try await host.initHost(runtimeID: testRuntimeID, hostInfo: testHostInfo, timeout: .seconds(120))
    }
}

/// A host connection on one end of a socketpair, with a raw peer on the other.
func hostWithRawPeer(
    handler: any RequestHandler = UnsupportedRequestHandler(),
    configuration: Connection.Configuration = Connection.Configuration(), logger: Logger
) async throws -> (Connection, RawPeer) {
    let (a, b) = try SocketPair.make()
    let connection = try await Connection.adopting(
        connectedSocket: a, handler: handler, configuration: configuration, logger: logger)
    return (connection, RawPeer(descriptor: b))
}

extension Logger {
    func with(metadata key: String, _ value: String) -> Logger {
        var copy = self
        copy[metadataKey: key] = "\(value)"
        return copy
    }
}

/// A block header with every field set, for payload samples.
let sampleHeader = BlockHeader(
    version: 1, namespace: testRuntimeID, round: 42, timestamp: 1_600_000_000, headerType: .normal,
    previousHash: Hash.digest(Array("prev".utf8)), ioRoot: .empty, stateRoot: Hash.digest(Array("state".utf8)),
    messagesHash: .empty, storageSignatures: [Signature(publicKey: .filled(lastByte: 7), signature: .zero)])

/// A tree id for storage sync samples.
let sampleTree = TreeID(
    root: StorageRoot(namespace: testRuntimeID, version: 9, type: .state, hash: Hash.digest(Array("root".utf8))),
    position: Hash.digest(Array("root".utf8)))

/// One body per variant, with payload fields set to non-zero values where there are any.
func sampleBody(_ kind: Body.Kind) -> Body {
    switch kind {
    case .empty: .empty
    case .error: .error(ErrorBody(module: "dispatcher", code: 1, message: "batch aborted"))
    case .runtimeInfoRequest:
        .runtimeInfoRequest(RuntimeInfoRequest(
            runtimeID: testRuntimeID, consensusBackend: "tendermint", consensusProtocolVersion: 4 << 32,
            consensusChainContext: "ctx"))
    case .runtimeInfoResponse:
        .runtimeInfoResponse(RuntimeInfoResponse(packedProtocolVersion: 2 << 32, packedRuntimeVersion: 0x1_0002_0003))
    case .runtimePingRequest: .runtimePingRequest
    case .runtimeShutdownRequest: .runtimeShutdownRequest
    case .runtimeCapabilityTEERakInitRequest:
        .runtimeCapabilityTEERakInitRequest(RuntimeCapabilityTEERakInitRequest(targetInfo: [1, 2, 3]))
    case .runtimeCapabilityTEERakInitResponse: .runtimeCapabilityTEERakInitResponse
    case .runtimeCapabilityTEERakReportRequest: .runtimeCapabilityTEERakReportRequest
    case .runtimeCapabilityTEERakReportResponse:
        .runtimeCapabilityTEERakReportResponse(RuntimeCapabilityTEERakReportResponse(
            rakPub: .filled(lastByte: 3), report: [9, 9], nonce: "nonce"))
    case .runtimeCapabilityTEERakAvrRequest:
        .runtimeCapabilityTEERakAvrRequest(RuntimeCapabilityTEERakAvrRequest(
            avr: AVRBundle(body: [1], certificateChain: [2], signature: [3])))
    case .runtimeCapabilityTEERakAvrResponse: .runtimeCapabilityTEERakAvrResponse
    case .runtimeRPCCallRequest: .runtimeRPCCallRequest(RuntimeRPCCallRequest(request: [0xde, 0xad]))
    case .runtimeRPCCallResponse: .runtimeRPCCallResponse(RuntimeRPCCallResponse(response: [0xbe, 0xef]))
    case .runtimeLocalRPCCallRequest: .runtimeLocalRPCCallRequest(RuntimeLocalRPCCallRequest(request: [1]))
    case .runtimeLocalRPCCallResponse: .runtimeLocalRPCCallResponse(RuntimeLocalRPCCallResponse(response: [2]))
    case .runtimeCheckTxBatchRequest:
        .runtimeCheckTxBatchRequest(RuntimeCheckTxBatchRequest(
            consensusBlock: LightBlock(height: 5, meta: [7]), inputs: [[1, 2], []], block: Block(header: sampleHeader)))
    case .runtimeCheckTxBatchResponse:
        .runtimeCheckTxBatchResponse(RuntimeCheckTxBatchResponse(results: [
            CheckTxResult(), CheckTxResult(error: ErrorBody(module: "x", code: 4, message: "bad nonce"), meta: .textString("m")),
            CheckTxResult(meta: .null),
        ]))
    case .runtimeExecuteTxBatchRequest:
        .runtimeExecuteTxBatchRequest(RuntimeExecuteTxBatchRequest(
            consensusBlock: LightBlock(height: 6, meta: []),
            roundResults: RoundResults(messages: [MessageEvent(module: "staking", code: 2, index: 1)]),
            ioRoot: .empty, inputs: [[3]], block: Block(header: sampleHeader), maxMessages: 16))
    case .runtimeExecuteTxBatchResponse:
        .runtimeExecuteTxBatchResponse(RuntimeExecuteTxBatchResponse(batch: ComputedBatch(
            header: ComputeResultsHeader(round: 43, previousHash: sampleHeader.encodedHash(), ioRoot: .empty,
                                         stateRoot: .empty, messagesHash: .empty),
            ioWriteLog: [WriteLogEntry(key: [1], value: [2])], stateWriteLog: [WriteLogEntry(key: [3], value: [])],
            rakSig: .zero,
            messages: [RuntimeMessage(staking: StakingMessage(messageVersion: 1, transfer: Transfer()))])))
    case .runtimeAbortRequest: .runtimeAbortRequest
    case .runtimeAbortResponse: .runtimeAbortResponse
    case .runtimeKeyManagerPolicyUpdateRequest:
        .runtimeKeyManagerPolicyUpdateRequest(RuntimeKeyManagerPolicyUpdateRequest(signedPolicyRaw: [0xa0]))
    case .runtimeKeyManagerPolicyUpdateResponse: .runtimeKeyManagerPolicyUpdateResponse
    case .runtimeQueryRequest:
        .runtimeQueryRequest(RuntimeQueryRequest(method: "get", header: sampleHeader, args: .byteString([1])))
    case .runtimeQueryResponse: .runtimeQueryResponse(RuntimeQueryResponse(data: .textString("hello world")))
    case .hostRPCCallRequest: .hostRPCCallRequest(HostRPCCallRequest(endpoint: "key-manager", request: [5]))
    case .hostRPCCallResponse: .hostRPCCallResponse(HostRPCCallResponse(response: [6]))
    case .hostStorageSyncRequest:
        .hostStorageSyncRequest(HostStorageSyncRequest(
            endpoint: .consensus, operation: .get(SyncGetRequest(tree: sampleTree, key: [1], includeSiblings: true))))
    case .hostStorageSyncResponse:
        .hostStorageSyncResponse(HostStorageSyncResponse(proofResponse: ProofResponse(
            proof: Proof(untrustedRoot: .empty, entries: [[1], [], [2, 3]]))))
    case .hostLocalStorageGetRequest: .hostLocalStorageGetRequest(HostLocalStorageGetRequest(key: [1]))
    case .hostLocalStorageGetResponse: .hostLocalStorageGetResponse(HostLocalStorageGetResponse(value: [2]))
    case .hostLocalStorageSetRequest: .hostLocalStorageSetRequest(HostLocalStorageSetRequest(key: [1], value: [2]))
    case .hostLocalStorageSetResponse: .hostLocalStorageSetResponse
    }
}

/// A value behind a lock, shareable with `@Sendable` closures (a local `Mutex` cannot be captured).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R {
        mutex.withLock { body(&$0) }
    }

    var value: Value { mutex.withLock { $0 } }
}
