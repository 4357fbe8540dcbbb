import OasisCBOR
public import OasisCommon

/// A message a runtime emits in a round for consensus to carry out (`message.Message`). Exactly
/// one field should be set; each is omitted when `nil`.
public struct RuntimeMessage: Hashable, Sendable {
    /// A staking operation.
    public var staking: StakingMessage?
    /// A registry operation.
    public var registry: RegistryMessage?

    public init(staking: StakingMessage? = nil, registry: RegistryMessage? = nil) {
        self.staking = staking
        self.registry = registry
    }

    /// Go's `MessagesHash`: the empty hash for no messages, otherwise SHA-512/256 of the CBOR
    /// array of the messages. This is a block header's `messages_hash`.
    public static func messagesHash(_ messages: [RuntimeMessage]) -> Hash {
        if messages.isEmpty { return .empty }
        // The CBOR of messages cannot fail: every enumeration is written as an integer (only
        // JSON has text forms that can be refused) and every map has distinct keys.
        return try! Hash.digest(cborOf: messages)
    }

    /// Go's `ValidateBasic`: the first set field is validated; with none set, fails with
    /// `runtime message has no fields set`.
    public func validateBasic() throws(DescriptorError) {
        if let staking {
            try staking.validateBasic()
        } else if let registry {
            try registry.validateBasic()
        } else {
            throw DescriptorError("runtime message has no fields set")
        }
    }
}

extension RuntimeMessage: Codable {
    enum CodingKeys: String, CodingKey { case staking, registry }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        staking = try c.decodeIfPresent(StakingMessage.self, forKey: .staking)
        registry = try c.decodeIfPresent(RegistryMessage.self, forKey: .registry)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(staking, forKey: .staking)
        try c.encodeIfPresent(registry, forKey: .registry)
    }
}

/// A runtime's staking operation (`message.StakingMessage`): versioned, with exactly one
/// operation set. `v` is always written; each operation is omitted when `nil`.
public struct StakingMessage: Hashable, Sendable {
    /// The message format version (Go's embedded `cbor.Versioned`, key `v`).
    public var messageVersion: UInt16
    /// Move tokens from the runtime's account.
    public var transfer: Transfer?
    /// Take tokens from an account that gave the runtime an allowance.
    public var withdraw: Withdraw?
    /// Escrow tokens of the runtime's account.
    public var addEscrow: Escrow?
    /// Reclaim escrowed shares of the runtime's account.
    public var reclaimEscrow: ReclaimEscrow?

    public init(messageVersion: UInt16 = 0, transfer: Transfer? = nil, withdraw: Withdraw? = nil,
                addEscrow: Escrow? = nil, reclaimEscrow: ReclaimEscrow? = nil) {
        self.messageVersion = messageVersion
        self.transfer = transfer
        self.withdraw = withdraw
        self.addEscrow = addEscrow
        self.reclaimEscrow = reclaimEscrow
    }

    /// Exactly one operation must be set: `staking runtime message has no fields set` or
    /// `staking runtime message has multiple fields set`.
    public func validateBasic() throws(DescriptorError) {
        let set = [transfer != nil, withdraw != nil, addEscrow != nil, reclaimEscrow != nil].filter { $0 }.count
        switch set {
        case 0: throw DescriptorError("staking runtime message has no fields set")
        case 1: return
        default: throw DescriptorError("staking runtime message has multiple fields set")
        }
    }
}

extension StakingMessage: Codable {
    enum CodingKeys: String, CodingKey {
        case messageVersion = "v"
        case transfer, withdraw
        case addEscrow = "add_escrow"
        case reclaimEscrow = "reclaim_escrow"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messageVersion = try c.decode(UInt16.self, forKey: .messageVersion, orZero: 0)
        transfer = try c.decodeIfPresent(Transfer.self, forKey: .transfer)
        withdraw = try c.decodeIfPresent(Withdraw.self, forKey: .withdraw)
        addEscrow = try c.decodeIfPresent(Escrow.self, forKey: .addEscrow)
        reclaimEscrow = try c.decodeIfPresent(ReclaimEscrow.self, forKey: .reclaimEscrow)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(messageVersion, forKey: .messageVersion)
        try c.encodeIfPresent(transfer, forKey: .transfer)
        try c.encodeIfPresent(withdraw, forKey: .withdraw)
        try c.encodeIfPresent(addEscrow, forKey: .addEscrow)
        try c.encodeIfPresent(reclaimEscrow, forKey: .reclaimEscrow)
    }
}

/// A runtime's registry operation (`message.RegistryMessage`): versioned; `v` is always
/// written, `update_runtime` omitted when `nil`.
public struct RegistryMessage: Hashable, Sendable {
    /// The message format version (key `v`).
    public var messageVersion: UInt16
    /// A new descriptor for the emitting runtime (runtime governance).
    public var updateRuntime: RuntimeDescriptor?

    public init(messageVersion: UInt16 = 0, updateRuntime: RuntimeDescriptor? = nil) {
        self.messageVersion = messageVersion
        self.updateRuntime = updateRuntime
    }

    /// `update_runtime` must be set: `registry runtime message has no fields set`. The
    /// descriptor itself is validated when the registry applies it.
    public func validateBasic() throws(DescriptorError) {
        if updateRuntime == nil { throw DescriptorError("registry runtime message has no fields set") }
    }
}

extension RegistryMessage: Codable {
    enum CodingKeys: String, CodingKey {
        case messageVersion = "v"
        case updateRuntime = "update_runtime"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messageVersion = try c.decode(UInt16.self, forKey: .messageVersion, orZero: 0)
        updateRuntime = try c.decodeIfPresent(RuntimeDescriptor.self, forKey: .updateRuntime)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(messageVersion, forKey: .messageVersion)
        try c.encodeIfPresent(updateRuntime, forKey: .updateRuntime)
    }
}
