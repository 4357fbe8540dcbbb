public import ConsensusAPI
public import OasisCommon

/// One version of a key/value set and its Merkle commitment (docs/STORAGE.md).
///
/// A tree is a root link: its nodes are in memory, in a ``MerkleNodeSource`` (a database), or
/// a mix of both right after a write log was applied to a stored tree. Every operation that
/// may meet a stored node takes the source as `nodes`; a tree built purely in memory (what a
/// runtime does for a batch) needs none. Trees are values: applying a write log returns a new
/// tree that shares every unchanged subtree with the old one.
public struct MerkleTree: Sendable {
    /// The most branches on a path from the root to a leaf that ``applying(_:nodes:)`` will walk
    /// or build. An apply that would go deeper throws ``MerkleError/tooDeep(limit:)`` instead.
    ///
    /// Applying recurses once per trie level, and whoever picks the keys picks the depth: keys
    /// of length L that each differ from one key in a single bit chain up to about 8·L levels
    /// deep, so without a bound a crafted write log overflows the stack. A debug build uses
    /// roughly 1–2 KB of stack per level, and a cooperative-pool thread may have far less
    /// stack than the main thread's 8 MB; 1024 levels stay within about 2 MB. Benign tries are
    /// far shallower: about log2(n) for hashed keys, and since a path's split bits strictly
    /// increase inside the key's (9·L+1)-bit encoding, a key of at most 113 bytes never sits
    /// deeper than 1018 levels: the limit never refuses a write log of such keys.
    public static let maxDepth = 1024

    /// The root, `nil` for the empty tree.
    public let root: MerkleLink?

    /// The empty tree (its hash is ``OasisCommon/Hash/empty``).
    public init() {
        root = nil
    }

    /// A tree from its root link.
    public init(root: MerkleLink?) {
        self.root = root
    }

    /// A stored tree known by its root hash; the empty hash names the empty tree.
    public init(storedRoot hash: Hash) {
        root = hash == .empty ? nil : .stored(hash)
    }

    /// The root hash: the commitment to the whole key/value set.
    public var hash: Hash { root?.hash ?? .empty }

    /// The tree after `writeLog`: entries apply in order, so the last entry for a key wins, and
    /// an entry with an empty value deletes its key. Costs O(k·d) node reads and at most one
    /// hash per changed node for k distinct keys and trie depth d. Throws
    /// ``MerkleError/tooDeep(limit:)`` when a path it walks or builds would have more than
    /// ``maxDepth`` branches; the tree is then left as it was.
    public func applying(_ writeLog: WriteLog, nodes: (any MerkleNodeSource)? = nil) throws -> MerkleTree {
        MerkleTree(root: try MerkleReader(source: nodes).apply(root, writeLog))
    }

    /// Applies `writeLog` in place (see ``applying(_:nodes:)``).
    public mutating func apply(_ writeLog: WriteLog, nodes: (any MerkleNodeSource)? = nil) throws {
        self = try applying(writeLog, nodes: nodes)
    }

    // MARK: Reads

    /// The value under `key`, or `nil`.
    public func get(_ key: [UInt8], nodes: (any MerkleNodeSource)? = nil) throws -> [UInt8]? {
        try MerkleReader(source: nodes).get(root, key: key)
    }

    /// Up to `count` entries in key order, from the first key not less than `start`.
    public func iterate(from start: [UInt8] = [], count: Int = .max, nodes: (any MerkleNodeSource)? = nil) throws
        -> [WriteLogEntry]
    {
        try MerkleReader(source: nodes).iterate(root, from: start, count: count)
    }

    /// Each prefix's entries in turn, at most `limit` in all (0: no limit).
    public func prefixes(_ prefixes: [[UInt8]], limit: Int = 0, nodes: (any MerkleNodeSource)? = nil) throws
        -> [WriteLogEntry]
    {
        try MerkleReader(source: nodes).prefixes(root, prefixes, limit: limit)
    }

    /// The write log that turns this tree into `other`, in key order: a set for each added or
    /// changed key, an empty value for each removed one; only keys not less than `offsetKey`,
    /// at most `limit` entries (0: no limit). Identical subtrees are skipped without reading.
    public func diff(
        to other: MerkleTree, offsetKey: [UInt8] = [], limit: Int = 0,
        nodes: (any MerkleNodeSource)? = nil
    ) throws -> WriteLog {
        try MerkleReader(source: nodes).diff(from: root, to: other.root, offsetKey: offsetKey, limit: limit)
    }

    // MARK: Proofs

    /// How many entries an iterate request returns: `prefetch`, and at least the one found.
    static func iterateCount(_ prefetch: UInt16) -> Int { max(1, Int(prefetch)) }

    /// A proof of the value (or the absence) of `key`.
    public func proveGet(_ key: [UInt8], nodes: (any MerkleNodeSource)? = nil) throws -> Proof {
        let reader = MerkleReader(source: nodes, recording: true)
        _ = try reader.get(root, key: key)
        return reader.proof(of: root)
    }

    /// A proof of the first `max(1, prefetch)` entries from `start`.
    public func proveIterate(from start: [UInt8], prefetch: UInt16, nodes: (any MerkleNodeSource)? = nil) throws
        -> Proof
    {
        let reader = MerkleReader(source: nodes, recording: true)
        _ = try reader.iterate(root, from: start, count: Self.iterateCount(prefetch))
        return reader.proof(of: root)
    }

    /// A proof of the entries under `prefixes`, at most `limit` in all (0: no limit).
    public func provePrefixes(_ prefixes: [[UInt8]], limit: UInt16, nodes: (any MerkleNodeSource)? = nil) throws
        -> Proof
    {
        let reader = MerkleReader(source: nodes, recording: true)
        _ = try reader.prefixes(root, prefixes, limit: Int(limit))
        return reader.proof(of: root)
    }

    // MARK: Persistence

    /// Visits the nodes held in memory, parents before children. `visit` returns whether to
    /// go on into the node's children: a store returns `false` for a node it already had, as
    /// it then has the whole subtree. Stored links are never visited.
    public func forEachNodeInMemory(_ visit: (MerkleNode) throws -> Bool) rethrows {
        var pending: [MerkleNode] = []
        if case .node(let node) = root { pending.append(node) }
        while let node = pending.popLast() {
            guard try visit(node), case .branch(_, let left, let right) = node.content else { continue }
            if case .node(let r) = right { pending.append(r) }
            if case .node(let l) = left { pending.append(l) }
        }
    }
}
