import Foundation
import Logging
import RuntimeRegistry
import ServiceLifecycle
import Testing

let quietLogger = Logger(label: "registry-tests") { _ in SwiftLogNoOpLogHandler() }

enum IDs {
    static let compute = try! Namespace(hex: "8000000000000000000000000000000000000000000000000000000000000000")
    static let other = try! Namespace(hex: "8000000000000000000000000000000000000000000000000000000000000002")
    static let sgx = try! Namespace(hex: "8000000000000000000000000000000000000000000000000000000000000003")
    static let keyManager = try! Namespace(hex: "c000000000000000000000000000000000000000000000000000000000000001")
    static let unknown = try! Namespace(hex: "80000000000000000000000000000000000000000000000000000000000000ff")

    /// The `n`-th of many test runtime IDs.
    static func numbered(_ n: Int) -> Namespace {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes[0] = 0x80
        bytes[30] = UInt8(n >> 8)
        bytes[31] = UInt8(n & 0xff)
        return try! Namespace(bytes: bytes)
    }
}

func entityKey() -> PublicKey {
    var bytes = [UInt8](repeating: 0, count: 32)
    bytes[31] = 5
    return PublicKey(raw: Bytes32(bytes)!)
}

/// A compute runtime that passes validation; `roundTimeout` makes distinct versions.
func computeDescriptor(_ id: Namespace = IDs.compute, roundTimeout: Int64 = 20, tee: TEEHardware = .invalid)
    -> RuntimeDescriptor
{
    var versions = VersionInfo()
    if tee == .intelSGX {
        versions.tee = try! CBOREncoder().encode(SGXConstraints(enclaves: [EnclaveIdentity()]))
    }
    return RuntimeDescriptor(
        descriptorVersion: 2, id: id, entityID: entityKey(), genesis: RuntimeGenesis(stateRoot: .empty),
        kind: .compute, teeHardware: tee, versions: versions,
        executor: ExecutorParameters(groupSize: 1, groupBackupSize: 0, allowedStragglers: 0, roundTimeout: roundTimeout),
        txnScheduler: TxnSchedulerParameters(
            algorithm: "simple", batchFlushTimeout: .seconds(1), maxBatchSize: 1, maxBatchSizeBytes: 1024,
            proposerTimeout: 20),
        storage: StorageParameters(groupSize: 1, minWriteReplication: 1, maxApplyWriteLogEntries: 100_000, maxApplyOps: 2),
        admissionPolicy: RuntimeAdmissionPolicy(anyNode: AnyNodeRuntimeAdmissionPolicy()), governanceModel: .entity)
}

func keyManagerDescriptor() -> RuntimeDescriptor {
    RuntimeDescriptor(
        descriptorVersion: 2, id: IDs.keyManager, entityID: entityKey(), genesis: RuntimeGenesis(stateRoot: .empty),
        kind: .keyManager, admissionPolicy: RuntimeAdmissionPolicy(anyNode: AnyNodeRuntimeAdmissionPolicy()),
        governanceModel: .entity)
}

/// A consensus that passes every call on to `base`: a test's wrapper implements only the
/// calls it changes.
protocol DelegatingConsensus: ConsensusBackend {
    var base: any ConsensusBackend { get }
}

extension DelegatingConsensus {
    func waitSynced() async throws { try await base.waitSynced() }
    func watchEpochs() -> AsyncStream<EpochTime> { base.watchEpochs() }
    func watchRuntimes() -> AsyncStream<RuntimeDescriptor> { base.watchRuntimes() }
    func runtimeState(id: Namespace, height: Int64) async throws -> RuntimeState {
        try await base.runtimeState(id: id, height: height)
    }
    func latestBlock(id: Namespace, height: Int64) async throws -> AnnotatedBlock {
        try await base.latestBlock(id: id, height: height)
    }
    func watchBlocks(id: Namespace) -> AsyncStream<AnnotatedBlock> { base.watchBlocks(id: id) }
    func trackRuntime(history: any RoothashHistory) async throws { try await base.trackRuntime(history: history) }
    func untrackRuntime(id: Namespace) async { await base.untrackRuntime(id: id) }
    func status() async throws -> ConsensusStatus { try await base.status() }
    func chainContext() async throws -> String { try await base.chainContext() }
}

/// A data directory and an embedded consensus for one test, removed afterwards.
struct Fixture {
    let dataDir: String
    let consensus: LocalConsensus

    static func with<T>(
        runtimes: [RuntimeDescriptor] = [computeDescriptor()], epochInterval: UInt64 = 2,
        _ body: (Fixture) async throws -> T
    ) async throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("registry-tests-\(UUID().uuidString)")
        let dataDir = root.appendingPathComponent("data").path
        let consensusDir = root.appendingPathComponent("consensus").path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: consensusDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let genesis = ConsensusGenesis(
            chainContext: "registry-tests", blockInterval: .seconds(1), epochInterval: epochInterval, runtimes: runtimes)
        let consensus = try LocalConsensus(genesis: genesis, directory: consensusDir, logger: quietLogger)
        defer { consensus.close() }
        return try await body(Fixture(dataDir: dataDir, consensus: consensus))
    }

    /// Options for a mock-hosted node supporting `supported`.
    func options(_ supported: [Namespace] = [IDs.compute], paths: [Namespace]? = nil) -> RuntimeOptions {
        RuntimeOptions(
            supported: supported.map(\.description), provisioner: "mock",
            paths: paths.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.description, "/bin/true") }) },
            debugDontBlameOasis: true)
    }

    func registry(_ options: RuntimeOptions) async throws -> Registry {
        try await Registry.make(dataDir: dataDir, options: options, consensus: consensus, logger: quietLogger)
    }

    /// Whatever exists under the data directory.
    func dataDirEntries() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: dataDir)) ?? ["<unreadable data directory>"]
    }
}

/// Runs `runtime`'s descriptor watcher while `body` runs.
func whileRunning<T: Sendable>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for service in services { group.addTask { try await service.run() } }
        defer { group.cancelAll() }
        return try await body()
    }
}

/// Reads tracking events until `predicate` has matched `count` of them.
func awaitEvents(
    _ iterator: inout AsyncStream<DescriptorTrackingEvent>.Iterator, count: Int = 1,
    where predicate: (DescriptorTrackingEvent) -> Bool
) async throws {
    var matched = 0
    while matched < count {
        guard let event = await iterator.next() else { throw StreamEnded() }
        if predicate(event) { matched += 1 }
    }
}

struct StreamEnded: Error {}

/// The error's text, or nil when `body` does not throw.
func errorText(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch {
        return "\(error)"
    }
}
