import ConsensusAPI
import Foundation
import OasisCBOR
import OasisCommon
import Testing

/// Text forms of the registry's enumerations (spec/core.md §3.1, cases 64–66) and of
/// `version.Version` (§3.6, cases 70–71).
@Suite("Registry enumerations and versions")
struct RegistryEnumTests {
    @Test("runtime kinds parse case-insensitively, and only compute and keymanager (64)")
    func runtimeKind() throws {
        #expect(try RuntimeKind(string: "Compute") == .compute)
        #expect(try RuntimeKind(string: "KEYMANAGER") == .keyManager)
        #expect(errorText { _ = try RuntimeKind(string: "invalid") } == "runtime: unsupported runtime kind")
        #expect(errorText { _ = try RuntimeKind(string: "") } == "runtime: unsupported runtime kind")
        #expect(RuntimeKind.keyManager.description == "keymanager")
        #expect(RuntimeKind(rawValue: 7).description == "[unsupported runtime kind]")
    }

    @Test("TEE hardware parses case-insensitively, with the empty string as invalid (65)")
    func teeHardware() throws {
        #expect(try TEEHardware(string: "") == .invalid)
        #expect(try TEEHardware(string: "INTEL-SGX") == .intelSGX)
        #expect(errorText { _ = try TEEHardware(string: "sgx") } == "node: invalid TEE implementation")
    }

