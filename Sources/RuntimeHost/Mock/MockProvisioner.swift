import ConsensusAPI
import Logging
import OasisCBOR
public import OasisCommon
public import RuntimeHostProtocol
import RuntimeStorage
import ServiceLifecycle

/// A provisioner that runs no process at all (oasis-core's `host/mock`): its runtimes answer
/// execute, check-tx and query requests with fabricated results, for tests of what sits above.
public struct MockProvisioner: Provisioner {
    /// A mock provisioner.
    public init() {}

    /// A mock runtime with `config.runtimeID`; every other field is ignored. Never fails.
    public func newRuntime(_ config: HostConfig) async throws -> any HostedRuntime {
        MockRuntime(id: config.runtimeID)
    }
}

/// The error every unsupported request gets from a mock runtime: `(mock) method not supported`.
public struct MockMethodNotSupported: Error, Hashable, Sendable, CustomStringConvertible {
    /// The error.
    public init() {}
    public var description: String { "(mock) method not supported" }
}

/// A runtime without a process (host.md §7). Unlike a supervised runtime, ``start()`` and
/// ``stop()`` are not idempotent: as in v21.1, every call emits `started` or `stopped`.
public final class MockRuntime: HostedRuntime {
    public let id: Namespace
    private let broadcaster = Broadcaster<HostEvent>(replayLast: false)
    private let shutdown = Latch()

    /// A mock runtime with the given id.
    public init(id: Namespace) {
        self.id = id
    }

    /// Answers execute, check-tx and query requests; anything else throws
    /// ``MockMethodNotSupported``.
    public func call(_ body: Body, timeout: Duration?) async throws -> Body {
        switch body {
        case .runtimeExecuteTxBatchRequest(let request):
            return .runtimeExecuteTxBatchResponse(RuntimeExecuteTxBatchResponse(batch: try Self.execute(request)))
        case .runtimeCheckTxBatchRequest(let request):
            return .runtimeCheckTxBatchResponse(
                RuntimeCheckTxBatchResponse(results: request.inputs.map { _ in CheckTxResult() }))
        case .runtimeQueryRequest(let request):
            return .runtimeQueryResponse(RuntimeQueryResponse(data: .textString("\(request.method) world")))
        default:
            throw MockMethodNotSupported()
        }
    }

    /// A fabricated batch: every transaction has the *first* input as input and output (a
    /// quirk kept from v21.1) and the tag `txn_foo` = `txn_bar`; the header follows the block.
    static func execute(_ request: RuntimeExecuteTxBatchRequest) throws -> ComputedBatch {
        let header = request.block.header
        let ioWriteLog: WriteLog
        let ioRoot: Hash
        do {
            var transactions: [TransactionArtifacts] = []
            var tags: [TransactionTag] = []
            if let first = request.inputs.first {
                for order in request.inputs.indices {
                    let artifacts = TransactionArtifacts(input: first, output: first, batchOrder: UInt32(order))
                    transactions.append(artifacts)
                    tags.append(TransactionTag(key: Array("txn_foo".utf8), value: Array("txn_bar".utf8), txHash: artifacts.hash))
                }
            }
            ioWriteLog = try IOTreeLayout.writeLog(transactions: transactions, tags: tags)
            ioRoot = try MerkleTree().applying(ioWriteLog).hash
        } catch {
            throw MockIOTreeFailed(reason: "\(error)")
        }
        return ComputedBatch(
            header: ComputeResultsHeader(
                round: header.round + 1, previousHash: header.encodedHash(), ioRoot: ioRoot, stateRoot: .empty,
                messagesHash: .empty),
            ioWriteLog: ioWriteLog)
    }

    public func events() -> AsyncStream<HostEvent> { broadcaster.subscribe() }

    /// Emits `started` (zero version, no TEE) on every call.
    public func start() {
        broadcaster.publish(.started(version: Version(), capabilityTEE: nil))
    }

    /// Does nothing.
    public func abort(force: Bool) async throws {}

    /// Emits `stopped` on every call.
    public func stop() {
        broadcaster.publish(.stopped)
    }

    /// Nothing to supervise: waits for a graceful shutdown (or cancellation), then ends the
    /// event subscriptions.
    public func run() async throws {
        _ = await withGracefulShutdownHandler {
            await shutdown.waitUnlessCancelled()
        } onGracefulShutdown: { [shutdown] in
            shutdown.open()
        }
        broadcaster.finish()
    }
}

/// Building the mock's I/O tree failed: `(mock) failed to create I/O tree: …`.
struct MockIOTreeFailed: Error, CustomStringConvertible {
    var reason: String
    var description: String { "(mock) failed to create I/O tree: \(reason)" }
}
