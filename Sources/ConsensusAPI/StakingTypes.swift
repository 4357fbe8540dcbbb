import OasisCBOR
public import OasisCommon

/// The kind of a staking threshold (`staking.ThresholdKind`, a Go `int`): the key of a
/// runtime's `staking.thresholds`.
public struct ThresholdKind: TextRepresentedEnum, Comparable {
    /// The value Go stores.
    public var rawValue: Int

    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// Entity registration.
    public static let entity = ThresholdKind(rawValue: 0)
    /// A validator node.
    public static let nodeValidator = ThresholdKind(rawValue: 1)
    /// A compute node.
    public static let nodeCompute = ThresholdKind(rawValue: 2)
    /// A storage node.
    public static let nodeStorage = ThresholdKind(rawValue: 3)
    /// A key manager node.
    public static let nodeKeyManager = ThresholdKind(rawValue: 4)
    /// A compute runtime registration.
    public static let runtimeCompute = ThresholdKind(rawValue: 5)
    /// A key manager runtime registration.
    public static let runtimeKeyManager = ThresholdKind(rawValue: 6)

    private static let names = [
        "entity", "node-validator", "node-compute", "node-storage", "node-keymanager", "runtime-compute",
        "runtime-keymanager",
    ]

    /// The name, or `[unknown threshold kind]`.
    public var description: String {
        Self.names.indices.contains(rawValue) ? Self.names[rawValue] : "[unknown threshold kind]"
    }

    /// Never fails: Go writes `[unknown threshold kind]` for unknown values (which it then cannot
    /// read back).
    public func marshalText() -> String { description }

