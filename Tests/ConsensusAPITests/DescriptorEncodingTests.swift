import ConsensusAPI
import Foundation
import OasisCBOR
import OasisCommon
import Testing

/// The CBOR and JSON forms of the runtime descriptor (spec/core.md §0.2, §3.2–3.3).
@Suite("Runtime descriptor encoding")
struct DescriptorEncodingTests {
    let encoder = CBOREncoder()
    let decoder = CBORDecoder()

    static let zero32 = cborBytes(0, count: 32)

    /// `Fixtures.populated()` written out item by item, independently of the Codable code.
    static func populatedCBOR() throws -> CBORValue {
        let enclave = cborMap(["mr_enclave": cborBytes(0xaa, count: 32), "mr_signer": cborBytes(0xbb, count: 32)])
        let tee = try cborMap(["enclaves": .array([enclave])]).encoded()
        let receipt = cborMap([
            "public_key": .byteString([UInt8](repeating: 0, count: 31) + [9]), "signature": cborBytes(0, count: 64),
        ])
        let whitelist = CBORValue.map([
            CBORMapEntry(
                key: .byteString(Fixtures.entity.bytes),
                value: cborMap(["max_nodes": cborIntMap([1: .unsignedInt(3), 2: .unsignedInt(1)])]))
        ])
        return cborMap([
            "v": .unsignedInt(2),
            "id": .byteString(Fixtures.computeID.bytes),
            "entity_id": .byteString(Fixtures.entity.bytes),
            "genesis": cborMap([
                "state_root": .byteString(Hash.empty.bytes),
                "state": .array([.array([.byteString(Array("key".utf8)), .byteString(Array("value".utf8))])]),
                "storage_receipts": .array([receipt]),
                "round": .unsignedInt(7),
            ]),
            "kind": .unsignedInt(1),
            "tee_hardware": .unsignedInt(1),
            "versions": cborMap([
                "version": cborMap(["major": .unsignedInt(1), "minor": .unsignedInt(2), "patch": .unsignedInt(3)]),
                "tee": .byteString(tee),
            ]),
            "key_manager": .byteString(Fixtures.keyManagerID.bytes),
            "executor": cborMap([
                "group_size": .unsignedInt(3), "group_backup_size": .unsignedInt(2),
                "allowed_stragglers": .unsignedInt(1), "round_timeout": .unsignedInt(20),
                "max_messages": .unsignedInt(128),
            ]),
            "txn_scheduler": cborMap([
                "algorithm": .textString("simple"), "batch_flush_timeout": .unsignedInt(1_500_000_000),
                "max_batch_size": .unsignedInt(100), "max_batch_size_bytes": .unsignedInt(16_777_216),
                "propose_batch_timeout": .unsignedInt(5),
            ]),
            "storage": cborMap([
                "group_size": .unsignedInt(2), "min_write_replication": .unsignedInt(1),
                "max_apply_write_log_entries": .unsignedInt(100_000), "max_apply_ops": .unsignedInt(2),
                "checkpoint_interval": .unsignedInt(10_000), "checkpoint_num_kept": .unsignedInt(2),
                "checkpoint_chunk_size": .unsignedInt(8_388_608),
            ]),
            "admission_policy": cborMap(["entity_whitelist": cborMap(["entities": whitelist])]),
            "constraints": cborIntMap([
                1: cborIntMap([
                    1: cborMap([
                        "validator_set": cborMap([:]), "max_nodes": cborMap(["limit": .unsignedInt(2)]),
                        "min_pool_size": cborMap(["limit": .unsignedInt(5)]),
                    ]),
                    2: cborMap(["min_pool_size": cborMap(["limit": .unsignedInt(1)])]),
                ]),
                2: cborIntMap([1: cborMap([:])]),
            ]),
            "staking": cborMap([
                "thresholds": cborIntMap([2: .byteString([0x03, 0xe8]), 3: .byteString([0x05])]),
                "slashing": cborIntMap([
                    0x81: cborMap(["amount": .byteString([0x64]), "freeze_interval": .unsignedInt(1)])
                ]),
                "reward_equivocation": .unsignedInt(10),
                "reward_bad_results": .unsignedInt(20),
            ]),
            "governance_model": .unsignedInt(2),
        ])
    }

