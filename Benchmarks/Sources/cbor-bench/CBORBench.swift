import BenchSupport
import Foundation
import ProcessTesting
import RuntimeRegistry

/// Encode and decode of the node's hot CBOR types, against cbor2's native extension on the same
/// bytes in the same run. Goal: ours at least as fast (ratio ≤ 1).
@main
struct CBORBench {
    struct Item {
        let name: String
        let bytes: [UInt8]
        let encode: () throws -> [UInt8]
        let decode: () throws -> Void
        /// The same decode through Codable alone, bypassing the type's fast path.
        let decodeCodable: () throws -> Void
    }

    /// A decoder that takes the Codable path for a type and everything nested in it (the
    /// "before" figure).
    static let codableOnly: CBORDecoder = {
        var options = CBORDecoder.Options.strict
        options.usesFastDecoding = false
        return CBORDecoder(options: options)
    }()

    static func item<T: Codable & Equatable>(_ name: String, _ value: T) throws -> Item {
        let bytes = try CBOREncoder().encode(value)
        let decoded = try CBORDecoder().decode(T.self, from: bytes)
        precondition(decoded == value, "\(name) does not round-trip")
        let viaCodable = try codableOnly.decode(T.self, from: bytes)
        precondition(viaCodable == value, "\(name) does not round-trip through Codable")
        return Item(
            name: name, bytes: bytes,
            encode: { try CBOREncoder().encode(value) },
            decode: { _ = try CBORDecoder().decode(T.self, from: bytes) },
            decodeCodable: { _ = try codableOnly.decode(T.self, from: bytes) })
    }

    static func main() throws {
        let json = CommandLine.arguments.contains("--json")
        let items = try Samples.items()
        // `--profile NAME encode|decode`: loop one operation for a profiler.
        if let i = CommandLine.arguments.firstIndex(of: "--profile") {
            let item = items.first { $0.name == CommandLine.arguments[i + 1] }!
            let operation = CommandLine.arguments[i + 2]
            for _ in 0..<200_000 {
                switch operation {
                case "decode": try item.decode()
                case "decode-codable": try item.decodeCodable()
                default: _ = try item.encode()
                }
            }
            return
        }

        // cbor2 on the same bytes, before and after ours: the machine's load drifts, so each side
        // keeps its better (lower) figure of two runs.
        var theirs = try cbor2Timings(items)
        var rows: [BenchRow] = []
        var ours: [String: (encode: Double, decode: Double)] = [:]
        var codableOnly: [String: Double] = [:]
        for item in items {
            ours[item.name] = (try medianNanoseconds { _ = try item.encode() }, try medianNanoseconds { try item.decode() })
            codableOnly[item.name] = try medianNanoseconds { try item.decodeCodable() }
        }
        for (name, again) in try cbor2Timings(items) {
            theirs[name] = (min(theirs[name]!.encode, again.encode), min(theirs[name]!.decode, again.decode))
        }
        for item in items {
            let enc = min(ours[item.name]!.encode, try medianNanoseconds { _ = try item.encode() })
            let dec = min(ours[item.name]!.decode, try medianNanoseconds { try item.decode() })
            let viaCodable = min(codableOnly[item.name]!, try medianNanoseconds { try item.decodeCodable() })
            let base = theirs[item.name]!
            rows.append(BenchRow(
                figure: "CBOR encode \(item.name) (\(item.bytes.count) B)", ours: enc, baseline: base.encode,
                unit: "ns", maxRatio: 1.0))
            rows.append(BenchRow(
                figure: "CBOR decode \(item.name) (\(item.bytes.count) B)", ours: dec, baseline: base.decode,
                unit: "ns", maxRatio: 1.0))
            rows.append(BenchRow(
                figure: "CBOR decode \(item.name), Codable path only", ours: viaCodable, baseline: base.decode,
                unit: "ns", maxRatio: .infinity))
        }
        report(rows, json: json)
    }
}

