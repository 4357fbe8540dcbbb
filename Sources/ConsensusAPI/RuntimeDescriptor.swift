import OasisCBOR
public import OasisCommon

/// A runtime's registry descriptor (`registry.Runtime`) as of oasis-core v21.1.
///
/// Its canonical CBOR is byte for byte what oasis-core writes: `key_manager` is omitted when
/// `nil`, `constraints` when empty, `staking` when all of its fields are empty; `executor`,
/// `txn_scheduler` and `storage` are always written (their fields carry no `omitempty`, so Go
/// never treats them as empty). Enumerations are integers and maps are keyed by integers or byte
/// strings. The JSON form is that of oasis-core genesis files: the same keys, `governance_model`
/// and the enumeration map keys as text, byte fields in base64, and `staking` always present.
public struct RuntimeDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// The descriptor version oasis-core v21.1 writes and, with strict validation, requires.
    public static let latestVersion: UInt16 = 2
    /// The lowest version accepted by non-strict validation.
    public static let minimumVersion: UInt16 = 2
    /// The highest version accepted by non-strict validation.
    public static let maximumVersion: UInt16 = latestVersion

    /// The descriptor format version (Go's embedded `cbor.Versioned`, key `v`).
    public var descriptorVersion: UInt16
    /// The runtime's globally unique identifier.
    public var id: Namespace
    /// The entity that controls the runtime.
    public var entityID: PublicKey
    /// The runtime's genesis state.
    public var genesis: RuntimeGenesis
    /// What the runtime does.
    public var kind: RuntimeKind
    /// The TEE the runtime needs.
    public var teeHardware: TEEHardware
    /// The runtime's version and TEE identities (Go field `Version`, key `versions`).
    public var versions: VersionInfo
    /// The key manager runtime this runtime uses, if any.
    public var keyManager: Namespace?
    /// Executor committee parameters.
    public var executor: ExecutorParameters
    /// Transaction scheduler parameters.
    public var txnScheduler: TxnSchedulerParameters
    /// Storage committee parameters.
    public var storage: StorageParameters
    /// Which nodes may register for the runtime.
    public var admissionPolicy: RuntimeAdmissionPolicy
    /// Node scheduling constraints per committee kind and role.
    public var constraints: [CommitteeKind: [Role: SchedulingConstraints]]
    /// Staking parameters.
    public var staking: RuntimeStakingParameters
    /// Who may update this descriptor.
    public var governanceModel: RuntimeGovernanceModel

    /// Every argument defaults to Go's zero value, so `RuntimeDescriptor()` is the zero
    /// descriptor (version 0, all-zero id and entity).
    public init(
        descriptorVersion: UInt16 = 0, id: Namespace = Namespace(unchecked: .zero),
        entityID: PublicKey = PublicKey(raw: .zero), genesis: RuntimeGenesis = RuntimeGenesis(),
        kind: RuntimeKind = .invalid, teeHardware: TEEHardware = .invalid, versions: VersionInfo = VersionInfo(),
        keyManager: Namespace? = nil, executor: ExecutorParameters = ExecutorParameters(),
        txnScheduler: TxnSchedulerParameters = TxnSchedulerParameters(),
        storage: StorageParameters = StorageParameters(),
        admissionPolicy: RuntimeAdmissionPolicy = RuntimeAdmissionPolicy(),
        constraints: [CommitteeKind: [Role: SchedulingConstraints]] = [:],
        staking: RuntimeStakingParameters = RuntimeStakingParameters(),
        governanceModel: RuntimeGovernanceModel = .invalid
    ) {
        self.descriptorVersion = descriptorVersion
        self.id = id
        self.entityID = entityID
        self.genesis = genesis
        self.kind = kind
        self.teeHardware = teeHardware
        self.versions = versions
        self.keyManager = keyManager
        self.executor = executor
        self.txnScheduler = txnScheduler
        self.storage = storage
        self.admissionPolicy = admissionPolicy
        self.constraints = constraints
        self.staking = staking
        self.governanceModel = governanceModel
    }

    /// `<Runtime id=<hex>>`.
    public var description: String { "<Runtime id=\(id)>" }

    /// Whether this is a generic compute runtime.
    public var isCompute: Bool { kind == .compute }

    /// The account that pays and receives for the runtime: the entity's under entity
    /// governance, the runtime's own under runtime governance, none otherwise.
    public var stakingAddress: StakingAddress? {
        switch governanceModel {
        case .entity: StakingAddress(publicKey: entityID)
        case .runtime: StakingAddress(runtimeID: id)
        default: nil
        }
    }
}

