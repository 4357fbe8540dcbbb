public import OasisCBOR
import OasisCommon

// The fast CBOR paths of the block header, the round results and the runtime descriptor with
// every type it holds (see ``CBORFastDecodable``). Each mirrors its `init(from:)` beside it:
// the same keys, the same Go zero value for an absent or `null` field (`decodeField(...) ??
// zero` is `decode(_:forKey:orZero:)`), unknown keys refused unless the decoder is trusted.
// `CBORDecoderFastPathTests` decodes a corpus both ways and compares.

extension CBORFastDecodable where Self: TextRepresentedEnum, RawValue: CBORFastDecodable {
    /// CBOR carries the integer (the text form is JSON's).
    public init(cbor reader: inout CBORFastReader) throws {
        self.init(rawValue: try RawValue(cbor: &reader))
    }
}

extension CommitteeKind: CBORFastDecodable {}
extension Role: CBORFastDecodable {}
extension ThresholdKind: CBORFastDecodable {}
extension SlashReason: CBORFastDecodable {}
extension RuntimeGovernanceModel: CBORFastDecodable {}

extension HeaderType: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init(rawValue: try reader.decodeInteger(UInt8.self))
    }
}

extension RuntimeKind: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init(rawValue: try reader.decodeInteger(UInt32.self))
    }
}

extension RolesMask: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init(rawValue: try reader.decodeInteger(UInt32.self))
    }
}

// MARK: Blocks and round results

extension BlockHeader: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "version": version = try reader.decodeField() ?? 0
            case "namespace": namespace = try reader.decodeField() ?? Namespace(unchecked: .zero)
            case "round": round = try reader.decodeField() ?? 0
            case "timestamp": timestamp = try reader.decodeField() ?? 0
            case "header_type": headerType = try reader.decodeField() ?? .invalid
            case "previous_hash": previousHash = try reader.decodeField() ?? .zero
            case "io_root": ioRoot = try reader.decodeField() ?? .zero
            case "state_root": stateRoot = try reader.decodeField() ?? .zero
            case "messages_hash": messagesHash = try reader.decodeField() ?? .zero
            case "storage_signatures": storageSignatures = try reader.decodeField()
            default: try reader.unknownField()
            }
        }
    }
}

extension LightBlock: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "height": height = try reader.decodeField() ?? 0
            case "meta": meta = try reader.decodeField() ?? []
            default: try reader.unknownField()
            }
        }
    }
}

extension Block: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "header": header = try reader.decodeField() ?? BlockHeader()
            default: try reader.unknownField()
            }
        }
    }
}

extension MessageEvent: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "module": module = try reader.decodeField() ?? ""
            case "code": code = try reader.decodeField() ?? 0
            case "index": index = try reader.decodeField() ?? 0
            default: try reader.unknownField()
            }
        }
    }
}

extension RoundResults: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "messages": messages = try reader.decodeField() ?? []
            case "good_compute_entities": goodComputeEntities = try reader.decodeField() ?? []
            case "bad_compute_entities": badComputeEntities = try reader.decodeField() ?? []
            default: try reader.unknownField()
            }
        }
    }
}

// MARK: The runtime descriptor

extension RuntimeDescriptor: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "v": descriptorVersion = try reader.decodeField() ?? 0
            case "id": id = try reader.decodeField() ?? Namespace(unchecked: .zero)
            case "entity_id": entityID = try reader.decodeField() ?? PublicKey(raw: .zero)
            case "genesis": genesis = try reader.decodeField() ?? RuntimeGenesis()
            case "kind": kind = try reader.decodeField() ?? .invalid
            case "tee_hardware": teeHardware = try reader.decodeField() ?? .invalid
            case "versions": versions = try reader.decodeField() ?? VersionInfo()
            case "key_manager": keyManager = try reader.decodeField()
            case "executor": executor = try reader.decodeField() ?? ExecutorParameters()
            case "txn_scheduler": txnScheduler = try reader.decodeField() ?? TxnSchedulerParameters()
            case "storage": storage = try reader.decodeField() ?? StorageParameters()
            case "admission_policy": admissionPolicy = try reader.decodeField() ?? RuntimeAdmissionPolicy()
            case "constraints":
                // A `null` role map under a committee kind reads as empty, as in `ConstraintsMap`.
                constraints = try reader.decodeField([CommitteeKind: NullableRoleConstraints].self)?
                    .mapValues(\.map) ?? [:]
            case "staking": staking = try reader.decodeField() ?? RuntimeStakingParameters()
            case "governance_model": governanceModel = try reader.decodeField() ?? .invalid
            default: try reader.unknownField()
            }
        }
    }

    /// The roles of one committee kind, where `null` means none.
    private struct NullableRoleConstraints: CBORFastDecodable {
        var map: [Role: SchedulingConstraints]

        init(cbor reader: inout CBORFastReader) throws {
            map = reader.decodeNil() ? [:] : try reader.decode()
        }
    }
}

