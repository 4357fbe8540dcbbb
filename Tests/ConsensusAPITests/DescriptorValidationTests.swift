import ConsensusAPI
import OasisCBOR
import OasisCommon
import Testing

/// `ValidateBasic` and the consensus-level checks (spec/core.md §3.4–3.5, cases 45–63, 67–69).
@Suite("Runtime descriptor validation")
struct DescriptorValidationTests {
    /// `ValidateBasic(true)` of the genesis-test runtime with `change` applied.
    func strictError(_ change: (inout RuntimeDescriptor) -> Void) -> String? {
        var rt = Fixtures.genesisTestRuntime()
        change(&rt)
        return errorText { try rt.validateBasic(strict: true) }
    }

    @Test("the genesis-test compute runtime passes strict validation (57)")
    func genesisRuntimePasses() throws {
        try Fixtures.genesisTestRuntime().validateBasic(strict: true)
        try Fixtures.genesisTestRuntime().validateBasic(strict: false)
    }

    @Test("version 1 fails strict and non-strict validation with their own messages (45)")
    func descriptorVersion() {
        var rt = Fixtures.genesisTestRuntime()
        rt.descriptorVersion = 1
        #expect(errorText { try rt.validateBasic(strict: true) } == "invalid runtime descriptor version (expected: 2 got: 1)")
        #expect(errorText { try rt.validateBasic(strict: false) } == "invalid runtime descriptor version (min: 2 max: 2)")
        rt.descriptorVersion = 3
        #expect(errorText { try rt.validateBasic(strict: false) } == "invalid runtime descriptor version (min: 2 max: 2)")
    }

    @Test("a compute runtime whose ID has the key-manager flag fails (46)")
    func computeWithKeyManagerFlag() {
        #expect(strictError { $0.id = Fixtures.keyManagerID } == "compute runtime ID has the key manager flag set")
    }

    @Test("a compute runtime that is its own key manager fails (47)")
    func computeSelfKeyManager() {
        #expect(strictError { $0.keyManager = $0.id } == "compute runtime has self as key manager")
    }

