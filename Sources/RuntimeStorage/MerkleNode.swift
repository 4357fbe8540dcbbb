public import OasisCommon

/// One node of the Merkle trie (docs/STORAGE.md §2–3): a leaf holding a key and its value, or
/// a branch that splits its keys on one bit of their encoding.
///
/// Nodes are immutable and shared between versions of a tree: applying a write log builds new
/// nodes only along the changed paths and links every unchanged subtree as it is. The hash is
/// computed once, when the node is made.
public final class MerkleNode: Sendable {
    /// The node's hash (a leaf or branch hash, §3).
    public let hash: Hash
    let content: Content

    enum Content: Sendable {
        /// `value` is `nil` only in a tree rebuilt from a proof that withheld it.
        case leaf(key: [UInt8], value: [UInt8]?, valueHash: Hash)
        case branch(bit: UInt32, left: MerkleLink, right: MerkleLink)
    }

    /// What a database stores for a node; child nodes are named by hash.
    public enum Record: Hashable, Sendable {
        /// A key and its (non-empty) value.
        case leaf(key: [UInt8], value: [UInt8])
        /// Keys whose encoded bit `bit` is 0 go `left`, the others `right`.
        case branch(bit: UInt32, left: Hash, right: Hash)
    }

    private init(hash: Hash, content: Content) {
        self.hash = hash
        self.content = content
    }

    /// A leaf for `key` holding `value`.
    static func leaf(key: [UInt8], value: [UInt8]) -> MerkleNode {
        let valueHash = Hash.digest(value)
        return MerkleNode(
            hash: leafHash(key: key, valueHash: valueHash), content: .leaf(key: key, value: value, valueHash: valueHash)
        )
    }

    /// A leaf whose value a proof withheld.
    static func withheldLeaf(key: [UInt8], valueHash: Hash) -> MerkleNode {
        MerkleNode(
            hash: leafHash(key: key, valueHash: valueHash), content: .leaf(key: key, value: nil, valueHash: valueHash))
    }

    /// A branch over two non-empty subtrees.
    static func branch(bit: UInt32, left: MerkleLink, right: MerkleLink) -> MerkleNode {
        MerkleNode(
            hash: branchHash(bit: bit, left: left.hash, right: right.hash),
            content: .branch(bit: bit, left: left, right: right))
    }

    /// Rebuilds a node from what a database stored; its children stay unresolved until read.
    public convenience init(record: Record) {
        switch record {
        case .leaf(let key, let value):
            let valueHash = Hash.digest(value)
            self.init(
                hash: Self.leafHash(key: key, valueHash: valueHash),
                content: .leaf(key: key, value: value, valueHash: valueHash))
        case .branch(let bit, let left, let right):
            self.init(
                hash: Self.branchHash(bit: bit, left: left, right: right),
                content: .branch(bit: bit, left: .stored(left), right: .stored(right)))
        }
    }

    /// What to store for this node, or `nil` for a leaf whose value is withheld.
    public var record: Record? {
        switch content {
        case .leaf(let key, let value, _): value.map { .leaf(key: key, value: $0) }
        case .branch(let bit, let left, let right): .branch(bit: bit, left: left.hash, right: right.hash)
        }
    }

    /// A branch's links to its children (in memory, or only by hash); `nil` for a leaf.
    public var links: (left: MerkleLink, right: MerkleLink)? {
        guard case .branch(_, let left, let right) = content else { return nil }
        return (left, right)
    }

    // MARK: Hashing (docs/STORAGE.md §3)

    static let leafDomain: UInt8 = 0x00
    static let branchDomain: UInt8 = 0x01

    /// `H(0x00 ‖ u32be(len key) ‖ key ‖ H(value))`.
    static func leafHash(key: [UInt8], valueHash: Hash) -> Hash {
        var preimage: [UInt8] = []
        preimage.reserveCapacity(5 + key.count + 32)
        preimage.append(leafDomain)
        preimage.appendBigEndian(UInt32(key.count))
        preimage.append(contentsOf: key)
        preimage.append(contentsOf: valueHash.bytes)
        return Hash.digest(preimage)
    }

    /// `H(0x01 ‖ u32be(bit) ‖ H(left) ‖ H(right))`.
    static func branchHash(bit: UInt32, left: Hash, right: Hash) -> Hash {
        var preimage: [UInt8] = []
        preimage.reserveCapacity(69)
        preimage.append(branchDomain)
        preimage.appendBigEndian(bit)
        preimage.append(contentsOf: left.bytes)
        preimage.append(contentsOf: right.bytes)
        return Hash.digest(preimage)
    }
}

/// A reference from a tree to a subtree: the node itself, or only its hash when the node lives
/// in a database (or, in a tree rebuilt from a proof, was pruned from the proof).
public enum MerkleLink: Sendable {
    /// The subtree's root node, in memory.
    case node(MerkleNode)
    /// Only the subtree's hash: its nodes are in a ``MerkleNodeSource`` (or, in a tree rebuilt
    /// from a proof, were left out of the proof).
    case stored(Hash)

    /// The subtree's hash.
    public var hash: Hash {
        switch self {
        case .node(let node): node.hash
        case .stored(let hash): hash
        }
    }
}

/// Where a tree finds nodes it only knows by hash: a database, usually.
///
/// Calls are synchronous so that a database can answer a whole tree operation inside one read
/// transaction, which also gives that operation one consistent snapshot.
public protocol MerkleNodeSource {
    /// The node with this hash. Throw when it is missing: the tree is then incomplete.
    func node(_ hash: Hash) throws -> MerkleNode
}

extension [UInt8] {
    mutating func appendBigEndian(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value >> 24))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }
}
