import OasisCBOR
public import OasisCommon

/// Which nodes may register for a runtime (`registry.RuntimeAdmissionPolicy`). Exactly one of the
/// two policies must be set for a descriptor to verify; each is omitted when `nil`.
public struct RuntimeAdmissionPolicy: Hashable, Sendable {
    /// Any node may register.
    public var anyNode: AnyNodeRuntimeAdmissionPolicy?
    /// Only nodes of listed entities may register.
    public var entityWhitelist: EntityWhitelistRuntimeAdmissionPolicy?

    public init(anyNode: AnyNodeRuntimeAdmissionPolicy? = nil,
                entityWhitelist: EntityWhitelistRuntimeAdmissionPolicy? = nil) {
        self.anyNode = anyNode
        self.entityWhitelist = entityWhitelist
    }
}

extension RuntimeAdmissionPolicy: Codable {
    enum CodingKeys: String, CodingKey {
        case anyNode = "any_node"
        case entityWhitelist = "entity_whitelist"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        anyNode = try c.decodeIfPresent(AnyNodeRuntimeAdmissionPolicy.self, forKey: .anyNode)
        entityWhitelist = try c.decodeIfPresent(EntityWhitelistRuntimeAdmissionPolicy.self, forKey: .entityWhitelist)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(anyNode, forKey: .anyNode)
        try c.encodeIfPresent(entityWhitelist, forKey: .entityWhitelist)
    }
}

/// The policy that admits any node (`registry.AnyNodeRuntimeAdmissionPolicy`): an empty map.
public struct AnyNodeRuntimeAdmissionPolicy: Hashable, Sendable, Codable {
    public init() {}

    private enum CodingKeys: CodingKey {}

    public init(from decoder: any Decoder) throws {
        // A keyed container, so that strict decoding refuses any key in the map.
        _ = try decoder.container(keyedBy: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: CodingKeys.self)
    }
}

/// The policy that admits only nodes of listed entities
/// (`registry.EntityWhitelistRuntimeAdmissionPolicy`).
public struct EntityWhitelistRuntimeAdmissionPolicy: Hashable, Sendable {
    /// The admitted entities and their per-role node limits. `entities` has no `omitempty`:
    /// `nil` (Go's nil map) is written as `null`, an empty dictionary as an empty map.
    public var entities: [PublicKey: EntityWhitelistConfig]?

    public init(entities: [PublicKey: EntityWhitelistConfig]? = nil) {
        self.entities = entities
    }
}

extension EntityWhitelistRuntimeAdmissionPolicy: Codable {
    enum CodingKeys: String, CodingKey { case entities }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        entities = try c.decodeIfPresent([PublicKey: EntityWhitelistConfig].self, forKey: .entities)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOrNull(entities, forKey: .entities)
    }
}

/// Per-entity limits of a whitelist (`registry.EntityWhitelistConfig`).
public struct EntityWhitelistConfig: Hashable, Sendable {
    /// Most nodes per single role. Empty means unlimited; when non-empty, a role that is not
    /// listed gets 0, and 0 means no nodes. Omitted when empty.
    public var maxNodes: [RolesMask: UInt16]

    public init(maxNodes: [RolesMask: UInt16] = [:]) {
        self.maxNodes = maxNodes
    }
}

extension EntityWhitelistConfig: Codable {
    enum CodingKeys: String, CodingKey {
        case maxNodes = "max_nodes"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxNodes = try c.decode([RolesMask: UInt16].self, forKey: .maxNodes, orZero: [:])
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOmitEmpty(maxNodes, forKey: .maxNodes)
    }
}

/// Scheduling constraints for one committee role (`registry.SchedulingConstraints`). Every set
/// constraint must hold; each is omitted when `nil`.
public struct SchedulingConstraints: Hashable, Sendable {
    /// The entity must have a node in the validator set.
    public var validatorSet: ValidatorSetConstraint?
    /// At most this many nodes per entity are eligible.
    public var maxNodes: MaxNodesConstraint?
    /// The candidate pool must have at least this many nodes.
    public var minPoolSize: MinPoolSizeConstraint?

    public init(validatorSet: ValidatorSetConstraint? = nil, maxNodes: MaxNodesConstraint? = nil,
                minPoolSize: MinPoolSizeConstraint? = nil) {
        self.validatorSet = validatorSet
        self.maxNodes = maxNodes
        self.minPoolSize = minPoolSize
    }
}

extension SchedulingConstraints: Codable {
    enum CodingKeys: String, CodingKey {
        case validatorSet = "validator_set"
        case maxNodes = "max_nodes"
        case minPoolSize = "min_pool_size"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        validatorSet = try c.decodeIfPresent(ValidatorSetConstraint.self, forKey: .validatorSet)
        maxNodes = try c.decodeIfPresent(MaxNodesConstraint.self, forKey: .maxNodes)
        minPoolSize = try c.decodeIfPresent(MinPoolSizeConstraint.self, forKey: .minPoolSize)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(validatorSet, forKey: .validatorSet)
        try c.encodeIfPresent(maxNodes, forKey: .maxNodes)
        try c.encodeIfPresent(minPoolSize, forKey: .minPoolSize)
    }
}

/// The node's entity must have a validator (`registry.ValidatorSetConstraint`): an empty map.
public struct ValidatorSetConstraint: Hashable, Sendable, Codable {
    public init() {}

    private enum CodingKeys: CodingKey {}

    public init(from decoder: any Decoder) throws {
        _ = try decoder.container(keyedBy: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: CodingKeys.self)
    }
}

/// At most `limit` nodes per entity are eligible (`registry.MaxNodesConstraint`).
public struct MaxNodesConstraint: Hashable, Sendable {
    /// The most eligible nodes per entity.
    public var limit: UInt16

    public init(limit: UInt16 = 0) {
        self.limit = limit
    }
}

extension MaxNodesConstraint: Codable {
    enum CodingKeys: String, CodingKey { case limit }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        limit = try c.decode(UInt16.self, forKey: .limit, orZero: 0)
    }
}

/// The candidate pool must hold at least `limit` nodes (`registry.MinPoolSizeConstraint`).
public struct MinPoolSizeConstraint: Hashable, Sendable {
    /// The fewest candidate nodes.
    public var limit: UInt16

    public init(limit: UInt16 = 0) {
        self.limit = limit
    }
}

extension MinPoolSizeConstraint: Codable {
    enum CodingKeys: String, CodingKey { case limit }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        limit = try c.decode(UInt16.self, forKey: .limit, orZero: 0)
    }
}
