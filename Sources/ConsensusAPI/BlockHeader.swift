import OasisCBOR
public import OasisCommon

/// The kind of a runtime block (`block.HeaderType`, a u8). An open set, like Go's.
public struct HeaderType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let invalid = HeaderType(rawValue: 0)
    public static let normal = HeaderType(rawValue: 1)
    public static let roundFailed = HeaderType(rawValue: 2)
    public static let epochTransition = HeaderType(rawValue: 3)
    public static let suspended = HeaderType(rawValue: 4)

    public var description: String {
        switch rawValue {
        case 0: "invalid"
        case 1: "normal"
        case 2: "round-failed"
        case 3: "epoch-transition"
        case 4: "suspended"
        default: "[unknown header type \(rawValue)]"
        }
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt8.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// The kind of a storage root (`node.RootType`, a u8): 0 invalid, 1 state, 2 I/O.
public struct RootType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let invalid = RootType(rawValue: 0)
    public static let state = RootType(rawValue: 1)
    public static let io = RootType(rawValue: 2)

    public var description: String {
        switch rawValue {
        case 0: "invalid"
        case 1: "state"
        case 2: "io"
        default: "[unknown root type \(rawValue)]"
        }
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt8.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// A storage root: the tree of one runtime at one round (`node.Root`).
public struct StorageRoot: Hashable, Sendable {
    public var namespace: Namespace
    public var version: UInt64
    public var type: RootType
    public var hash: Hash

    public init(namespace: Namespace = Namespace(unchecked: .zero), version: UInt64 = 0,
                type: RootType = .invalid, hash: Hash = .zero) {
        self.namespace = namespace
        self.version = version
        self.type = type
        self.hash = hash
    }
}

extension StorageRoot: Codable {
    enum CodingKeys: String, CodingKey {
        case namespace = "ns", version, type = "root_type", hash
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        namespace = try c.decode(Namespace.self, forKey: .namespace, orZero: Namespace(unchecked: .zero))
        version = try c.decode(UInt64.self, forKey: .version, orZero: 0)
        type = try c.decode(RootType.self, forKey: .type, orZero: .invalid)
        hash = try c.decode(Hash.self, forKey: .hash, orZero: .zero)
    }
}

/// A runtime block header (`block.Header`). No field is `omitempty`; a nil signature list
/// is written as CBOR `null`.
public struct BlockHeader: Hashable, Sendable {
    public var version: UInt16
    public var namespace: Namespace
    public var round: UInt64
    /// POSIX seconds.
    public var timestamp: UInt64
    public var headerType: HeaderType
    public var previousHash: Hash
    public var ioRoot: Hash
    public var stateRoot: Hash
    public var messagesHash: Hash
    /// `nil` is Go's nil slice (`null`); `[]` is an empty array.
    public var storageSignatures: [Signature]?

    public init(
        version: UInt16 = 0, namespace: Namespace = Namespace(unchecked: .zero), round: UInt64 = 0,
        timestamp: UInt64 = 0, headerType: HeaderType = .invalid, previousHash: Hash = .zero,
        ioRoot: Hash = .zero, stateRoot: Hash = .zero, messagesHash: Hash = .zero,
        storageSignatures: [Signature]? = nil
    ) {
        self.version = version
        self.namespace = namespace
        self.round = round
        self.timestamp = timestamp
        self.headerType = headerType
        self.previousHash = previousHash
        self.ioRoot = ioRoot
        self.stateRoot = stateRoot
        self.messagesHash = messagesHash
        self.storageSignatures = storageSignatures
    }

    /// SHA-512/256 of the header's canonical CBOR.
    public func encodedHash() -> Hash {
        // Encoding a header cannot fail: it has no map with caller-chosen keys.
        try! Hash.digest(cborOf: self)
    }

    /// True iff `self.previousHash == child.encodedHash()`. The direction is reversed from
    /// what the name suggests, exactly as in oasis-core (`IsParentOf`).
    public func isParentOf(_ child: BlockHeader) -> Bool {
        previousHash == child.encodedHash()
    }

    /// Equal once both signature lists are set to empty lists (`MostlyEqual`).
    public func mostlyEqual(_ other: BlockHeader) -> Bool {
        var a = self
        var b = other
        a.storageSignatures = []
        b.storageSignatures = []
        return a.encodedHash() == b.encodedHash()
    }

    /// The I/O root then the state root of this round.
    public var storageRoots: [StorageRoot] {
        [
            StorageRoot(namespace: namespace, version: round, type: .io, hash: ioRoot),
            StorageRoot(namespace: namespace, version: round, type: .state, hash: stateRoot),
        ]
    }

    /// `[io_root, state_root]`.
    public var rootsForStorageReceipt: [Hash] { [ioRoot, stateRoot] }
    /// `[IO, State]`.
    public static let rootTypesForStorageReceipt: [RootType] = [.io, .state]

    /// Checks a storage receipt body against this header (`VerifyStorageReceipt`).
    public func verifyStorageReceipt(_ receipt: StorageReceiptBody) throws(CodedError) {
        guard receipt.namespace == namespace else {
            throw RoothashErrors.invalidArgument.replacingMessage("roothash: receipt has unexpected namespace")
        }
        guard receipt.round == round else {
            throw RoothashErrors.invalidArgument.replacingMessage("roothash: receipt has unexpected round")
        }
        let roots = rootsForStorageReceipt
        guard receipt.roots.count == roots.count else {
            throw RoothashErrors.invalidArgument.replacingMessage("roothash: receipt has unexpected number of roots")
        }
        let types = Self.rootTypesForStorageReceipt
        guard receipt.rootTypes.count == types.count else {
            throw RoothashErrors.invalidArgument.replacingMessage(
                "roothash: receipt has unexpected number of root types")
        }
        for (got, want) in zip(receipt.rootTypes, types) where got != want {
            throw RoothashErrors.invalidArgument.replacingMessage("roothash: receipt has unexpected root types")
        }
        for (got, want) in zip(receipt.roots, roots) where got != want {
            throw RoothashErrors.invalidArgument.replacingMessage("roothash: receipt has unexpected roots")
        }
    }
}

extension CodedError {
    /// The same (module, code) with another message; for errors Go builds with `errors.New`
    /// next to a registered one.
    func replacingMessage(_ message: String) -> CodedError {
        CodedError(module: module, code: code, message: message)
    }
}

extension BlockHeader: Codable {
    enum CodingKeys: String, CodingKey {
        case version, namespace, round, timestamp
        case headerType = "header_type"
        case previousHash = "previous_hash"
        case ioRoot = "io_root"
        case stateRoot = "state_root"
        case messagesHash = "messages_hash"
        case storageSignatures = "storage_signatures"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(UInt16.self, forKey: .version, orZero: 0)
        namespace = try c.decode(Namespace.self, forKey: .namespace, orZero: Namespace(unchecked: .zero))
        round = try c.decode(UInt64.self, forKey: .round, orZero: 0)
        timestamp = try c.decode(UInt64.self, forKey: .timestamp, orZero: 0)
        headerType = try c.decode(HeaderType.self, forKey: .headerType, orZero: .invalid)
        previousHash = try c.decode(Hash.self, forKey: .previousHash, orZero: .zero)
        ioRoot = try c.decode(Hash.self, forKey: .ioRoot, orZero: .zero)
        stateRoot = try c.decode(Hash.self, forKey: .stateRoot, orZero: .zero)
        messagesHash = try c.decode(Hash.self, forKey: .messagesHash, orZero: .zero)
        storageSignatures = try c.decodeIfPresent([Signature].self, forKey: .storageSignatures)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(namespace, forKey: .namespace)
        try c.encode(round, forKey: .round)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(headerType, forKey: .headerType)
        try c.encode(previousHash, forKey: .previousHash)
        try c.encode(ioRoot, forKey: .ioRoot)
        try c.encode(stateRoot, forKey: .stateRoot)
        try c.encode(messagesHash, forKey: .messagesHash)
        try c.encodeOrNull(storageSignatures, forKey: .storageSignatures)
    }
}

/// A runtime block: just its header (`block.Block`).
public struct Block: Hashable, Sendable, Codable {
    public var header: BlockHeader

    public init(header: BlockHeader = BlockHeader()) {
        self.header = header
    }

    /// `NewGenesisBlock`: round 0, version 0, a normal block whose previous, I/O, state and
    /// messages hashes are all the empty hash.
    public static func genesis(namespace: Namespace, timestamp: UInt64) -> Block {
        Block(header: BlockHeader(
            version: 0, namespace: namespace, round: 0, timestamp: timestamp, headerType: .normal,
            previousHash: .empty, ioRoot: .empty, stateRoot: .empty, messagesHash: .empty))
    }

    /// `NewEmptyBlock`: the next round after `child`, with the same state root, an empty I/O
    /// root and no messages. The round wraps after 2^64 − 1 as Go's `uint64` does (a runtime's
    /// genesis round can be any u64).
    public static func empty(after child: Block, timestamp: UInt64, type: HeaderType) -> Block {
        Block(header: BlockHeader(
            version: child.header.version, namespace: child.header.namespace, round: child.header.round &+ 1,
            timestamp: timestamp, headerType: type, previousHash: child.header.encodedHash(),
            ioRoot: .empty, stateRoot: child.header.stateRoot, messagesHash: .empty))
    }

    enum CodingKeys: String, CodingKey { case header }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        header = try c.decode(BlockHeader.self, forKey: .header, orZero: BlockHeader())
    }
}

/// A block with the consensus height at which it was finalized (`roothash.AnnotatedBlock`).
public struct AnnotatedBlock: Hashable, Sendable {
    public var consensusHeight: Int64
    /// `nil` is written as `null`, like Go's nil pointer.
    public var block: Block?

    public init(consensusHeight: Int64 = 0, block: Block? = nil) {
        self.consensusHeight = consensusHeight
        self.block = block
    }
}

extension AnnotatedBlock: Codable {
    enum CodingKeys: String, CodingKey {
        case consensusHeight = "consensus_height"
        case block
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        consensusHeight = try c.decode(Int64.self, forKey: .consensusHeight, orZero: 0)
        block = try c.decodeIfPresent(Block.self, forKey: .block)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(consensusHeight, forKey: .consensusHeight)
        try c.encodeOrNull(block, forKey: .block)
    }
}

/// The body a storage node signs for the roots of a round (`storage.ReceiptBody`).
public struct StorageReceiptBody: Hashable, Sendable {
    public var version: UInt16
    public var namespace: Namespace
    public var round: UInt64
    public var rootTypes: [RootType]
    public var roots: [Hash]

    public init(version: UInt16 = 1, namespace: Namespace, round: UInt64, rootTypes: [RootType], roots: [Hash]) {
        self.version = version
        self.namespace = namespace
        self.round = round
        self.rootTypes = rootTypes
        self.roots = roots
    }
}

extension StorageReceiptBody: Codable {
    enum CodingKeys: String, CodingKey {
        case version, namespace = "ns", round, rootTypes = "root_types", roots
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(UInt16.self, forKey: .version, orZero: 0)
        namespace = try c.decode(Namespace.self, forKey: .namespace, orZero: Namespace(unchecked: .zero))
        round = try c.decode(UInt64.self, forKey: .round, orZero: 0)
        rootTypes = try c.decode([RootType].self, forKey: .rootTypes, orZero: [])
        roots = try c.decode([Hash].self, forKey: .roots, orZero: [])
    }
}
