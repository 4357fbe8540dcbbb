public import ConsensusAPI
import OasisCBOR
public import OasisCommon

/// Apply one write log to one root (`storage.ApplyRequest`).
public struct ApplyRequest: Hashable, Sendable {
    /// The runtime whose storage this is (the router routes by it).
    public var namespace: Namespace
    /// State or I/O.
    public var rootType: RootType
    /// The round of the source root.
    public var srcRound: UInt64
    /// The root the write log applies to; the empty hash for an empty tree.
    public var srcRoot: Hash
    /// The round the result is stored under.
    public var dstRound: UInt64
    /// The root the result must have.
    public var dstRoot: Hash
    /// The changes, in order (an empty value deletes).
    public var writeLog: WriteLog

    /// A request with every field given.
    public init(
        namespace: Namespace, rootType: RootType, srcRound: UInt64, srcRoot: Hash,
        dstRound: UInt64, dstRoot: Hash, writeLog: WriteLog
    ) {
        self.namespace = namespace
        self.rootType = rootType
        self.srcRound = srcRound
        self.srcRoot = srcRoot
        self.dstRound = dstRound
        self.dstRoot = dstRoot
        self.writeLog = writeLog
    }
}

extension ApplyRequest: Codable {
    enum CodingKeys: String, CodingKey {
        case namespace, rootType = "root_type", srcRound = "src_round", srcRoot = "src_root"
        case dstRound = "dst_round", dstRoot = "dst_root", writeLog = "writelog"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        namespace = try c.decode(Namespace.self, forKey: .namespace, orZero: Namespace(unchecked: .zero))
        rootType = try c.decode(RootType.self, forKey: .rootType, orZero: .invalid)
        srcRound = try c.decode(UInt64.self, forKey: .srcRound, orZero: 0)
        srcRoot = try c.decode(Hash.self, forKey: .srcRoot, orZero: .zero)
        dstRound = try c.decode(UInt64.self, forKey: .dstRound, orZero: 0)
        dstRoot = try c.decode(Hash.self, forKey: .dstRoot, orZero: .zero)
        writeLog = try c.decode(WriteLog.self, forKey: .writeLog, orZero: [])
    }
}

/// One operation of an ``ApplyBatchRequest`` (`storage.ApplyOp`).
public struct ApplyOp: Hashable, Sendable {
    /// State or I/O.
    public var rootType: RootType
    /// The round of the source root.
    public var srcRound: UInt64
    /// The root the write log applies to; the empty hash for an empty tree.
    public var srcRoot: Hash
    /// The root the result must have.
    public var dstRoot: Hash
    /// The changes, in order (an empty value deletes).
    public var writeLog: WriteLog

    /// An operation with every field given.
    public init(rootType: RootType, srcRound: UInt64, srcRoot: Hash, dstRoot: Hash, writeLog: WriteLog) {
        self.rootType = rootType
        self.srcRound = srcRound
        self.srcRoot = srcRoot
        self.dstRoot = dstRoot
        self.writeLog = writeLog
    }
}

extension ApplyOp: Codable {
    enum CodingKeys: String, CodingKey {
        case rootType = "root_type", srcRound = "src_round", srcRoot = "src_root", dstRoot = "dst_root"
        case writeLog = "writelog"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rootType = try c.decode(RootType.self, forKey: .rootType, orZero: .invalid)
        srcRound = try c.decode(UInt64.self, forKey: .srcRound, orZero: 0)
        srcRoot = try c.decode(Hash.self, forKey: .srcRoot, orZero: .zero)
        dstRoot = try c.decode(Hash.self, forKey: .dstRoot, orZero: .zero)
        writeLog = try c.decode(WriteLog.self, forKey: .writeLog, orZero: [])
    }
}

/// Apply several write logs, all landing in one round, atomically (`storage.ApplyBatchRequest`).
public struct ApplyBatchRequest: Hashable, Sendable {
    /// The runtime whose storage this is (the router routes by it).
    public var namespace: Namespace
    /// The round every result is stored under.
    public var dstRound: UInt64
    /// The operations, applied in order.
    public var ops: [ApplyOp]

    /// A request with every field given.
    public init(namespace: Namespace, dstRound: UInt64, ops: [ApplyOp]) {
        self.namespace = namespace
        self.dstRound = dstRound
        self.ops = ops
    }

    /// The single-root request of one of the operations.
    public func request(for op: ApplyOp) -> ApplyRequest {
        ApplyRequest(
            namespace: namespace, rootType: op.rootType, srcRound: op.srcRound, srcRoot: op.srcRoot,
            dstRound: dstRound, dstRoot: op.dstRoot, writeLog: op.writeLog)
    }
}

extension ApplyBatchRequest: Codable {
    enum CodingKeys: String, CodingKey { case namespace, dstRound = "dst_round", ops }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        namespace = try c.decode(Namespace.self, forKey: .namespace, orZero: Namespace(unchecked: .zero))
        dstRound = try c.decode(UInt64.self, forKey: .dstRound, orZero: 0)
        ops = try c.decode([ApplyOp].self, forKey: .ops, orZero: [])
    }
}

/// Paging of a diff (`storage.SyncOptions`).
public struct GetDiffOptions: Hashable, Sendable {
    /// Only keys not less than this one.
    public var offsetKey: [UInt8]
    /// At most this many entries; 0 for no limit.
    public var limit: UInt64