extension RuntimeDescriptor: Codable {
    enum CodingKeys: String, CodingKey {
        case descriptorVersion = "v"
        case id
        case entityID = "entity_id"
        case genesis, kind
        case teeHardware = "tee_hardware"
        case versions
        case keyManager = "key_manager"
        case executor
        case txnScheduler = "txn_scheduler"
        case storage
        case admissionPolicy = "admission_policy"
        case constraints, staking
        case governanceModel = "governance_model"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        descriptorVersion = try c.decode(UInt16.self, forKey: .descriptorVersion, orZero: 0)
        id = try c.decode(Namespace.self, forKey: .id, orZero: Namespace(unchecked: .zero))
        entityID = try c.decode(PublicKey.self, forKey: .entityID, orZero: PublicKey(raw: .zero))
        genesis = try c.decode(RuntimeGenesis.self, forKey: .genesis, orZero: RuntimeGenesis())
        kind = try c.decode(RuntimeKind.self, forKey: .kind, orZero: .invalid)
        teeHardware = try c.decode(TEEHardware.self, forKey: .teeHardware, orZero: .invalid)
        versions = try c.decode(VersionInfo.self, forKey: .versions, orZero: VersionInfo())
        keyManager = try c.decodeIfPresent(Namespace.self, forKey: .keyManager)
        executor = try c.decode(ExecutorParameters.self, forKey: .executor, orZero: ExecutorParameters())
        txnScheduler = try c.decode(TxnSchedulerParameters.self, forKey: .txnScheduler, orZero: TxnSchedulerParameters())
        storage = try c.decode(StorageParameters.self, forKey: .storage, orZero: StorageParameters())
        admissionPolicy = try c.decode(RuntimeAdmissionPolicy.self, forKey: .admissionPolicy, orZero: RuntimeAdmissionPolicy())
        constraints = try c.decode(ConstraintsMap.self, forKey: .constraints, orZero: ConstraintsMap()).map
        staking = try c.decode(RuntimeStakingParameters.self, forKey: .staking, orZero: RuntimeStakingParameters())
        governanceModel = try c.decode(RuntimeGovernanceModel.self, forKey: .governanceModel, orZero: .invalid)
    }

    public func encode(to encoder: any Encoder) throws {
        if !encoder.isCBOR {
            try constraints.checkJSONKeys(codingPath: encoder.codingPath)
            for roles in constraints.values { try roles.checkJSONKeys(codingPath: encoder.codingPath) }
        }
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(descriptorVersion, forKey: .descriptorVersion)
        try c.encode(id, forKey: .id)
        try c.encode(entityID, forKey: .entityID)
        try c.encode(genesis, forKey: .genesis)
        try c.encode(kind, forKey: .kind)
        try c.encode(teeHardware, forKey: .teeHardware)
        try c.encode(versions, forKey: .versions)
        try c.encodeIfPresent(keyManager, forKey: .keyManager)
        try c.encode(executor, forKey: .executor)
        try c.encode(txnScheduler, forKey: .txnScheduler)
        try c.encode(storage, forKey: .storage)
        try c.encode(admissionPolicy, forKey: .admissionPolicy)
        try c.encodeOmitEmpty(constraints, forKey: .constraints)
        // `omitempty` on a struct: fxamacker/cbor drops it when every field is empty, Go's
        // encoding/json never does.
        if !encoder.isCBOR || !staking.isGoEmpty {
            try c.encode(staking, forKey: .staking)
        }
        try c.encode(governanceModel, forKey: .governanceModel)
    }
}

/// Reads `constraints`, where Go accepts `null` for an inner (per-committee) map and reads it as
/// an empty one; the dictionary coding alone would refuse it. Writing needs no help.
private struct ConstraintsMap: Decodable {
    var map: [CommitteeKind: [Role: SchedulingConstraints]] = [:]

    init() {}

    init(from decoder: any Decoder) throws {
        map = try decoder.singleValueContainer().decode([CommitteeKind: RoleConstraints].self).mapValues(\.map)
    }

    struct RoleConstraints: Decodable {
        var map: [Role: SchedulingConstraints]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            map = container.decodeNil() ? [:] : try container.decode([Role: SchedulingConstraints].self)
        }
    }
}