    /// The zero descriptor as Go writes it: everything but `key_manager`, `constraints` and
    /// `staking`, with nil lists as `null`, the zero version as an empty map and no admission
    /// policy as an empty map.
    static let zeroCBOR = cborMap([
        "v": .unsignedInt(0), "id": zero32, "entity_id": zero32,
        "genesis": cborMap(["state_root": zero32, "state": .null, "storage_receipts": .null, "round": .unsignedInt(0)]),
        "kind": .unsignedInt(0), "tee_hardware": .unsignedInt(0),
        "versions": cborMap(["version": cborMap([:])]),
        "executor": cborMap([
            "group_size": .unsignedInt(0), "group_backup_size": .unsignedInt(0), "allowed_stragglers": .unsignedInt(0),
            "round_timeout": .unsignedInt(0), "max_messages": .unsignedInt(0),
        ]),
        "txn_scheduler": cborMap([
            "algorithm": .textString(""), "batch_flush_timeout": .unsignedInt(0), "max_batch_size": .unsignedInt(0),
            "max_batch_size_bytes": .unsignedInt(0), "propose_batch_timeout": .unsignedInt(0),
        ]),
        "storage": cborMap([
            "group_size": .unsignedInt(0), "min_write_replication": .unsignedInt(0),
            "max_apply_write_log_entries": .unsignedInt(0), "max_apply_ops": .unsignedInt(0),
            "checkpoint_interval": .unsignedInt(0), "checkpoint_num_kept": .unsignedInt(0),
            "checkpoint_chunk_size": .unsignedInt(0),
        ]),
        "admission_policy": cborMap([:]),
        "governance_model": .unsignedInt(0),
    ])

    /// Replaces (or adds) a top-level key of a map value.
    static func setting(_ key: String, to value: CBORValue, in map: CBORValue) -> CBORValue {
        guard case .map(var entries) = map else { return map }
        entries.removeAll { $0.key == .textString(key) }
        entries.append(CBORMapEntry(key: .textString(key), value: value))
        return .map(entries)
    }

    // MARK: CBOR

    @Test("a fully populated descriptor decodes from its CBOR and encodes back to the same bytes")
    func populatedRoundTrip() throws {
        let bytes = try Self.populatedCBOR().encoded()
        let decoded = try decoder.decode(RuntimeDescriptor.self, from: bytes)
        #expect(decoded == Fixtures.populated())
        #expect(try encoder.encode(decoded) == bytes)
        #expect(try encoder.encode(Fixtures.populated()) == bytes)
    }