    /// Options; the defaults ask for the whole diff.
    public init(offsetKey: [UInt8] = [], limit: UInt64 = 0) {
        self.offsetKey = offsetKey
        self.limit = limit
    }
}

extension GetDiffOptions: Codable {
    enum CodingKeys: String, CodingKey { case offsetKey = "offset_key", limit }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        offsetKey = try c.decodeBytes(forKey: .offsetKey)
        limit = try c.decode(UInt64.self, forKey: .limit, orZero: 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeBytes(offsetKey, forKey: .offsetKey)
        try c.encode(limit, forKey: .limit)
    }
}

/// The changes between two roots (`storage.GetDiffRequest`).
public struct GetDiffRequest: Hashable, Sendable {
    /// The tree the diff starts from (the router routes by its namespace).
    public var startRoot: StorageRoot
    /// The tree the diff leads to.
    public var endRoot: StorageRoot
    /// Paging.
    public var options: GetDiffOptions

    /// A request with every field given.
    public init(startRoot: StorageRoot, endRoot: StorageRoot, options: GetDiffOptions = GetDiffOptions()) {
        self.startRoot = startRoot
        self.endRoot = endRoot
        self.options = options
    }
}

extension GetDiffRequest: Codable {
    enum CodingKeys: String, CodingKey { case startRoot = "start_root", endRoot = "end_root", options }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        startRoot = try c.decode(StorageRoot.self, forKey: .startRoot, orZero: StorageRoot())
        endRoot = try c.decode(StorageRoot.self, forKey: .endRoot, orZero: StorageRoot())
        options = try c.decode(GetDiffOptions.self, forKey: .options, orZero: GetDiffOptions())
    }
}

/// List a runtime's checkpoints (`checkpoint.GetCheckpointsRequest`).
public struct GetCheckpointsRequest: Hashable, Sendable {
    /// The checkpoint format version.
    public var version: UInt16
    /// The runtime (the router routes by it).
    public var namespace: Namespace
    /// Only checkpoints of this round, when set.
    public var rootVersion: UInt64?

    /// A request with every field given.
    public init(version: UInt16 = 1, namespace: Namespace, rootVersion: UInt64? = nil) {
        self.version = version
        self.namespace = namespace
        self.rootVersion = rootVersion
    }
}

extension GetCheckpointsRequest: Codable {
    enum CodingKeys: String, CodingKey { case version, namespace, rootVersion = "root_version" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(UInt16.self, forKey: .version, orZero: 0)
        namespace = try c.decode(Namespace.self, forKey: .namespace, orZero: Namespace(unchecked: .zero))
        rootVersion = try c.decodeIfPresent(UInt64.self, forKey: .rootVersion)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(namespace, forKey: .namespace)
        try c.encodeIfPresent(rootVersion, forKey: .rootVersion)
    }
}

/// A checkpoint: a root and the digests of its chunks (`checkpoint.Metadata`).
public struct CheckpointMetadata: Hashable, Sendable, Codable {
    /// The checkpoint format version.
    public var version: UInt16
    /// The root the checkpoint restores.
    public var root: StorageRoot
    /// The digests of the chunks, in order.
    public var chunks: [Hash]

    /// Metadata with every field given.
    public init(version: UInt16 = 1, root: StorageRoot, chunks: [Hash]) {
        self.version = version
        self.root = root
        self.chunks = chunks
    }
}

/// One chunk of a checkpoint (`checkpoint.ChunkMetadata`).
public struct ChunkMetadata: Hashable, Sendable {
    /// The checkpoint format version.
    public var version: UInt16
    /// The checkpoint's root (the router routes by its namespace).
    public var root: StorageRoot
    /// The chunk's position in the checkpoint.
    public var index: UInt64
    /// The chunk's digest.
    public var digest: Hash

    /// Metadata with every field given.
    public init(version: UInt16 = 1, root: StorageRoot, index: UInt64, digest: Hash) {
        self.version = version
        self.root = root
        self.index = index
        self.digest = digest
    }
}

extension ChunkMetadata: Codable {
    enum CodingKeys: String, CodingKey { case version, root, index, digest }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(UInt16.self, forKey: .version, orZero: 0)
        root = try c.decode(StorageRoot.self, forKey: .root, orZero: StorageRoot())
        index = try c.decode(UInt64.self, forKey: .index, orZero: 0)
        digest = try c.decode(Hash.self, forKey: .digest, orZero: .zero)
    }
}

/// What a storage receipt vouches for (`storage.ReceiptBody`): the type lives in
/// `ConsensusAPI` because block headers check it.
public typealias ReceiptBody = StorageReceiptBody

/// A storage receipt: the body a storage node vouches for, and its signature when it has a
/// signing key (`storage.Receipt`). The local backend has none and returns unsigned bodies;
/// see ``requireSigned()``.
public struct Receipt: Hashable, Sendable {
    /// What the receipt vouches for: the runtime, the round, and the roots with their types.
    public var body: StorageReceiptBody
    /// The signature over the body under the context `oasis-core/storage: receipt`; `nil`
    /// when the backend holds no key.
    public var signature: Signature?

    /// A receipt, unsigned unless a signature is given.
    public init(body: StorageReceiptBody, signature: Signature? = nil) {
        self.body = body
        self.signature = signature
    }

    /// The receipt, when it is signed; otherwise `storage: unable to provide proofs`, the
    /// answer v21.1 gives where a signed receipt is required.
    public func requireSigned() throws(CodedError) -> Receipt {
        guard signature != nil else { throw StorageErrors.cantProve }
        return self
    }
}