    @Test("governance models parse case-sensitively and refuse to write unknown values (66)")
    func governanceModel() throws {
        #expect(errorText { _ = try RuntimeGovernanceModel(string: "Entity") }
            == "runtime: unsupported governance model: 'Entity'")
        #expect(try RuntimeGovernanceModel(string: "entity").rawValue == 1)
        #expect(errorText { _ = try RuntimeGovernanceModel(string: "invalid") }
            == "runtime: unsupported governance model: 'invalid'")
        #expect(errorText { _ = try RuntimeGovernanceModel(rawValue: 9).marshalText() }
            == "runtime: unsupported governance model")
        #expect(try RuntimeGovernanceModel.invalid.marshalText() == "invalid")
        #expect(RuntimeGovernanceModel(rawValue: 9).description == "[unsupported runtime governance model]")
    }

    @Test("governance models are integers in CBOR and text in JSON")
    func governanceModelCoding() throws {
        #expect(try CBOREncoder().encode(RuntimeGovernanceModel.consensus) == [0x03])
        #expect(try CBORDecoder().decode(RuntimeGovernanceModel.self, from: [0x02]) == .runtime)
        #expect(String(decoding: try JSONEncoder().encode([RuntimeGovernanceModel.runtime]), as: UTF8.self)
            == #"["runtime"]"#)
        #expect(try JSONDecoder().decode([RuntimeGovernanceModel].self, from: Data(#"["consensus"]"#.utf8))
            == [.consensus])
        #expect(throws: EncodingError.self) { try JSONEncoder().encode([RuntimeGovernanceModel(rawValue: 9)]) }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([RuntimeGovernanceModel].self, from: Data(#"["Entity"]"#.utf8))
        }
    }

    @Test("committee kinds and roles read only their valid names, case-sensitively")
    func committeeKindsAndRoles() throws {
        #expect(try CommitteeKind(string: "executor") == .executor)
        #expect(try CommitteeKind(string: "storage") == .storage)
        #expect(errorText { _ = try CommitteeKind(string: "Executor") } == "invalid role: Executor")
        #expect(errorText { _ = try CommitteeKind(string: "invalid") } == "invalid role: invalid")
        #expect(errorText { _ = try CommitteeKind(rawValue: 3).marshalText() } == "invalid role: 3")
        #expect(CommitteeKind(rawValue: 3).description == "[unknown kind: 3]")

        #expect(try Role(string: "backup-worker") == .backupWorker)
        #expect(errorText { _ = try Role(string: "Worker") } == "invalid role: Worker")
        #expect(errorText { _ = try Role(rawValue: 3).marshalText() } == "invalid role: 3")
        #expect(Role(rawValue: 5).description == "[unknown role: 5]")
        #expect(try Role.invalid.marshalText() == "invalid")
    }

    @Test("threshold kinds always write text but read only known names")
    func thresholdKinds() throws {
        #expect(ThresholdKind.nodeKeyManager.marshalText() == "node-keymanager")
        #expect(ThresholdKind(rawValue: 9).marshalText() == "[unknown threshold kind]")
        #expect(try ThresholdKind(string: "runtime-compute") == .runtimeCompute)
        #expect(errorText { _ = try ThresholdKind(string: "Node-Compute") } == "invalid threshold: Node-Compute")
        // A Go int: negative values are CBOR negative integers.
        #expect(ThresholdKind(rawValue: -2).cborMapKey == .negativeInt(1))
        #expect(try ThresholdKind(cborMapKey: .negativeInt(1)) == ThresholdKind(rawValue: -2))
    }

    @Test("the most negative threshold kind reads back as the map key it writes")
    func mostNegativeThresholdKind() throws {
        // Go's int reads -2^63 (`3b 7fff ffff ffff ffff`); ValidateBasic, not decoding, refuses it.
        let kind = ThresholdKind(rawValue: .min)
        #expect(kind.cborMapKey == .negativeInt(UInt64(Int64.max)))
        #expect(try ThresholdKind(cborMapKey: kind.cborMapKey) == kind)
        let staking = RuntimeStakingParameters(thresholds: [kind: Quantity(1)])
        let bytes = try CBOREncoder().encode(staking)
        #expect(try CBORDecoder().decode(RuntimeStakingParameters.self, from: bytes) == staking)
        #expect(errorText { try staking.validateBasic(runtimeKind: .compute) }
            == "unsupported staking threshold kind for runtime: [unknown threshold kind]")
    }

    @Test("slash reasons accept the legacy \"0\" and refuse to write unknown values")
    func slashReasons() throws {
        #expect(try SlashReason(string: "0") == .consensusEquivocation)
        #expect(try SlashReason(string: "runtime-incorrect-results") == .runtimeIncorrectResults)
        #expect(errorText { _ = try SlashReason(string: "1") } == "invalid slash reason: 1")
        #expect(errorText { _ = try SlashReason(rawValue: 0x05).marshalText() } == "unknown slash reason: 5")
        #expect(SlashReason(rawValue: 0x05).description == "[unknown slash reason]")
        #expect(SlashReason.runtimeEquivocation.cborMapKey == .unsignedInt(0x81))
    }

    @Test("roles masks print comma-joined names and parse them back")
    func rolesMask() throws {
        let mask: RolesMask = [.computeWorker, .keyManager, .storageRPC]
        #expect(mask.description == "compute,key-manager,storage-rpc")
        #expect(try RolesMask(string: "compute,key-manager,storage-rpc") == mask)
        #expect(RolesMask(rawValue: 1 << 6 | 1).description == "[invalid roles]")
        #expect(RolesMask().description == "")
        #expect(errorText { _ = try RolesMask(string: "compute,Compute") } == "node: invalid role: 'Compute'")
        #expect(errorText { _ = try RolesMask(string: "validator,validator") } == "node: duplicate role: 'validator'")
        #expect(errorText { _ = try RolesMask(string: "") } == "node: invalid role: ''")
    }

    @Test("roles masks are decimal JSON map keys, read as strictly as Go reads them")
    func rolesMaskJSONKeys() throws {
        let config = EntityWhitelistConfig(maxNodes: [.keyManager: 2])
        #expect(String(decoding: try JSONEncoder().encode(config), as: UTF8.self) == #"{"max_nodes":{"4":2}}"#)
        #expect(try JSONDecoder().decode(EntityWhitelistConfig.self, from: Data(#"{"max_nodes":{"4":2}}"#.utf8)) == config)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(EntityWhitelistConfig.self, from: Data(#"{"max_nodes":{"+4":2}}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(EntityWhitelistConfig.self, from: Data(#"{"max_nodes":{"key-manager":2}}"#.utf8))
        }
    }

    @Test("a single role is exactly one bit that is not reserved")
    func singleRole() {
        #expect(RolesMask.storageWorker.isSingleRole)
        #expect(RolesMask.consensusRPC.isSingleRole)
        #expect(!RolesMask().isSingleRole)
        #expect(!RolesMask([.computeWorker, .validator]).isSingleRole)
        #expect(!RolesMask(rawValue: 1 << 6).isSingleRole)
        #expect(!RolesMask(rawValue: 1 << 31).isSingleRole)
    }

    @Test("packed versions keep 16-bit fields but unpack only 8 bits (70)")
    func versionPacking() throws {
        #expect(Version(major: 1, minor: 2, patch: 3).packed == 4_295_098_371)
        #expect(Version(major: 4).packed == 17_179_869_184)
        #expect(Version(packed: Version(major: 1, minor: 300, patch: 2).packed) == Version(major: 1, minor: 44, patch: 2))
        #expect(errorText { try Version().validateBasic() } == "invalid version: 0.0.0")
        try Version(patch: 1).validateBasic()
    }

    @Test("versions omit zero components in CBOR (71)")
    func versionEncoding() throws {
        #expect(try CBOREncoder().encode(Version()) == [0xa0])
        #expect(Hex.encode(try CBOREncoder().encode(Version(major: 1, minor: 2, patch: 3)))
            == "a3656d616a6f7201656d696e6f720265706174636803")
    }
}