    /// Case-sensitive names only, otherwise `invalid threshold: <text>`.
    public init(string: String) throws(DescriptorError) {
        guard let index = Self.names.firstIndex(of: string) else {
            throw DescriptorError("invalid threshold: \(string)")
        }
        self.init(rawValue: index)
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Why a node is slashed (`staking.SlashReason`, a u8): the key of a runtime's
/// `staking.slashing`.
public struct SlashReason: TextRepresentedEnum, Comparable {
    /// The value Go stores.
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Consensus equivocation.
    public static let consensusEquivocation = SlashReason(rawValue: 0x00)
    /// An invalid beacon commit.
    public static let beaconInvalidCommit = SlashReason(rawValue: 0x01)
    /// An invalid beacon reveal.
    public static let beaconInvalidReveal = SlashReason(rawValue: 0x02)
    /// Beacon non-participation.
    public static let beaconNonparticipation = SlashReason(rawValue: 0x03)
    /// A light client attack.
    public static let consensusLightClientAttack = SlashReason(rawValue: 0x04)
    /// Incorrect results in executor commitments.
    public static let runtimeIncorrectResults = SlashReason(rawValue: 0x80)
    /// Signing two different commitments or proposals for one round.
    public static let runtimeEquivocation = SlashReason(rawValue: 0x81)

    private static let names: [UInt8: String] = [
        0x00: "consensus-equivocation", 0x01: "beacon-invalid-commit", 0x02: "beacon-invalid-reveal",
        0x03: "beacon-nonparticipation", 0x04: "consensus-light-client-attack",
        0x80: "runtime-incorrect-results", 0x81: "runtime-equivocation",
    ]

    /// The name, or `[unknown slash reason]`.
    public var description: String { Self.names[rawValue] ?? "[unknown slash reason]" }

    /// Fails for unknown values with `unknown slash reason: <n>`.
    public func marshalText() throws -> String {
        guard let name = Self.names[rawValue] else { throw DescriptorError("unknown slash reason: \(rawValue)") }
        return name
    }

    /// Case-sensitive names; `"0"` is also read as consensus equivocation (old genesis files).
    /// Anything else fails with `invalid slash reason: <text>`.
    public init(string: String) throws(DescriptorError) {
        if string == "0" {
            self = .consensusEquivocation
            return
        }
        guard let raw = Self.names.first(where: { $0.value == string })?.key else {
            throw DescriptorError("invalid slash reason: \(string)")
        }
        self.init(rawValue: raw)
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// What a slashing of one reason costs (`staking.Slash`).
public struct Slash: Hashable, Sendable {
    /// The amount taken.
    public var amount: Quantity
    /// How long the node stays frozen.
    public var freezeInterval: EpochTime

    public init(amount: Quantity = .zero, freezeInterval: EpochTime = 0) {
        self.amount = amount
        self.freezeInterval = freezeInterval
    }
}

extension Slash: Codable {
    enum CodingKeys: String, CodingKey {
        case amount
        case freezeInterval = "freeze_interval"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        amount = try c.decode(Quantity.self, forKey: .amount, orZero: .zero)
        freezeInterval = try c.decode(EpochTime.self, forKey: .freezeInterval, orZero: 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(amount, forKey: .amount)
        try c.encode(freezeInterval, forKey: .freezeInterval)
    }
}

/// A staking account address (`staking.Address`): a version byte and 20 bytes of a hash.
///
/// CBOR carries the 21 bytes as a byte string; JSON and ``description`` use Bech32 with the
/// `oasis` prefix (`oasis1…`).
public struct StakingAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Size in bytes.
    public static let size = 21
    /// The Bech32 human-readable prefix.
    public static let bech32Prefix = "oasis"
    /// Derivation context of entity (public key) addresses, version 0.
    public static let entityContext = "oasis-core/address: staking"
    /// Derivation context of runtime addresses, version 0.
    public static let runtimeContext = "oasis-core/address: runtime"

    /// The 21 bytes.
    public private(set) var bytes: [UInt8]

    /// All zero bytes (Go's zero value).
    public static let zero = StakingAddress(checked: [UInt8](repeating: 0, count: size))

    private init(checked bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Exactly 21 bytes.
    public init(bytes: [UInt8]) throws(DescriptorError) {
        guard bytes.count == Self.size else { throw DescriptorError("address: malformed address") }
        self.bytes = bytes
    }

    /// `version || SHA-512/256(context || version || data)[..20]` (`address.NewAddress`).
    public init(context: String, version: UInt8, data: [UInt8]) {
        let digest = Hash.digest(parts: [Array(context.utf8), [version], data])
        self.init(checked: [version] + digest.bytes.prefix(Self.size - 1))
    }

    /// The address of an entity's (or node's) public key (`staking.NewAddress`).
    public init(publicKey: PublicKey) {
        self.init(context: Self.entityContext, version: 0, data: publicKey.bytes)
    }

    /// The account of a runtime (`staking.NewRuntimeAddress`).
    public init(runtimeID: Namespace) {
        self.init(context: Self.runtimeContext, version: 0, data: runtimeID.bytes)
    }

    /// Parses the `oasis1…` Bech32 form.
    public init(bech32 text: String) throws(DescriptorError) {
        guard let (prefix, data) = Bech32.decode(text), prefix == Self.bech32Prefix else {
            throw DescriptorError("address: malformed address")
        }
        try self.init(bytes: data)
    }

    /// The `oasis1…` Bech32 form.
    public var bech32: String { Bech32.encode(prefix: Self.bech32Prefix, data: bytes) }

    /// The Bech32 form.
    public var description: String { bech32 }

    public static func < (a: Self, b: Self) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

extension StakingAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            if decoder.isCBOR {
                try self.init(bytes: try container.decode([UInt8].self))
            } else {
                try self.init(bech32: try container.decode(String.self))
            }
        } catch let error as DescriptorError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if encoder.isCBOR {
            try container.encode(bytes)
        } else {
            try container.encode(bech32)
        }
    }
}

/// A transfer from the sender's general account (`staking.Transfer`).
public struct Transfer: Hashable, Sendable {
    /// The receiving account.
    public var to: StakingAddress
    /// The amount in base units.
    public var amount: Quantity

    public init(to: StakingAddress = .zero, amount: Quantity = .zero) {
        self.to = to
        self.amount = amount
    }
}

/// A withdrawal from an account that gave the sender an allowance (`staking.Withdraw`).
public struct Withdraw: Hashable, Sendable {
    /// The account that gave the allowance.
    public var from: StakingAddress
    /// The amount in base units.
    public var amount: Quantity

    public init(from: StakingAddress = .zero, amount: Quantity = .zero) {
        self.from = from
        self.amount = amount
    }
}

/// Stake put into an escrow account (`staking.Escrow`).
public struct Escrow: Hashable, Sendable {
    /// The escrow account.
    public var account: StakingAddress
    /// The amount in base units.
    public var amount: Quantity

    public init(account: StakingAddress = .zero, amount: Quantity = .zero) {
        self.account = account
        self.amount = amount
    }
}

/// Shares reclaimed from an escrow account (`staking.ReclaimEscrow`).
public struct ReclaimEscrow: Hashable, Sendable {
    /// The escrow account.
    public var account: StakingAddress
    /// The number of shares to reclaim.
    public var shares: Quantity

    public init(account: StakingAddress = .zero, shares: Quantity = .zero) {
        self.account = account
        self.shares = shares
    }
}

// None of these four has an omitempty field: every key is always written.

extension Transfer: Codable {
    enum CodingKeys: String, CodingKey { case to, amount }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        to = try c.decode(StakingAddress.self, forKey: .to, orZero: .zero)
        amount = try c.decode(Quantity.self, forKey: .amount, orZero: .zero)
    }
}

extension Withdraw: Codable {
    enum CodingKeys: String, CodingKey { case from, amount }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        from = try c.decode(StakingAddress.self, forKey: .from, orZero: .zero)
        amount = try c.decode(Quantity.self, forKey: .amount, orZero: .zero)
    }
}

extension Escrow: Codable {
    enum CodingKeys: String, CodingKey { case account, amount }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        account = try c.decode(StakingAddress.self, forKey: .account, orZero: .zero)
        amount = try c.decode(Quantity.self, forKey: .amount, orZero: .zero)
    }
}

extension ReclaimEscrow: Codable {
    enum CodingKeys: String, CodingKey { case account, shares }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        account = try c.decode(StakingAddress.self, forKey: .account, orZero: .zero)
        shares = try c.decode(Quantity.self, forKey: .shares, orZero: .zero)
    }
}
