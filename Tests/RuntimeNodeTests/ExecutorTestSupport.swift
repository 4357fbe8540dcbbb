import Foundation
import Logging
import RuntimeHost
import RuntimeNode
import RuntimeRegistry
import ServiceLifecycle
import Testing

let executorTestLogger = Logger(label: "executor-tests") { _ in SwiftLogNoOpLogHandler() }

/// The kv-runtime binary built next to this test bundle.
let kvRuntimeBinaryPath: String = {
    let products = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0]).deletingLastPathComponent()
    return products.appendingPathComponent("kv-runtime").path
}()

let executorRuntimeID = try! Namespace(hex: "8000000000000000000000000000000000000000000000000000000000000e0e")

/// A compute runtime descriptor that passes validation, with the given batch limits.
func executorDescriptor(
    maxBatchSize: UInt64 = 10, maxBatchSizeBytes: UInt64 = 64 * 1024, batchFlushTimeout: Duration = .milliseconds(200)
) -> RuntimeDescriptor {
    var entity = [UInt8](repeating: 0, count: 32)
    entity[31] = 7
    return RuntimeDescriptor(
        descriptorVersion: 2, id: executorRuntimeID, entityID: PublicKey(raw: Bytes32(entity)!),
        genesis: RuntimeGenesis(stateRoot: .empty), kind: .compute, teeHardware: .invalid, versions: VersionInfo(),
        executor: ExecutorParameters(groupSize: 1, groupBackupSize: 0, allowedStragglers: 0, roundTimeout: 20),
        txnScheduler: TxnSchedulerParameters(
            algorithm: "simple", batchFlushTimeout: batchFlushTimeout, maxBatchSize: maxBatchSize,
            maxBatchSizeBytes: maxBatchSizeBytes, proposerTimeout: 20),
        storage: StorageParameters(groupSize: 1, minWriteReplication: 1, maxApplyWriteLogEntries: 100_000, maxApplyOps: 2),
        admissionPolicy: RuntimeAdmissionPolicy(anyNode: AnyNodeRuntimeAdmissionPolicy()), governanceModel: .entity)
}

/// A kv-runtime transaction: CBOR `{method, args}`; `nonce` makes equal transactions distinct.
func kvTransaction(_ method: String, key: String, value: String? = nil, nonce: Int? = nil) -> [UInt8] {
    var args: [CBORMapEntry] = [CBORMapEntry(key: .textString("key"), value: .textString(key))]
    if let value { args.append(CBORMapEntry(key: .textString("value"), value: .textString(value))) }
    if let nonce { args.append(CBORMapEntry(key: .textString("nonce"), value: .textString("\(nonce)"))) }
    let call = CBORValue.map([
        CBORMapEntry(key: .textString("method"), value: .textString(method)),
        CBORMapEntry(key: .textString("args"), value: .map(args)),
    ])
    return try! call.encoded()
}

/// The arguments of a kv-runtime `get` query.
func getArguments(_ key: String) -> CBORValue {
    .map([CBORMapEntry(key: .textString("key"), value: .textString(key))])
}

/// Waits (bounded, polling) until `condition` holds.
func eventually(
    _ what: String, within limit: Duration = .seconds(120), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out waiting for \(what)")
    throw TimedOut(what: what)
}

struct TimedOut: Error {
    let what: String
}

/// A whole localnet node for one test: a temporary data directory, the embedded consensus
/// with one compute runtime, the registry hosting kv-runtime unconfined through
/// ``NodeHostHandlerFactory``, and a ``LocalnetExecutor``, all running.
struct ExecutorNode {
    let registry: Registry
    let runtime: Runtime
    let consensus: LocalConsensus
    let hosted: RichRuntime
    let executor: LocalnetExecutor
    /// Gracefully shuts down the hosted runtime, its notifier and the executor (executor first).
    let shutdownHosting: @Sendable () async -> Void

    static func with<T: Sendable>(
        descriptor: RuntimeDescriptor = executorDescriptor(), clock: any Clock<Duration> = ContinuousClock(),
        options: LocalnetExecutor.Options = LocalnetExecutor.Options(),
        timings: SupervisorTimings = SupervisorTimings(),
        _ body: @Sendable (ExecutorNode) async throws -> T
    ) async throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("executor-tests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let dataDir = root.appendingPathComponent("data").path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let genesis = ConsensusGenesis(
            chainContext: "executor-tests", blockInterval: .seconds(1), epochInterval: 100_000, runtimes: [descriptor])
        let consensus = try LocalConsensus(genesis: genesis, directory: dataDir, logger: executorTestLogger)
        defer { consensus.close() }
        let id = descriptor.id
        let registry = try await Registry.make(
            dataDir: dataDir,
            options: RuntimeOptions(
                supported: [id.description], provisioner: "unconfined", paths: [id.description: kvRuntimeBinaryPath],
                tagIndexerBackend: "sqlite", debugDontBlameOasis: true),
            consensus: consensus, provisioners: .standard(logger: executorTestLogger, timings: timings), logger: executorTestLogger)
        try await registry.finishInitialization()
        let runtime = try registry.runtime(id)

        let base = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: registry.services + [consensus], logger: executorTestLogger))
        let outcome: Result<T, any Error> = await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await base.run() }
            defer { group.cancelAll() }
            let result: Result<T, any Error>
            do {
                let provisioned = try await RuntimeHostNode(
                    factory: NodeHostHandlerFactory(runtime: runtime, logger: executorTestLogger)
                ).provisionHostedRuntime()
                let hosted = provisioned.runtime
                let executor = LocalnetExecutor(
                    runtime: runtime, hosted: hosted, consensus: consensus, clock: clock, options: options,
                    logger: executorTestLogger)
                let hosting = ServiceGroup(
                    configuration: ServiceGroupConfiguration(
                        services: [hosted, provisioned.notifier, executor], logger: executorTestLogger))
                result = await withTaskGroup(of: Void.self) { inner in
                    inner.addTask { try? await hosting.run() }
                    hosted.start()
                    let node = ExecutorNode(
                        registry: registry, runtime: runtime, consensus: consensus, hosted: hosted, executor: executor,
                        shutdownHosting: { await hosting.triggerGracefulShutdown() })
                    let result: Result<T, any Error>
                    do {
                        result = .success(try await body(node))
                    } catch {
                        result = .failure(error)
                    }
                    await hosting.triggerGracefulShutdown()
                    await inner.waitForAll()
                    return result
                }
            } catch {
                result = .failure(error)
            }
            await base.triggerGracefulShutdown()
            await group.waitForAll()
            return result
        }
        await registry.cleanup()
        return try outcome.get()
    }
}

/// The outcome of one submission, comparable in expectations.
enum SubmitOutcome: Sendable, Hashable {
    case committed(SubmitResult)
    case failed(ExecutorError)
}

extension LocalnetExecutor {
    /// ``submit(_:)`` with its failure as a value.
    func outcome(of transaction: [UInt8]) async -> SubmitOutcome {
        do {
            return .committed(try await submit(transaction))
        } catch let error as ExecutorError {
            return .failed(error)
        } catch {
            return .failed(.batchFailed("unexpected error: \(error)"))
        }
    }
}