    @Test("an executor group of size 0 fails (48)")
    func executorGroupTooSmall() {
        #expect(strictError { $0.executor = ExecutorParameters(groupSize: 0) }
            == "bad executor parameters: executor primary group too small")
    }

    @Test("more allowed stragglers than the group fails (49)")
    func tooManyStragglers() {
        #expect(strictError { $0.executor = ExecutorParameters(groupSize: 1, allowedStragglers: 2, roundTimeout: 5) }
            == "bad executor parameters: number of allowed stragglers too large")
        // Against a non-empty backup group as well.
        #expect(strictError {
            $0.executor = ExecutorParameters(groupSize: 3, groupBackupSize: 1, allowedStragglers: 2, roundTimeout: 5)
        } == "bad executor parameters: number of allowed stragglers too large")
    }

    @Test("a round timeout under 5 blocks fails (50)")
    func roundTimeoutTooSmall() {
        #expect(strictError { $0.executor = ExecutorParameters(groupSize: 1, roundTimeout: 4) }
            == "bad executor parameters: round timeout too small")
        #expect(strictError { $0.executor = ExecutorParameters(groupSize: 1, roundTimeout: 5) } == nil)
    }

    @Test("a scheduler algorithm other than simple fails (51)")
    func schedulerAlgorithm() {
        #expect(strictError { $0.txnScheduler.algorithm = "batching" }
            == "bad txn scheduler parameters: invalid transaction scheduler algorithm")
    }

    @Test("a batch flush timeout under 50ms fails (52)")
    func batchFlushTimeout() {
        #expect(strictError { $0.txnScheduler.batchFlushTimeout = .milliseconds(49) }
            == "bad txn scheduler parameters: transaction scheduler batch flush timeout parameter too small")
        #expect(strictError { $0.txnScheduler.batchFlushTimeout = .milliseconds(50) } == nil)
    }

    @Test("a max batch size of 0 fails")
    func maxBatchSize() {
        #expect(strictError { $0.txnScheduler.maxBatchSize = 0 }
            == "bad txn scheduler parameters: transaction scheduler max batch size parameter too small")
    }

    @Test("a max batch byte size of 1023 fails (53)")
    func maxBatchSizeBytes() {
        #expect(strictError { $0.txnScheduler.maxBatchSizeBytes = 1023 }
            == "bad txn scheduler parameters: transaction scheduler max batch bytes size parameter too small")
    }

    @Test("a proposer timeout of 1 block fails (54)")
    func proposerTimeout() {
        #expect(strictError { $0.txnScheduler.proposerTimeout = 1 }
            == "bad txn scheduler parameters: transaction scheduler proposer timeout parameter too small")
        #expect(strictError { $0.txnScheduler.proposerTimeout = 2 } == nil)
    }

    @Test("storage checks fail in order with their messages (55)")
    func storageChecks() {
        #expect(strictError { $0.storage.groupSize = 0 } == "bad storage parameters: storage group too small")
        #expect(strictError { $0.storage.minWriteReplication = 0 }
            == "bad storage parameters: storage write replication factor must be non-zero")
        #expect(strictError { $0.storage = StorageParameters(groupSize: 1, minWriteReplication: 2) }
            == "bad storage parameters: storage write replication factor must be less than or equal to group size")
        #expect(strictError { $0.storage.maxApplyWriteLogEntries = 9 }
            == "bad storage parameters: storage MaxApplyWriteLogEntries parameter too small")
    }

    @Test("max apply ops and checkpoint settings fail, unless the debug flag skips checkpoints (56)")
    func storageCheckpoints() throws {
        #expect(strictError { $0.storage.maxApplyOps = 1 }
            == "bad storage parameters: storage MaxApplyOps parameter too small")
        var rt = Fixtures.genesisTestRuntime()
        rt.storage.checkpointInterval = 5
        #expect(errorText { try rt.validateBasic(strict: true) }
            == "bad storage parameters: storage CheckpointInterval parameter too small")
        try rt.validateBasic(strict: true, debugDontBlameOasis: true)
        rt.storage.checkpointInterval = 10
        #expect(errorText { try rt.validateBasic(strict: true) }
            == "bad storage parameters: storage CheckpointNumKept parameter too small")
        rt.storage.checkpointNumKept = 1
        #expect(errorText { try rt.validateBasic(strict: true) }
            == "bad storage parameters: storage CheckpointChunkSize parameter too small")
        rt.storage.checkpointChunkSize = 1024 * 1024
        try rt.validateBasic(strict: true)
    }

    @Test("a key-manager runtime whose ID lacks the key-manager flag fails (58)")
    func keyManagerWithoutFlag() {
        var rt = Fixtures.keyManagerRuntime()
        rt.id = Fixtures.computeID
        #expect(errorText { try rt.validateBasic(strict: true) }
            == "key manager runtime ID does not have the key manager flag set")
    }

    @Test("a key-manager runtime with a key manager of its own fails (59)")
    func keyManagerWithKeyManager() {
        var rt = Fixtures.keyManagerRuntime()
        rt.keyManager = Fixtures.productionKeyManagerID
        #expect(errorText { try rt.validateBasic(strict: true) } == "key manager runtime cannot itself have a key manager")
    }

    @Test("a non-test key-manager runtime without SGX fails; a test one passes (60)")
    func keyManagerNeedsSGX() throws {
        var rt = Fixtures.keyManagerRuntime()
        rt.id = Fixtures.productionKeyManagerID
        #expect(errorText { try rt.validateBasic(strict: true) } == "non-SGX keymanager runtime")
        rt.teeHardware = .intelSGX
        try rt.validateBasic(strict: true)
        try Fixtures.keyManagerRuntime().validateBasic(strict: true)
    }

    @Test("kinds 0 and 7 fail with their names (61)")
    func badKind() {
        #expect(strictError { $0.kind = .invalid } == "bad runtime kind: invalid")
        #expect(strictError { $0.kind = RuntimeKind(rawValue: 7) } == "bad runtime kind: [unsupported runtime kind]")
    }

    @Test("governance models 0 and 4 are out of range (62)")
    func governanceOutOfRange() {
        for raw: UInt8 in [0, 4] {
            #expect(strictError { $0.governanceModel = RuntimeGovernanceModel(rawValue: raw) }
                == "runtime: unsupported governance model: out of range")
        }
        for model in [RuntimeGovernanceModel.runtime, .consensus] {
            #expect(strictError { $0.governanceModel = model } == nil)
        }
    }

    @Test("staking reward percentages and threshold kinds are checked (63)")
    func stakingChecks() {
        #expect(strictError { $0.staking.rewardSlashEquivocationRuntimePercent = 101 }
            == "bad staking parameters: runtime reward percentage from slashing for equivocation must be <= 100")
        #expect(strictError { $0.staking.rewardSlashBadResultsRuntimePercent = 101 }
            == "bad staking parameters: runtime reward percentage from slashing for bad results must be <= 100")
        #expect(strictError { $0.staking.thresholds = [.nodeKeyManager: Quantity(1)] }
            == "bad staking parameters: unsupported staking threshold kind for runtime: node-keymanager")
        #expect(strictError { $0.staking.thresholds = [.entity: Quantity(1)] }
            == "bad staking parameters: unsupported staking threshold kind for runtime: entity")
        #expect(strictError { $0.staking.thresholds = [.nodeCompute: Quantity(1), .nodeStorage: Quantity(2)] } == nil)

        var km = Fixtures.keyManagerRuntime()
        km.staking.thresholds = [.nodeKeyManager: Quantity(1)]
        #expect(errorText { try km.validateBasic(strict: true) } == nil)
        km.staking.thresholds = [.nodeCompute: Quantity(1)]
        #expect(errorText { try km.validateBasic(strict: true) }
            == "bad staking parameters: unsupported staking threshold kind for runtime: node-compute")
    }

    @Test("with several bad thresholds the lowest kind is always the one reported")
    func thresholdOrderIsStable() {
        #expect(strictError { $0.staking.thresholds = [.runtimeKeyManager: Quantity(1), .nodeValidator: Quantity(1)] }
            == "bad staking parameters: unsupported staking threshold kind for runtime: node-validator")
    }

    @Test("validation errors wrap the part's own error")
    func wrappedErrorsKeepTheirCause() throws {
        var rt = Fixtures.genesisTestRuntime()
        rt.executor.groupSize = 0
        let error = try #require(throws: DescriptorError.self) { try rt.validateBasic(strict: true) }
        #expect((error.underlying as? DescriptorError)?.message == "executor primary group too small")
    }

    // MARK: VerifyRuntime

    @Test("an SGX runtime needs enclaves: absent or empty lists fail, a zero-length value is invalid (68)")
    func sgxConstraints() throws {
        var rt = Fixtures.genesisTestRuntime()
        rt.teeHardware = .intelSGX
        let verify = { (rt: RuntimeDescriptor) in
            errorText { try rt.verifyRuntime(params: Fixtures.permissive, isGenesis: false, isSanityCheck: false) }
        }
        rt.versions.tee = nil
        #expect(verify(rt) == "registry: no enclaves for TEE runtime registration: invalid SGX TEE constraints")
        rt.versions.tee = try CBOREncoder().encode(SGXConstraints(enclaves: []))
        #expect(verify(rt) == "registry: no enclaves for TEE runtime registration: invalid SGX TEE constraints")
        rt.versions.tee = try CBOREncoder().encode(SGXConstraints(enclaves: nil))
        #expect(verify(rt) == "registry: no enclaves for TEE runtime registration: invalid SGX TEE constraints")
        rt.versions.tee = []
        #expect(verify(rt) == "registry: invalid argument: invalid SGX TEE constraints")
        rt.versions.tee = try CBOREncoder().encode(cborMap(["enclaves": .array([]), "extra": .null]))
        #expect(verify(rt) == "registry: invalid argument: invalid SGX TEE constraints")
        rt.versions.tee = try CBOREncoder().encode(SGXConstraints(enclaves: [EnclaveIdentity()]))
        #expect(verify(rt) == nil)

        let error = try #require(throws: CodedError.self) {
            try rt.with { $0.versions.tee = nil }.verifyRuntime(
                params: Fixtures.permissive, isGenesis: false, isSanityCheck: false)
        }
        #expect(error.matches(RegistryErrors.noEnclaveForRuntime))
    }

    @Test("exactly one admission policy must be set (69)")
    func admissionPolicy() throws {
        var rt = Fixtures.genesisTestRuntime()
        rt.admissionPolicy = RuntimeAdmissionPolicy(
            anyNode: AnyNodeRuntimeAdmissionPolicy(), entityWhitelist: EntityWhitelistRuntimeAdmissionPolicy())
        let both = try #require(throws: CodedError.self) {
            try rt.verifyRuntime(params: Fixtures.permissive, isGenesis: false, isSanityCheck: false)
        }
        #expect(both.description == "registry: invalid argument: invalid admission policy")
        #expect(both.matches(RegistryErrors.invalidArgument))
        rt.admissionPolicy = RuntimeAdmissionPolicy()
        #expect(errorText { try rt.verifyRuntime(params: Fixtures.permissive, isGenesis: false, isSanityCheck: false) }
            == "registry: invalid argument: invalid admission policy")
        rt.admissionPolicy = RuntimeAdmissionPolicy(entityWhitelist: EntityWhitelistRuntimeAdmissionPolicy())
        #expect(errorText { try rt.verifyRuntime(params: Fixtures.permissive, isGenesis: false, isSanityCheck: false) }
            == nil)
    }

    @Test("VerifyRuntime checks run in Go's order with registry errors")
    func verifyRuntimeOrder() {
        let verify = { (rt: RuntimeDescriptor, params: RegistryConsensusParameters, isGenesis: Bool) in
            errorText { try rt.verifyRuntime(params: params, isGenesis: isGenesis, isSanityCheck: false) }
        }
        let rt = Fixtures.genesisTestRuntime()
        #expect(verify(rt, Fixtures.permissive, false) == nil)
        // Validation is strict only for registrations.
        let v1 = rt.with { $0.descriptorVersion = 1 }
        #expect(verify(v1, Fixtures.permissive, false)
            == "registry: invalid argument: invalid runtime descriptor version (expected: 2 got: 1)")
        #expect(verify(v1, Fixtures.permissive, true)
            == "registry: invalid argument: invalid runtime descriptor version (min: 2 max: 2)")
        // Test runtimes need the debug parameter.
        var params = Fixtures.permissive
        params.debugAllowTestRuntimes = false
        #expect(verify(rt, params, false) == "registry: invalid argument: test runtime not allowed")
        // Governance models must be enabled.
        params = Fixtures.permissive
        params.enabledRuntimeGovernanceModels = []
        #expect(verify(rt, params, false) == "registry: forbidden by policy: no runtime governance models are enabled")
        params.enabledRuntimeGovernanceModels = [.runtime]
        #expect(verify(rt, params, false)
            == "registry: forbidden by policy: runtime governance model is not enabled: entity")
        // Reserved TEE hardware.
        #expect(verify(rt.with { $0.teeHardware = .reserved }, Fixtures.permissive, false)
            == "registry: invalid argument: invalid TEE hardware")
        // Runtime governance is for compute runtimes only.
        let km = Fixtures.keyManagerRuntime().with { $0.governanceModel = .runtime }
        #expect(verify(km, Fixtures.permissive, false)
            == "registry: invalid argument: runtime governance can only be used with compute runtimes")
    }

    @Test("the genesis state needs receipts unless it is given or empty, and receipts cannot be verified here")
    func genesisSanityCheck() {
        let verify = { (rt: RuntimeDescriptor, isGenesis: Bool) in
            errorText { try rt.verifyRuntime(params: Fixtures.permissive, isGenesis: isGenesis, isSanityCheck: false) }
        }
        var rt = Fixtures.genesisTestRuntime()
        rt.genesis.stateRoot = Hash.digest(Array("some state".utf8))
        #expect(verify(rt, false)
            == "runtimegenesis: sanity check failed: when State is empty either StorageReceipts must be populated or StateRoot must be empty")
        #expect(verify(rt, true) == nil)
        rt.genesis.storageReceipts = [Signature(publicKey: .filled(lastByte: 1))]
        #expect(verify(rt, false)
            == "runtimegenesis: sanity check failed: StorageReceipt verification on StateRoot failed (public_key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=)")
        let reserved = try! PublicKey(bytes: Hex.decode("1abe11edc001ffffffffffffffffffffffffffffffffffffffffffffffffffff"))
        rt.genesis.storageReceipts = [Signature(publicKey: reserved)]
        #expect(verify(rt, false)?.hasPrefix(
            "runtimegenesis: sanity check failed: when State is empty either all StorageReceipts must be valid") == true)
        rt.genesis.state = [WriteLogEntry(key: [1], value: [2])]
        #expect(verify(rt, false) == nil)
    }

    @Test("whitelisted entities must be valid keys and max-nodes keys single roles")
    func entityWhitelist() {
        let reserved = try! PublicKey(bytes: Hex.decode("1abe11edfeeaccffffffffffffffffffffffffffffffffffffffffffffffffff"))
        let verify = { (entities: [PublicKey: EntityWhitelistConfig]) in
            let rt = Fixtures.genesisTestRuntime().with {
                $0.admissionPolicy = RuntimeAdmissionPolicy(
                    entityWhitelist: EntityWhitelistRuntimeAdmissionPolicy(entities: entities))
            }
            return errorText { try rt.verifyRuntime(params: Fixtures.permissive, isGenesis: false, isSanityCheck: false) }
        }
        #expect(verify([Fixtures.entity: EntityWhitelistConfig(maxNodes: [.computeWorker: 1, .storageWorker: 2])]) == nil)
        #expect(verify([reserved: EntityWhitelistConfig()]) == "registry: invalid argument: invalid entity ID in entity whitelist")
        #expect(verify([Fixtures.entity: EntityWhitelistConfig(maxNodes: [[.computeWorker, .storageWorker]: 1])])
            == "registry: invalid argument: non-single role in entity whitelist max nodes map")
        #expect(verify([Fixtures.entity: EntityWhitelistConfig(maxNodes: [RolesMask(rawValue: 1 << 6): 1])])
            == "registry: invalid argument: non-single role in entity whitelist max nodes map")
    }

    // MARK: VerifyRuntimeUpdate

    @Test("updates may move entity to runtime governance but not back, nor change kind or drop the key manager (67)")
    func runtimeUpdates() throws {
        let current = Fixtures.genesisTestRuntime()
        let notAllowed = "registry: runtime update not allowed"
        let update = { (new: RuntimeDescriptor, from: RuntimeDescriptor) in
            errorText { try RuntimeDescriptor.verifyRuntimeUpdate(current: from, new: new) }
        }
        let toRuntime = current.with { $0.governanceModel = .runtime }
        #expect(update(toRuntime, current) == nil)
        #expect(update(current, toRuntime) == notAllowed)
        #expect(update(current.with { $0.kind = .keyManager }, current) == notAllowed)
        let withKM = current.with { $0.keyManager = Fixtures.keyManagerID }
        #expect(update(current, withKM) == notAllowed)
        #expect(update(withKM, current) == nil, "adding a key manager is allowed")
        #expect(update(withKM.with { $0.keyManager = Fixtures.productionKeyManagerID }, withKM) == notAllowed)
        #expect(update(current.with { $0.entityID = .filled(lastByte: 77) }, current) == notAllowed)
        #expect(update(current.with { $0.id = .test(seed: "other") }, current) == notAllowed)
        #expect(update(current.with { $0.genesis.round = 1 }, current) == notAllowed)
        #expect(update(current.with { $0.governanceModel = .consensus }, current) == notAllowed)
        #expect(update(current.with { $0.executor.groupSize = 9 }, current) == nil)

        let error = try #require(throws: CodedError.self) {
            try RuntimeDescriptor.verifyRuntimeUpdate(current: toRuntime, new: current)
        }
        #expect(error.matches(RegistryErrors.runtimeUpdateNotAllowed))
    }

    @Test("the genesis comparison treats nil and empty lists alike")
    func genesisEquality() {
        let a = RuntimeGenesis(stateRoot: .empty, state: nil, storageReceipts: nil)
        let b = RuntimeGenesis(stateRoot: .empty, state: [], storageReceipts: [])
        #expect(a.isEqual(to: b))
        #expect(a != b)
        #expect(!a.isEqual(to: RuntimeGenesis(stateRoot: .empty, state: [WriteLogEntry(key: [1])])))
        #expect(!a.isEqual(to: RuntimeGenesis(stateRoot: .empty, storageReceipts: [Signature()])))
        #expect(!a.isEqual(to: RuntimeGenesis(stateRoot: .zero)))
        let current = Fixtures.genesisTestRuntime()
        #expect(errorText {
            try RuntimeDescriptor.verifyRuntimeUpdate(current: current, new: current.with { $0.genesis.state = [] })
        } == nil)
    }

    // MARK: Key managers and sanity checks

    @Test("a compute runtime's key manager must be a key-manager runtime, and non-test runtimes need SGX")
    func computeRuntimeKeyManager() throws {
        let km = Fixtures.keyManagerRuntime()
        let compute = Fixtures.genesisTestRuntime().with { $0.keyManager = km.id }
        let table = try RuntimeLookupTable(runtimes: [compute], suspended: [km])
        try compute.verifyRegisterComputeRuntimeArgs(lookup: table)

        let missing = try RuntimeLookupTable(runtimes: [compute], suspended: [])
        #expect(errorText { try compute.verifyRegisterComputeRuntimeArgs(lookup: missing) } == "registry: no such runtime")

        let notKM = compute.with { $0.keyManager = Fixtures.genesisTestRuntime().id }
        let bare = try #require(throws: CodedError.self) {
            try notKM.verifyRegisterComputeRuntimeArgs(lookup: table)
        }
        #expect(bare.description == "registry: invalid argument")

        let production = compute.with { $0.id = try! Namespace(hex: "00000000000000000000000000000000000000000000000000000000000000aa") }
        #expect(errorText { try production.verifyRegisterComputeRuntimeArgs(lookup: table) }
            == "registry: invalid argument: compute runtime without SGX using key manager")
        try production.with { $0.teeHardware = .intelSGX }.verifyRegisterComputeRuntimeArgs(lookup: table)
    }

    @Test("the lookup table reports missing runtimes as Go's table does")
    func lookupTable() throws {
        let km = Fixtures.keyManagerRuntime()
        let compute = Fixtures.genesisTestRuntime()
        let table = try RuntimeLookupTable(runtimes: [compute], suspended: [km])
        #expect(try table.runtime(compute.id) == compute)
        #expect(errorText { _ = try table.runtime(km.id) } == "runtime not found")
        #expect(try table.suspendedRuntime(km.id) == km)
        #expect(errorText { _ = try table.suspendedRuntime(compute.id) } == "registry: no such runtime")
        #expect(try table.anyRuntime(km.id) == km)
        #expect(table.allRuntimes() == [compute, km])
    }

    @Test("sanity checks refuse duplicates and wrap verification errors")
    func sanityCheckRuntimes() throws {
        let km = Fixtures.keyManagerRuntime()
        let compute = Fixtures.genesisTestRuntime().with { $0.keyManager = km.id }
        let table = try RuntimeDescriptor.sanityCheckRuntimes(
            [km], suspended: [compute], params: Fixtures.permissive, isGenesis: true)
        #expect(try table.suspendedRuntime(compute.id) == compute)

        #expect(errorText {
            try RuntimeDescriptor.sanityCheckRuntimes([km, km], suspended: [], params: Fixtures.permissive, isGenesis: true)
        } == "duplicate runtime: \(km.id)")
        #expect(errorText {
            try RuntimeDescriptor.sanityCheckRuntimes([km], suspended: [km], params: Fixtures.permissive, isGenesis: true)
        } == "duplicate (suspended) runtime: \(km.id)")

        let bad = compute.with { $0.executor.groupSize = 0 }
        let wrapped = try #require(throws: DescriptorError.self) {
            try RuntimeDescriptor.sanityCheckRuntimes([km, bad], suspended: [], params: Fixtures.permissive, isGenesis: true)
        }
        #expect(wrapped.message
            == "runtime sanity check failed: registry: invalid argument: bad executor parameters: executor primary group too small")
        #expect((wrapped.underlying as? CodedError)?.matches(RegistryErrors.invalidArgument) == true)

        #expect(errorText {
            try RuntimeDescriptor.sanityCheckRuntimes([compute], suspended: [], params: Fixtures.permissive, isGenesis: true)
        } == "compute runtime sanity check failed: registry: no such runtime")
    }
}

extension RuntimeDescriptor {
    /// A copy with `change` applied.
    func with(_ change: (inout RuntimeDescriptor) -> Void) -> RuntimeDescriptor {
        var copy = self
        change(&copy)
        return copy
    }
}