extension RuntimeGenesis: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "state_root": stateRoot = try reader.decodeField() ?? .zero
            case "state": state = try reader.decodeField()
            case "storage_receipts": storageReceipts = try reader.decodeField()
            case "round": round = try reader.decodeField() ?? 0
            default: try reader.unknownField()
            }
        }
    }
}

extension WriteLogEntry: CBORFastDecodable {
    /// A `[key, value]` array of two byte strings.
    public init(cbor reader: inout CBORFastReader) throws {
        guard try reader.decodeArrayCount() == 2 else { throw CBORError(.invalidValue, "not a [key, value] pair") }
        let key = try reader.decodeBytes()
        self.init(key: key, value: try reader.decodeBytes())
    }
}

extension VersionInfo: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "version": version = try reader.decodeField() ?? Version()
            case "tee": tee = reader.decodeNil() ? nil : try reader.decodeBytes()
            default: try reader.unknownField()
            }
        }
    }
}

extension ExecutorParameters: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "group_size": groupSize = try reader.decodeField() ?? 0
            case "group_backup_size": groupBackupSize = try reader.decodeField() ?? 0
            case "allowed_stragglers": allowedStragglers = try reader.decodeField() ?? 0
            case "round_timeout": roundTimeout = try reader.decodeField() ?? 0
            case "max_messages": maxMessages = try reader.decodeField() ?? 0
            default: try reader.unknownField()
            }
        }
    }
}

extension TxnSchedulerParameters: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "algorithm": algorithm = try reader.decodeField() ?? ""
            case "batch_flush_timeout": batchFlushTimeoutNanoseconds = try reader.decodeField() ?? 0
            case "max_batch_size": maxBatchSize = try reader.decodeField() ?? 0
            case "max_batch_size_bytes": maxBatchSizeBytes = try reader.decodeField() ?? 0
            case "propose_batch_timeout": proposerTimeout = try reader.decodeField() ?? 0
            default: try reader.unknownField()
            }
        }
    }
}

extension StorageParameters: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "group_size": groupSize = try reader.decodeField() ?? 0
            case "min_write_replication": minWriteReplication = try reader.decodeField() ?? 0
            case "max_apply_write_log_entries": maxApplyWriteLogEntries = try reader.decodeField() ?? 0
            case "max_apply_ops": maxApplyOps = try reader.decodeField() ?? 0
            case "checkpoint_interval": checkpointInterval = try reader.decodeField() ?? 0
            case "checkpoint_num_kept": checkpointNumKept = try reader.decodeField() ?? 0
            case "checkpoint_chunk_size": checkpointChunkSize = try reader.decodeField() ?? 0
            default: try reader.unknownField()
            }
        }
    }
}

extension RuntimeAdmissionPolicy: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "any_node": anyNode = try reader.decodeField()
            case "entity_whitelist": entityWhitelist = try reader.decodeField()
            default: try reader.unknownField()
            }
        }
    }
}

extension AnyNodeRuntimeAdmissionPolicy: CBORFastDecodable {
    /// A map with no fields: strict decoding refuses every key.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        try reader.decodeMapWithoutFields()
    }
}

extension ValidatorSetConstraint: CBORFastDecodable {
    /// A map with no fields: strict decoding refuses every key.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        try reader.decodeMapWithoutFields()
    }
}

extension EntityWhitelistRuntimeAdmissionPolicy: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "entities": entities = try reader.decodeField()
            default: try reader.unknownField()
            }
        }
    }
}

extension EntityWhitelistConfig: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "max_nodes": maxNodes = try reader.decodeField() ?? [:]
            default: try reader.unknownField()
            }
        }
    }
}

extension SchedulingConstraints: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "validator_set": validatorSet = try reader.decodeField()
            case "max_nodes": maxNodes = try reader.decodeField()
            case "min_pool_size": minPoolSize = try reader.decodeField()
            default: try reader.unknownField()
            }
        }
    }
}

extension MaxNodesConstraint: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "limit": limit = try reader.decodeField() ?? 0
            default: try reader.unknownField()
            }
        }
    }
}

extension MinPoolSizeConstraint: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "limit": limit = try reader.decodeField() ?? 0
            default: try reader.unknownField()
            }
        }
    }
}

extension RuntimeStakingParameters: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "thresholds": thresholds = try reader.decodeField() ?? [:]
            case "slashing": slashing = try reader.decodeField() ?? [:]
            case "reward_equivocation": rewardSlashEquivocationRuntimePercent = try reader.decodeField() ?? 0
            case "reward_bad_results": rewardSlashBadResultsRuntimePercent = try reader.decodeField() ?? 0
            default: try reader.unknownField()
            }
        }
    }
}

extension Slash: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "amount": amount = try reader.decodeField() ?? .zero
            case "freeze_interval": freezeInterval = try reader.decodeField() ?? 0
            default: try reader.unknownField()
            }
        }
    }
}