    @Test("the top-level keys come in the canonical order computed in the spec")
    func canonicalKeyOrder() throws {
        let value = try CBORValue(decoding: encoder.encode(Fixtures.populated()))
        guard case .map(let entries) = value else {
            Issue.record("a descriptor must encode as a map")
            return
        }
        let keys = entries.map { entry -> String in
            if case .textString(let s) = entry.key { return s }
            return "?"
        }
        #expect(keys == [
            "v", "id", "kind", "genesis", "staking", "storage", "executor", "versions", "entity_id", "constraints",
            "key_manager", "tee_hardware", "txn_scheduler", "admission_policy", "governance_model",
        ])
    }

    @Test("the zero descriptor omits exactly key_manager, constraints and staking")
    func zeroDescriptor() throws {
        let bytes = try encoder.encode(RuntimeDescriptor())
        #expect(bytes == (try Self.zeroCBOR.encoded()))
        #expect(try decoder.decode(RuntimeDescriptor.self, from: bytes) == RuntimeDescriptor())
        // Missing keys read as Go's zero values.
        #expect(try decoder.decode(RuntimeDescriptor.self, from: [0xa0]) == RuntimeDescriptor())
    }

    @Test("staking is written in CBOR as soon as one of its fields is set")
    func stakingPresence() throws {
        var rt = RuntimeDescriptor()
        rt.staking.rewardSlashBadResultsRuntimePercent = 5
        let value = try CBORValue(decoding: encoder.encode(rt))
        #expect(value["staking"] == cborMap(["reward_bad_results": .unsignedInt(5)]))
        rt.staking = RuntimeStakingParameters(thresholds: [.nodeCompute: .zero])
        #expect(try CBORValue(decoding: encoder.encode(rt))["staking"] == cborMap(["thresholds": cborIntMap([2: .byteString([])])]))
    }

    @Test("an absent TEE field and a present empty one stay apart")
    func teeNilVersusEmpty() throws {
        let withEmpty = Self.setting("versions", to: cborMap(["version": cborMap([:]), "tee": .byteString([])]), in: Self.zeroCBOR)
        let decoded = try decoder.decode(RuntimeDescriptor.self, from: withEmpty.encoded())
        #expect(decoded.versions.tee == [])
        #expect(try decoder.decode(RuntimeDescriptor.self, from: Self.zeroCBOR.encoded()).versions.tee == nil)
        // Both are omitted when written, as in Go.
        #expect(try CBORValue(decoding: encoder.encode(decoded))["versions"] == cborMap(["version": cborMap([:])]))
    }

    @Test("empty lists are written as empty arrays, nil lists as null")
    func nilVersusEmptyLists() throws {
        var rt = RuntimeDescriptor()
        rt.genesis.state = []
        rt.admissionPolicy.entityWhitelist = EntityWhitelistRuntimeAdmissionPolicy(entities: [:])
        let value = try CBORValue(decoding: encoder.encode(rt))
        #expect(value["genesis"]?["state"] == .array([]))
        #expect(value["genesis"]?["storage_receipts"] == .null)
        #expect(value["admission_policy"] == cborMap(["entity_whitelist": cborMap(["entities": .map([])])]))
        rt.admissionPolicy.entityWhitelist = EntityWhitelistRuntimeAdmissionPolicy()
        #expect(try CBORValue(decoding: encoder.encode(rt))["admission_policy"]
            == cborMap(["entity_whitelist": cborMap(["entities": .null])]))
    }

    @Test("a null per-committee constraints map reads as empty, as Go reads it")
    func nullInnerConstraints() throws {
        let value = Self.setting("constraints", to: cborIntMap([1: .null]), in: Self.zeroCBOR)
        let decoded = try decoder.decode(RuntimeDescriptor.self, from: value.encoded())
        #expect(decoded.constraints == [.executor: [:]])
    }

    @Test("strict decoding refuses unknown fields, at the top and nested")
    func unknownFields() throws {
        let top = Self.setting("unknown", to: .unsignedInt(1), in: Self.zeroCBOR)
        let error = try #require(throws: CBORError.self) {
            try decoder.decode(RuntimeDescriptor.self, from: top.encoded())
        }
        #expect(error.kind == .unknownField)

        let nested = Self.setting("executor", to: cborMap(["group_size": .unsignedInt(1), "merge": .null]), in: Self.zeroCBOR)
        #expect(throws: CBORError.self) { try decoder.decode(RuntimeDescriptor.self, from: nested.encoded()) }

        let anyNode = Self.setting("admission_policy", to: cborMap(["any_node": cborMap(["x": .null])]), in: Self.zeroCBOR)
        #expect(throws: CBORError.self) { try decoder.decode(RuntimeDescriptor.self, from: anyNode.encoded()) }

        // The trusted decoder reads past them.
        let trusted = CBORDecoder(options: .trusted)
        #expect(try trusted.decode(RuntimeDescriptor.self, from: top.encoded()) == RuntimeDescriptor())
    }

    @Test("enumeration values out of their Go range fail to decode")
    func integerRanges() throws {
        let value = Self.setting("governance_model", to: .unsignedInt(256), in: Self.zeroCBOR)
        #expect(throws: CBORError.self) { try decoder.decode(RuntimeDescriptor.self, from: value.encoded()) }
        let kind = Self.setting("kind", to: .unsignedInt(1 << 32), in: Self.zeroCBOR)
        #expect(throws: CBORError.self) { try decoder.decode(RuntimeDescriptor.self, from: kind.encoded()) }
    }

    @Test("a write log entry must be a two-element array")
    func writeLogEntryShape() throws {
        let genesis = cborMap(["state": .array([.array([.byteString([1])])])])
        let value = Self.setting("genesis", to: genesis, in: Self.zeroCBOR)
        #expect(throws: DecodingError.self) { try decoder.decode(RuntimeDescriptor.self, from: value.encoded()) }
    }

    @Test("the batch flush timeout is nanoseconds on the wire and a Duration in Swift")
    func batchFlushTimeout() throws {
        var params = TxnSchedulerParameters(batchFlushTimeout: .seconds(1))
        #expect(params.batchFlushTimeoutNanoseconds == 1_000_000_000)
        #expect(try CBORValue(decoding: encoder.encode(params))["batch_flush_timeout"] == .unsignedInt(1_000_000_000))
        params.batchFlushTimeoutNanoseconds = -5
        #expect(params.batchFlushTimeout == .nanoseconds(-5))
        #expect(try CBORValue(decoding: encoder.encode(params))["batch_flush_timeout"] == .negativeInt(4))
        params.batchFlushTimeout = .seconds(Int64.max)
        #expect(params.batchFlushTimeoutNanoseconds == Int64.max)
    }

    // MARK: JSON

    /// A runtime as an oasis-core genesis file carries it, written by hand after Go's
    /// encoding/json rules.
    static let genesisJSON = #"""
        {
          "v": 2,
          "id": "gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
          "entity_id": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAU=",
          "genesis": {
            "state_root": "xnK40e9W7Sirh8NiLFEUBpvdOte4+XN0mNDAHs7wlno=",
            "state": [["a2V5", "dmFsdWU="]],
            "storage_receipts": null,
            "round": 0
          },
          "kind": 1,
          "tee_hardware": 0,
          "versions": {"version": {"major": 1, "minor": 2}},
          "key_manager": "wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=",
          "executor": {"group_size": 2, "group_backup_size": 1, "allowed_stragglers": 1, "round_timeout": 20, "max_messages": 128},
          "txn_scheduler": {"algorithm": "simple", "batch_flush_timeout": 1000000000, "max_batch_size": 100, "max_batch_size_bytes": 16777216, "propose_batch_timeout": 20},
          "storage": {"group_size": 1, "min_write_replication": 1, "max_apply_write_log_entries": 100000, "max_apply_ops": 2, "checkpoint_interval": 10000, "checkpoint_num_kept": 2, "checkpoint_chunk_size": 8388608},
          "admission_policy": {"entity_whitelist": {"entities": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAU=": {"max_nodes": {"1": 3, "2": 1}}}}},
          "constraints": {"executor": {"worker": {"min_pool_size": {"limit": 3}, "validator_set": {}}, "backup-worker": {"max_nodes": {"limit": 1}}}},
          "staking": {"thresholds": {"node-compute": "1000"}, "slashing": {"runtime-equivocation": {"amount": "100", "freeze_interval": 1}}, "reward_equivocation": 50},
          "governance_model": "entity"
        }
        """#

    func jsonObject(_ data: Data) throws -> NSDictionary {
        try #require(JSONSerialization.jsonObject(with: data) as? NSDictionary)
    }

    @Test("a genesis-style JSON descriptor decodes with Go's text forms")
    func genesisJSONDecodes() throws {
        let rt = try JSONDecoder().decode(RuntimeDescriptor.self, from: Data(Self.genesisJSON.utf8))
        #expect(rt.descriptorVersion == 2)
        #expect(rt.id == Fixtures.computeID)
        #expect(rt.entityID == Fixtures.entity)
        #expect(rt.genesis.stateRoot == .empty)
        #expect(rt.genesis.state == [WriteLogEntry(key: Array("key".utf8), value: Array("value".utf8))])
        #expect(rt.genesis.storageReceipts == nil)
        #expect(rt.kind == .compute)
        #expect(rt.versions == VersionInfo(version: Version(major: 1, minor: 2)))
        #expect(rt.keyManager == Fixtures.keyManagerID)
        #expect(rt.txnScheduler.batchFlushTimeout == .seconds(1))
        #expect(rt.storage.checkpointChunkSize == 8_388_608)
        #expect(rt.admissionPolicy.entityWhitelist?.entities?[Fixtures.entity]?.maxNodes
            == [.computeWorker: 3, .storageWorker: 1])
        #expect(rt.constraints[.executor]?[.worker]
            == SchedulingConstraints(validatorSet: ValidatorSetConstraint(), minPoolSize: MinPoolSizeConstraint(limit: 3)))
        #expect(rt.constraints[.executor]?[.backupWorker]?.maxNodes == MaxNodesConstraint(limit: 1))
        #expect(rt.staking.thresholds == [.nodeCompute: Quantity(1000)])
        #expect(rt.staking.slashing == [.runtimeEquivocation: Slash(amount: Quantity(100), freezeInterval: 1)])
        #expect(rt.staking.rewardSlashEquivocationRuntimePercent == 50)
        #expect(rt.governanceModel == .entity)
        try rt.validateBasic(strict: true)
    }

    @Test("a genesis-style JSON descriptor encodes back to the same JSON object")
    func genesisJSONRoundTrip() throws {
        let source = Data(Self.genesisJSON.utf8)
        let rt = try JSONDecoder().decode(RuntimeDescriptor.self, from: source)
        let written = try JSONEncoder().encode(rt)
        #expect(try jsonObject(written) == jsonObject(source))
    }

    @Test("JSON keeps staking even when empty and writes the zero governance model as text")
    func zeroDescriptorJSON() throws {
        let object = try jsonObject(JSONEncoder().encode(RuntimeDescriptor()))
        #expect(object["staking"] as? NSDictionary == NSDictionary())
        #expect(object["key_manager"] == nil)
        #expect(object["constraints"] == nil)
        #expect(object["governance_model"] as? String == "invalid")
        #expect(object["versions"] as? NSDictionary == ["version": NSDictionary()] as NSDictionary)
        #expect((object["genesis"] as? NSDictionary)?["state"] is NSNull)
    }

    @Test("JSON refuses to write values Go cannot marshal as text")
    func jsonRefusesUnknownText() {
        #expect(throws: EncodingError.self) {
            try JSONEncoder().encode(RuntimeDescriptor(governanceModel: RuntimeGovernanceModel(rawValue: 4)))
        }
        #expect(throws: EncodingError.self) {
            try JSONEncoder().encode(RuntimeDescriptor(constraints: [CommitteeKind(rawValue: 9): [:]]))
        }
        #expect(throws: EncodingError.self) {
            try JSONEncoder().encode(RuntimeDescriptor(constraints: [.executor: [Role(rawValue: 9): SchedulingConstraints()]]))
        }
        #expect(throws: EncodingError.self) {
            try JSONEncoder().encode(RuntimeDescriptor(staking: RuntimeStakingParameters(slashing: [SlashReason(rawValue: 9): Slash()])))
        }
        // CBOR has no text forms, so it writes them.
        #expect(throws: Never.self) {
            try CBOREncoder().encode(RuntimeDescriptor(constraints: [CommitteeKind(rawValue: 9): [:]]))
        }
    }

    @Test("JSON and CBOR forms describe the same descriptor")
    func jsonAndCBORAgree() throws {
        let populated = Fixtures.populated()
        let viaJSON = try JSONDecoder().decode(RuntimeDescriptor.self, from: JSONEncoder().encode(populated))
        #expect(viaJSON == populated)
        let object = try jsonObject(JSONEncoder().encode(populated))
        let versions = try #require(object["versions"] as? NSDictionary)
        #expect(versions["tee"] as? String == Base64.encode(populated.versions.tee ?? []))
    }

    @Test("SGX constraints write enclave identities as base64 text in JSON")
    func sgxConstraintsJSON() throws {
        let identity = EnclaveIdentity(
            mrEnclave: SGXMeasurement(raw: Bytes32([UInt8](repeating: 1, count: 32))!),
            mrSigner: SGXMeasurement(raw: Bytes32([UInt8](repeating: 2, count: 32))!))
        let json = try JSONEncoder().encode(SGXConstraints(enclaves: [identity]))
        let expected = Base64.encode([UInt8](repeating: 1, count: 32) + [UInt8](repeating: 2, count: 32))
        #expect(try jsonObject(json) == ["enclaves": [expected]] as NSDictionary)
        #expect(try JSONDecoder().decode(SGXConstraints.self, from: json) == SGXConstraints(enclaves: [identity]))
    }
}