/// cbor2's per-call encode and decode times for each item, in nanoseconds.
func cbor2Timings(_ items: [CBORBench.Item]) throws -> [String: (encode: Double, decode: Double)] {
    let script = Bundle.module.url(forResource: "cbor2_bench", withExtension: "py")!
    let child = try ChildProcess.launch(
        executable: "python3", arguments: [script.path], standardInput: .pipe, standardOutput: .pipe)
    // The input is a few kilobytes, well under what a pipe holds, so writing it all first is safe.
    child.writeInput(Array(items.map { "\($0.name) \(Hex.encode($0.bytes))\n" }.joined().utf8))
    child.closeInput()
    let text = String(decoding: child.readToEnd(.standardOutput), as: UTF8.self)
    guard child.waitUntilExit().succeeded else { fatalError("cbor2 benchmark failed; pip install cbor2") }
    var timings: [String: (encode: Double, decode: Double)] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ")
        timings[String(parts[0])] = (Double(parts[1])!, Double(parts[2])!)
    }
    return timings
}

enum Samples {
    static func items() throws -> [CBORBench.Item] {
        let ns = Namespace.test(seed: "bench")
        let genesis = Block.genesis(namespace: ns, timestamp: 1_700_000_000)
        var header = Block.empty(after: genesis, timestamp: 1_700_000_006, type: .normal).header
        header.ioRoot = Hash.digest(Array("io".utf8))
        header.stateRoot = Hash.digest(Array("state".utf8))
        let results = RoundResults(
            messages: [MessageEvent(module: "staking", code: 1, index: 0)],
            goodComputeEntities: [.filled(lastByte: 1), .filled(lastByte: 2)])
        return [
            try CBORBench.item("runtime-descriptor", descriptor()),
            try CBORBench.item("block-header", header),
            try CBORBench.item("round-results", results),
        ]
    }
}

extension Samples {
    /// A descriptor with every field set (SGX constraints, whitelist, constraints, staking).
    static func descriptor() throws -> RuntimeDescriptor {
        let entity = PublicKey.filled(lastByte: 5)
        let enclave = EnclaveIdentity(
            mrEnclave: SGXMeasurement(raw: Bytes32([UInt8](repeating: 0xaa, count: 32))!),
            mrSigner: SGXMeasurement(raw: Bytes32([UInt8](repeating: 0xbb, count: 32))!))
        return RuntimeDescriptor(
            descriptorVersion: 2, id: .test(seed: "bench"), entityID: entity,
            genesis: RuntimeGenesis(
                stateRoot: .empty, state: [WriteLogEntry(key: Array("key".utf8), value: Array("value".utf8))],
                storageReceipts: [Signature(publicKey: .filled(lastByte: 9), signature: .zero)], round: 7),
            kind: .compute, teeHardware: .intelSGX,
            versions: VersionInfo(
                version: Version(major: 1, minor: 2, patch: 3),
                tee: try CBOREncoder().encode(SGXConstraints(enclaves: [enclave]))),
            keyManager: .test(seed: "km", keyManager: true),
            executor: ExecutorParameters(
                groupSize: 3, groupBackupSize: 2, allowedStragglers: 1, roundTimeout: 20, maxMessages: 128),
            txnScheduler: TxnSchedulerParameters(
                algorithm: "simple", batchFlushTimeout: .milliseconds(1500), maxBatchSize: 100,
                maxBatchSizeBytes: 16_777_216, proposerTimeout: 5),
            storage: StorageParameters(
                groupSize: 2, minWriteReplication: 1, maxApplyWriteLogEntries: 100_000, maxApplyOps: 2,
                checkpointInterval: 10_000, checkpointNumKept: 2, checkpointChunkSize: 8_388_608),
            admissionPolicy: RuntimeAdmissionPolicy(
                entityWhitelist: EntityWhitelistRuntimeAdmissionPolicy(entities: [
                    entity: EntityWhitelistConfig(maxNodes: [.computeWorker: 3, .storageWorker: 1])
                ])),
            constraints: [
                .executor: [
                    .worker: SchedulingConstraints(
                        validatorSet: ValidatorSetConstraint(), maxNodes: MaxNodesConstraint(limit: 2),
                        minPoolSize: MinPoolSizeConstraint(limit: 5)),
                    .backupWorker: SchedulingConstraints(minPoolSize: MinPoolSizeConstraint(limit: 1)),
                ],
            ],
            staking: RuntimeStakingParameters(
                thresholds: [.nodeCompute: Quantity(1000), .nodeStorage: Quantity(5)],
                slashing: [.runtimeEquivocation: Slash(amount: Quantity(100), freezeInterval: 1)],
                rewardSlashEquivocationRuntimePercent: 10, rewardSlashBadResultsRuntimePercent: 20),
            governanceModel: .runtime)
    }
}
