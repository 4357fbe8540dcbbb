import OasisCBOR
public import OasisCommon

/// One write of a write log (`storage.LogEntry`): the two-element array `[key, value]`, in CBOR
/// (byte strings) and in JSON (base64 strings) alike.
///
/// Go's nil and empty byte slices are not told apart here: `null` reads as empty, and empty is
/// written as an empty byte string (Go would write `null` for a nil slice).
public struct WriteLogEntry: Hashable, Sendable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8] = [], value: [UInt8] = []) {
        self.key = key
        self.value = value
    }
}

extension WriteLogEntry: Codable {
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        guard c.count == 2 else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath,
                      debugDescription: "a write log entry is a [key, value] array, found \(c.count ?? 0) element(s)"))
        }
        key = try c.decode(GoBytes.self).bytes
        value = try c.decode(GoBytes.self).bytes
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(GoBytes(key))
        try c.encode(GoBytes(value))
    }
}

/// The state a runtime starts from (`registry.RuntimeGenesis`). No field is `omitempty`.
public struct RuntimeGenesis: Hashable, Sendable {
    /// The genesis state root; the empty hash for an empty state.
    public var stateRoot: Hash
    /// The state under ``stateRoot``. `nil` is Go's nil slice, written as `null`.
    public var state: [WriteLogEntry]?
    /// Storage receipts for ``stateRoot``. `nil` is written as `null`.
    public var storageReceipts: [Signature]?
    /// The runtime round at genesis.
    public var round: UInt64

    public init(stateRoot: Hash = .zero, state: [WriteLogEntry]? = nil, storageReceipts: [Signature]? = nil,
                round: UInt64 = 0) {
        self.stateRoot = stateRoot
        self.state = state
        self.storageReceipts = storageReceipts
        self.round = round
    }

    /// Go's `RuntimeGenesis.Equal`: state root, round, the state entry by entry and the receipts
    /// element by element. Unlike `==`, a `nil` list equals an empty one.
    public func isEqual(to other: RuntimeGenesis) -> Bool {
        stateRoot == other.stateRoot && round == other.round && (state ?? []) == (other.state ?? [])
            && (storageReceipts ?? []) == (other.storageReceipts ?? [])
    }

    /// Go's `RuntimeGenesis.SanityCheck`.
    ///
    /// Always passes at genesis (`isGenesis`). Otherwise, when ``state`` is empty and
    /// ``stateRoot`` is not the empty hash, the receipts must vouch for the root: there must be
    /// some, and each key must be valid.
    ///
    /// **Not implemented: the signature check.** Go verifies each receipt's Ed25519 signature
    /// over the state root under the chain-bound storage receipt context; this module has neither
    /// Ed25519 nor the chain context. A receipt that passes the key check is therefore refused
    /// with Go's verification-failure message: the check fails closed, never open.
    public func sanityCheck(isGenesis: Bool) throws(DescriptorError) {
        if isGenesis { return }
        guard (state ?? []).isEmpty && !stateRoot.isEmpty else { return }
        let receipts = storageReceipts ?? []
        if receipts.isEmpty {
            throw DescriptorError(
                "runtimegenesis: sanity check failed: when State is empty either StorageReceipts must be populated or StateRoot must be empty"
            )
        }
        // Go walks every receipt; since verification cannot succeed here, the first one decides.
        let receipt = receipts[0]
        if !receipt.publicKey.isValidForRegistry {
            throw DescriptorError(
                "runtimegenesis: sanity check failed: when State is empty either all StorageReceipts must be valid or StateRoot must be empty (public_key \(receipt.publicKey))"
            )
        }
        throw DescriptorError(
            "runtimegenesis: sanity check failed: StorageReceipt verification on StateRoot failed (public_key \(receipt.publicKey))"
        )
    }
}

extension RuntimeGenesis: Codable {
    enum CodingKeys: String, CodingKey {
        case stateRoot = "state_root"
        case state
        case storageReceipts = "storage_receipts"
        case round
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stateRoot = try c.decode(Hash.self, forKey: .stateRoot, orZero: .zero)
        state = try c.decodeIfPresent([WriteLogEntry].self, forKey: .state)
        storageReceipts = try c.decodeIfPresent([Signature].self, forKey: .storageReceipts)
        round = try c.decode(UInt64.self, forKey: .round, orZero: 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stateRoot, forKey: .stateRoot)
        try c.encodeOrNull(state, forKey: .state)
        try c.encodeOrNull(storageReceipts, forKey: .storageReceipts)
        try c.encode(round, forKey: .round)
    }
}

extension PublicKey {
    /// The keys oasis-core v21.1 blacklists: those of the reserved staking accounts (common
    /// pool, fee accumulator, governance deposits). No such key can own a runtime, sign a
    /// receipt or be whitelisted.
    static let blacklisted: Set<PublicKey> = [
        "1abe11edc001ffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "1abe11edfeeaccffffffffffffffffffffffffffffffffffffffffffffffffff",
        "1abe11eddeaccfffffffffffffffffffffffffffffffffffffffffffffffffff",
    ].reduce(into: []) { set, hex in set.insert(try! PublicKey(bytes: Hex.decode(hex))) }

    /// Go's `PublicKey.IsValid`: 32 bytes (always true here) and not blacklisted.
    public var isValidForRegistry: Bool { !Self.blacklisted.contains(self) }
}
