import OasisCBOR
public import OasisCommon

/// The result of one runtime message, as emitted by consensus (`roothash.MessageEvent`).
/// Every field is `omitempty`.
public struct MessageEvent: Hashable, Sendable {
    public var module: String
    public var code: UInt32
    public var index: UInt32

    public init(module: String = "", code: UInt32 = 0, index: UInt32 = 0) {
        self.module = module
        self.code = code
        self.index = index
    }

    /// Code 0 means the message succeeded.
    public var isSuccess: Bool { code == 0 }
}

extension MessageEvent: Codable {
    enum CodingKeys: String, CodingKey { case module, code, index }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        module = try c.decode(String.self, forKey: .module, orZero: "")
        code = try c.decode(UInt32.self, forKey: .code, orZero: 0)
        index = try c.decode(UInt32.self, forKey: .index, orZero: 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOmitEmpty(module, forKey: .module)
        try c.encodeOmitEmpty(code, forKey: .code)
        try c.encodeOmitEmpty(index, forKey: .index)
    }
}

/// What consensus recorded about a round (`roothash.RoundResults`); every field `omitempty`,
/// so `RoundResults()` encodes as `a0`.
public struct RoundResults: Hashable, Sendable {
    public var messages: [MessageEvent]
    public var goodComputeEntities: [PublicKey]
    public var badComputeEntities: [PublicKey]

    public init(messages: [MessageEvent] = [], goodComputeEntities: [PublicKey] = [],
                badComputeEntities: [PublicKey] = []) {
        self.messages = messages
        self.goodComputeEntities = goodComputeEntities
        self.badComputeEntities = badComputeEntities
    }
}

extension RoundResults: Codable {
    enum CodingKeys: String, CodingKey {
        case messages
        case goodComputeEntities = "good_compute_entities"
        case badComputeEntities = "bad_compute_entities"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messages = try c.decode([MessageEvent].self, forKey: .messages, orZero: [])
        goodComputeEntities = try c.decode([PublicKey].self, forKey: .goodComputeEntities, orZero: [])
        badComputeEntities = try c.decode([PublicKey].self, forKey: .badComputeEntities, orZero: [])
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOmitEmpty(messages, forKey: .messages)
        try c.encodeOmitEmpty(goodComputeEntities, forKey: .goodComputeEntities)
        try c.encodeOmitEmpty(badComputeEntities, forKey: .badComputeEntities)
    }
}

/// The header of a compute result (`commitment.ComputeResultsHeader`). The three roots are
/// optional (`omitempty` pointers).
public struct ComputeResultsHeader: Hashable, Sendable {
    public var round: UInt64
    public var previousHash: Hash
    public var ioRoot: Hash?
    public var stateRoot: Hash?
    public var messagesHash: Hash?

    public init(round: UInt64 = 0, previousHash: Hash = .zero, ioRoot: Hash? = nil, stateRoot: Hash? = nil,
                messagesHash: Hash? = nil) {
        self.round = round
        self.previousHash = previousHash
        self.ioRoot = ioRoot
        self.stateRoot = stateRoot
        self.messagesHash = messagesHash
    }

    /// SHA-512/256 of the canonical CBOR.
    public func encodedHash() -> Hash {
        try! Hash.digest(cborOf: self)
    }
}

extension ComputeResultsHeader: Codable {
    enum CodingKeys: String, CodingKey {
        case round
        case previousHash = "previous_hash"
        case ioRoot = "io_root"
        case stateRoot = "state_root"
        case messagesHash = "messages_hash"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        round = try c.decode(UInt64.self, forKey: .round, orZero: 0)
        previousHash = try c.decode(Hash.self, forKey: .previousHash, orZero: .zero)
        ioRoot = try c.decodeIfPresent(Hash.self, forKey: .ioRoot)
        stateRoot = try c.decodeIfPresent(Hash.self, forKey: .stateRoot)
        messagesHash = try c.decodeIfPresent(Hash.self, forKey: .messagesHash)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(round, forKey: .round)
        try c.encode(previousHash, forKey: .previousHash)
        try c.encodeIfPresent(ioRoot, forKey: .ioRoot)
        try c.encodeIfPresent(stateRoot, forKey: .stateRoot)
        try c.encodeIfPresent(messagesHash, forKey: .messagesHash)
    }
}

/// A consensus light block handed to the runtime (`consensus.LightBlock`).
public struct LightBlock: Hashable, Sendable {
    public var height: Int64
    /// Backend-specific encoding of the light block.
    public var meta: [UInt8]

    public init(height: Int64 = 0, meta: [UInt8] = []) {
        self.height = height
        self.meta = meta
    }
}

extension LightBlock: Codable {
    enum CodingKeys: String, CodingKey { case height, meta }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        height = try c.decode(Int64.self, forKey: .height, orZero: 0)
        meta = try c.decodeBytes(forKey: .meta)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(height, forKey: .height)
        try c.encodeBytes(meta, forKey: .meta)
    }
}

/// The registered errors of module `roothash`.
public enum RoothashErrors {
    public static let module = "roothash"
    public static let invalidArgument = CodedError.register(module: module, code: 1, message: "roothash: invalid argument")
    public static let notFound = CodedError.register(module: module, code: 2, message: "roothash: block not found")
    public static let invalidRuntime = CodedError.register(module: module, code: 3, message: "roothash: invalid runtime")
    public static let noExecutorPool = CodedError.register(module: module, code: 4, message: "roothash: no executor pool")
    public static let runtimeSuspended = CodedError.register(module: module, code: 5, message: "roothash: runtime is suspended")
    public static let proposerTimeoutNotAllowed = CodedError.register(
        module: module, code: 6, message: "roothash: proposer timeout not allowed")
    public static let maxMessagesTooBig = CodedError.register(
        module: module, code: 7, message: "roothash: max runtime messages is too big")
    public static let runtimeDoesNotSlash = CodedError.register(
        module: module, code: 8, message: "roothash: runtime does not slash")
    public static let duplicateEvidence = CodedError.register(module: module, code: 9, message: "roothash: duplicate evidence")
    public static let invalidEvidence = CodedError.register(module: module, code: 10, message: "roothash: invalid evidence")
}

/// `RoundInvalid` = 2^64 - 1.
public let roundInvalid: UInt64 = .max
