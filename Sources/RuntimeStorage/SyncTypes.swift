public import ConsensusAPI
import OasisCBOR
public import OasisCommon

/// Names a tree and a position in it (`syncer.TreeID`).
public struct TreeID: Hashable, Sendable {
    public var root: StorageRoot
    /// The node to start from; the root hash for a whole-tree read.
    public var position: Hash

    public init(root: StorageRoot = StorageRoot(), position: Hash = .zero) {
        self.root = root
        self.position = position
    }
}

extension TreeID: Codable {
    enum CodingKeys: String, CodingKey { case root, position }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        root = try c.decode(StorageRoot.self, forKey: .root, orZero: StorageRoot())
        position = try c.decode(Hash.self, forKey: .position, orZero: .zero)
    }
}

/// Read one key (`syncer.GetRequest`).
public struct SyncGetRequest: Hashable, Sendable {
    public var tree: TreeID
    public var key: [UInt8]
    public var includeSiblings: Bool

    public init(tree: TreeID = TreeID(), key: [UInt8] = [], includeSiblings: Bool = false) {
        self.tree = tree
        self.key = key
        self.includeSiblings = includeSiblings
    }
}

extension SyncGetRequest: Codable {
    enum CodingKeys: String, CodingKey {
        case tree, key
        case includeSiblings = "include_siblings"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tree = try c.decode(TreeID.self, forKey: .tree, orZero: TreeID())
        key = try c.decodeBytes(forKey: .key)
        includeSiblings = try c.decode(Bool.self, forKey: .includeSiblings, orZero: false)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tree, forKey: .tree)
        try c.encodeBytes(key, forKey: .key)
        try c.encodeOmitEmpty(includeSiblings, forKey: .includeSiblings)
    }
}

/// Read every key under some prefixes, up to a limit (`syncer.GetPrefixesRequest`).
public struct SyncGetPrefixesRequest: Hashable, Sendable {
    public var tree: TreeID
    public var prefixes: [[UInt8]]
    public var limit: UInt16

    public init(tree: TreeID = TreeID(), prefixes: [[UInt8]] = [], limit: UInt16 = 0) {
        self.tree = tree
        self.prefixes = prefixes
        self.limit = limit
    }
}

extension SyncGetPrefixesRequest: Codable {
    enum CodingKeys: String, CodingKey { case tree, prefixes, limit }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tree = try c.decode(TreeID.self, forKey: .tree, orZero: TreeID())
        prefixes = try c.decode([GoBytes].self, forKey: .prefixes, orZero: []).map(\.bytes)
        limit = try c.decode(UInt16.self, forKey: .limit, orZero: 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tree, forKey: .tree)
        try c.encode(prefixes.map(GoBytes.init), forKey: .prefixes)
        try c.encode(limit, forKey: .limit)
    }
}

/// Iterate from a key, prefetching some entries (`syncer.IterateRequest`).
public struct SyncIterateRequest: Hashable, Sendable {
    public var tree: TreeID
    public var key: [UInt8]
    public var prefetch: UInt16

    public init(tree: TreeID = TreeID(), key: [UInt8] = [], prefetch: UInt16 = 0) {
        self.tree = tree
        self.key = key
        self.prefetch = prefetch
    }
}

extension SyncIterateRequest: Codable {
    enum CodingKeys: String, CodingKey { case tree, key, prefetch }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tree = try c.decode(TreeID.self, forKey: .tree, orZero: TreeID())
        key = try c.decodeBytes(forKey: .key)
        prefetch = try c.decode(UInt16.self, forKey: .prefetch, orZero: 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tree, forKey: .tree)
        try c.encodeBytes(key, forKey: .key)
        try c.encode(prefetch, forKey: .prefetch)
    }
}

/// A proof: the root it claims to prove against and its serialized entries (`syncer.Proof`).
/// The meaning of the entries is the Merkle scheme's (docs/STORAGE.md).
public struct Proof: Hashable, Sendable {
    public var untrustedRoot: Hash
    public var entries: [[UInt8]]

    public init(untrustedRoot: Hash = .zero, entries: [[UInt8]] = []) {
        self.untrustedRoot = untrustedRoot
        self.entries = entries
    }
}

extension Proof: Codable {
    enum CodingKeys: String, CodingKey {
        case untrustedRoot = "untrusted_root"
        case entries
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        untrustedRoot = try c.decode(Hash.self, forKey: .untrustedRoot, orZero: .zero)
        entries = try c.decode([GoBytes].self, forKey: .entries, orZero: []).map(\.bytes)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(untrustedRoot, forKey: .untrustedRoot)
        try c.encode(entries.map(GoBytes.init), forKey: .entries)
    }
}

/// The answer to every sync read (`syncer.ProofResponse`).
public struct ProofResponse: Hashable, Sendable, Codable {
    public var proof: Proof

    public init(proof: Proof = Proof()) {
        self.proof = proof
    }

    enum CodingKeys: String, CodingKey { case proof }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        proof = try c.decode(Proof.self, forKey: .proof, orZero: Proof())
    }
}
