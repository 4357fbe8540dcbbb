import ConsensusAPI
import OasisCBOR
import OasisCommon

/// Descriptors and helpers shared by the descriptor tests.
enum Fixtures {
    /// A test runtime ID (test flag set, no key-manager flag).
    static let computeID = try! Namespace(hex: "8000000000000000000000000000000000000000000000000000000000000000")
    /// A test key-manager runtime ID.
    static let keyManagerID = try! Namespace(hex: "c000000000000000000000000000000000000000000000000000000000000001")
    /// A key-manager ID without the test flag.
    static let productionKeyManagerID = try! Namespace(
        hex: "40000000000000000000000000000000000000000000000000000000000000ff")
    /// An entity key.
    static let entity = PublicKey.filled(lastByte: 5)

    /// The compute runtime of oasis-core's genesis test (spec case 57): executor {1, 0, 0, 20},
    /// scheduler {simple, 1s, 1, 1024, 20}, storage {1, 1, 100000, 2}, any-node admission,
    /// entity governance, version 2.
    static func genesisTestRuntime() -> RuntimeDescriptor {
        RuntimeDescriptor(
            descriptorVersion: 2, id: computeID, entityID: entity, genesis: RuntimeGenesis(stateRoot: .empty),
            kind: .compute,
            executor: ExecutorParameters(groupSize: 1, groupBackupSize: 0, allowedStragglers: 0, roundTimeout: 20),
            txnScheduler: TxnSchedulerParameters(
                algorithm: "simple", batchFlushTimeout: .seconds(1), maxBatchSize: 1, maxBatchSizeBytes: 1024,
                proposerTimeout: 20),
            storage: StorageParameters(
                groupSize: 1, minWriteReplication: 1, maxApplyWriteLogEntries: 100_000, maxApplyOps: 2),
            admissionPolicy: RuntimeAdmissionPolicy(anyNode: AnyNodeRuntimeAdmissionPolicy()),
            governanceModel: .entity)
    }

    /// A valid test key-manager runtime.
    static func keyManagerRuntime() -> RuntimeDescriptor {
        RuntimeDescriptor(
            descriptorVersion: 2, id: keyManagerID, entityID: entity, genesis: RuntimeGenesis(stateRoot: .empty),
            kind: .keyManager, admissionPolicy: RuntimeAdmissionPolicy(anyNode: AnyNodeRuntimeAdmissionPolicy()),
            governanceModel: .entity)
    }

    /// Parameters under which the fixtures verify.
    static let permissive = RegistryConsensusParameters(
        debugAllowTestRuntimes: true, enabledRuntimeGovernanceModels: [.entity, .runtime, .consensus])

    /// Every field set, every map and optional populated.
    static func populated() -> RuntimeDescriptor {
        let enclave = EnclaveIdentity(
            mrEnclave: SGXMeasurement(raw: Bytes32([UInt8](repeating: 0xaa, count: 32))!),
            mrSigner: SGXMeasurement(raw: Bytes32([UInt8](repeating: 0xbb, count: 32))!))
        let tee = try! CBOREncoder().encode(SGXConstraints(enclaves: [enclave]))
        return RuntimeDescriptor(
            descriptorVersion: 2, id: computeID, entityID: entity,
            genesis: RuntimeGenesis(
                stateRoot: .empty, state: [WriteLogEntry(key: Array("key".utf8), value: Array("value".utf8))],
                storageReceipts: [Signature(publicKey: .filled(lastByte: 9), signature: .zero)], round: 7),
            kind: .compute, teeHardware: .intelSGX,
            versions: VersionInfo(version: Version(major: 1, minor: 2, patch: 3), tee: tee),
            keyManager: keyManagerID,
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
                .storage: [.worker: SchedulingConstraints()],
            ],
            staking: RuntimeStakingParameters(
                thresholds: [.nodeCompute: Quantity(1000), .nodeStorage: Quantity(5)],
                slashing: [.runtimeEquivocation: Slash(amount: Quantity(100), freezeInterval: 1)],
                rewardSlashEquivocationRuntimePercent: 10, rewardSlashBadResultsRuntimePercent: 20),
            governanceModel: .runtime)
    }
}

/// The text of the error `body` throws, or `nil` when it throws none.
func errorText(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return "\(error)"
    }
}

/// A CBOR map with text keys, in the order given (encoding sorts them canonically).
func cborMap(_ pairs: KeyValuePairs<String, CBORValue>) -> CBORValue {
    .map(pairs.map { CBORMapEntry(key: .textString($0.key), value: $0.value) })
}

/// A CBOR map with integer keys.
func cborIntMap(_ pairs: KeyValuePairs<UInt64, CBORValue>) -> CBORValue {
    .map(pairs.map { CBORMapEntry(key: .unsignedInt($0.key), value: $0.value) })
}

/// `n` copies of `byte` as a CBOR byte string.
func cborBytes(_ byte: UInt8, count: Int) -> CBORValue {
    .byteString([UInt8](repeating: byte, count: count))
}
