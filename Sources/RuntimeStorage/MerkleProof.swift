public import ConsensusAPI
public import OasisCommon

/// The entries of a ``Proof`` (docs/STORAGE.md §5): the part of the tree a query read, in
/// pre-order, each entry starting with a tag byte.
enum MerkleProofTag {
    /// `0x01 ‖ u32be(bit)`, then the left subtree's entries, then the right's.
    static let branch: UInt8 = 0x01
    /// `0x02 ‖ u32be(len key) ‖ key ‖ value`.
    static let leaf: UInt8 = 0x02
    /// `0x03 ‖ u32be(len key) ‖ key ‖ H(value)`: a leaf whose key was read but not its value.
    static let withheldLeaf: UInt8 = 0x03
    /// `0x04 ‖ H(subtree)`: a subtree the query never entered.
    static let pruned: UInt8 = 0x04
}

extension MerkleReader {
    /// The proof of everything this (recording) reader read from the tree at `root`.
    func proof(of root: MerkleLink?) -> Proof {
        var entries: [[UInt8]] = []
        var pending: [MerkleLink] = root.map { [$0] } ?? []
        while let link = pending.popLast() {
            guard touched.contains(link.hash), let node = resolved(link) else {
                entries.append([MerkleProofTag.pruned] + link.hash.bytes)
                continue
            }
            var entry: [UInt8]
            switch node.content {
            case .leaf(let key, let value, let valueHash):
                let showValue = valuesRead.contains(node.hash) && value != nil
                entry = [showValue ? MerkleProofTag.leaf : MerkleProofTag.withheldLeaf]
                entry.appendBigEndian(UInt32(key.count))
                entry.append(contentsOf: key)
                if showValue, let value {
                    entry.append(contentsOf: value)
                } else {
                    entry.append(contentsOf: valueHash.bytes)
                }
            case .branch(let bit, let left, let right):
                entry = [MerkleProofTag.branch]
                entry.appendBigEndian(bit)
                pending.append(right)
                pending.append(left)
            }
            entries.append(entry)
        }
        return Proof(untrustedRoot: root?.hash ?? .empty, entries: entries)
    }
}

/// A proof checked against a root you trust, ready to answer the query it was made for.
///
/// Building one rebuilds the proven part of the tree and checks that it hashes to the trusted
/// root. Queries then run the same code the prover ran; a query that needs anything the proof
/// left out fails with ``MerkleError/proofIncomplete`` instead of guessing.
public struct VerifiedProof: Sendable {
    /// The trusted root the proof was checked against.
    public let root: Hash
    let tree: MerkleLink?

    /// Checks `proof` against `trustedRoot`. Throws ``MerkleError`` when the proof claims
    /// another root, is malformed, or hashes to another root.
    public init(_ proof: Proof, trustedRoot: Hash) throws {
        guard proof.untrustedRoot == trustedRoot else {
            throw MerkleError.unexpectedRoot(expected: trustedRoot, claimed: proof.untrustedRoot)
        }
        let tree = try Self.rebuild(proof.entries)
        let computed = tree?.hash ?? .empty
        guard computed == trustedRoot else { throw MerkleError.rootMismatch(expected: trustedRoot, computed: computed) }
        self.root = trustedRoot
        self.tree = tree
    }

    /// The value under `key`, or `nil` when the proof shows the key is absent.
    public func get(_ key: [UInt8]) throws -> [UInt8]? {
        try MerkleReader(source: PrunedNodes()).get(tree, key: key)
    }

    /// What a ``SyncIterateRequest`` from `start` with `prefetch` answers: the first
    /// `max(1, prefetch)` entries not less than `start`, fewer only at the end of the tree.
    public func iterate(from start: [UInt8], prefetch: UInt16) throws -> [WriteLogEntry] {
        try MerkleReader(source: PrunedNodes()).iterate(tree, from: start, count: MerkleTree.iterateCount(prefetch))
    }

    /// What a ``SyncGetPrefixesRequest`` answers: each prefix's entries in turn, at most
    /// `limit` in all (0: no limit).
    public func prefixes(_ prefixes: [[UInt8]], limit: UInt16) throws -> [WriteLogEntry] {
        try MerkleReader(source: PrunedNodes()).prefixes(tree, prefixes, limit: Int(limit))
    }

    /// Pruned subtrees are reachable only by hash, and the verifier has nothing to look them
    /// up in: reading one means the proof did not cover the query.
    private struct PrunedNodes: MerkleNodeSource {
        func node(_ hash: Hash) throws -> MerkleNode { throw MerkleError.proofIncomplete }
    }

    /// Rebuilds the tree the entries describe, without recursion so that a deep proof cannot
    /// exhaust the stack.
    static func rebuild(_ entries: [[UInt8]]) throws -> MerkleLink? {
        var open: [(bit: UInt32, left: MerkleLink?)] = []
        var result: MerkleLink?
        for (index, entry) in entries.enumerated() {
            guard result == nil else { throw MerkleError.malformedProof("entry \(index) follows a complete tree") }
            guard let tag = entry.first else { throw MerkleError.malformedProof("entry \(index) is empty") }
            var complete: MerkleLink
            switch tag {
            case MerkleProofTag.branch:
                guard entry.count == 5 else {
                    throw MerkleError.malformedProof("branch entry \(index) has \(entry.count) bytes")
                }
                let bit = readUInt32(entry, at: 1)
                if let parent = open.last, bit <= parent.bit {
                    throw MerkleError.malformedProof(
                        "branch entry \(index) splits at bit \(bit), not below its parent's \(parent.bit)")
                }
                // The tree a proof rebuilds is freed node by node, recursively: refuse a proof
                // nesting deeper than any tree an apply may build (a genuine one never does).
                guard open.count < MerkleTree.maxDepth else {
                    throw MerkleError.malformedProof(
                        "branch entry \(index) nests deeper than \(MerkleTree.maxDepth) levels")
                }
                open.append((bit, nil))
                continue
            case MerkleProofTag.leaf, MerkleProofTag.withheldLeaf:
                guard entry.count >= 5 else {
                    throw MerkleError.malformedProof("leaf entry \(index) has \(entry.count) bytes")
                }
                let keyLength = Int(readUInt32(entry, at: 1))
                guard entry.count - 5 >= keyLength else {
                    throw MerkleError.malformedProof("leaf entry \(index) is shorter than its key length \(keyLength)")
                }
                let key = Array(entry[5..<(5 + keyLength)])
                let rest = Array(entry[(5 + keyLength)...])
                if tag == MerkleProofTag.leaf {
                    guard !rest.isEmpty else {
                        throw MerkleError.malformedProof("leaf entry \(index) has an empty value")
                    }
                    complete = .node(.leaf(key: key, value: rest))
                } else {
                    guard rest.count == 32 else {
                        throw MerkleError.malformedProof(
                            "withheld leaf entry \(index) has a \(rest.count)-byte value hash")
                    }
                    complete = .node(.withheldLeaf(key: key, valueHash: try Hash(bytes: rest)))
                }
            case MerkleProofTag.pruned:
                guard entry.count == 33 else {
                    throw MerkleError.malformedProof("pruned entry \(index) has \(entry.count) bytes")
                }
                complete = .stored(try Hash(bytes: Array(entry[1...])))
            default:
                throw MerkleError.malformedProof("entry \(index) has unknown tag \(tag)")
            }
            // Hang the finished subtree on the innermost open branch, closing branches as
            // their right sides complete.
            while true {
                guard var parent = open.popLast() else {
                    result = complete
                    break
                }
                if let left = parent.left {
                    complete = .node(.branch(bit: parent.bit, left: left, right: complete))
                } else {
                    parent.left = complete
                    open.append(parent)
                    break
                }
            }
        }
        guard open.isEmpty else { throw MerkleError.malformedProof("the entries end inside a branch") }
        return result
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// Checking sync answers against a trusted root.
extension ProofResponse {
    /// The value the proof shows for `key` under `trustedRoot` (`nil`: absent).
    public func verifyGet(key: [UInt8], trustedRoot: Hash) throws -> [UInt8]? {
        try VerifiedProof(proof, trustedRoot: trustedRoot).get(key)
    }

    /// The entries the proof shows for an iteration from `start` under `trustedRoot`.
    public func verifyIterate(from start: [UInt8], prefetch: UInt16, trustedRoot: Hash) throws -> [WriteLogEntry] {
        try VerifiedProof(proof, trustedRoot: trustedRoot).iterate(from: start, prefetch: prefetch)
    }

    /// The entries the proof shows for `prefixes` under `trustedRoot`.
    public func verifyPrefixes(_ prefixes: [[UInt8]], limit: UInt16, trustedRoot: Hash) throws -> [WriteLogEntry] {
        try VerifiedProof(proof, trustedRoot: trustedRoot).prefixes(prefixes, limit: limit)
    }

    /// Checks the answer to `request`, trusting the root the request names: build requests
    /// only from roots you trust (a block header's).
    public func verify(_ request: SyncGetRequest) throws -> [UInt8]? {
        try verifyGet(key: request.key, trustedRoot: request.tree.root.hash)
    }

    /// Checks the answer to `request`, trusting the root the request names.
    public func verify(_ request: SyncIterateRequest) throws -> [WriteLogEntry] {
        try verifyIterate(from: request.key, prefetch: request.prefetch, trustedRoot: request.tree.root.hash)
    }

    /// Checks the answer to `request`, trusting the root the request names.
    public func verify(_ request: SyncGetPrefixesRequest) throws -> [WriteLogEntry] {
        try verifyPrefixes(request.prefixes, limit: request.limit, trustedRoot: request.tree.root.hash)
    }
}

/// The nodes revealed by verified proofs, as a node source: enough to apply a write log to a
/// tree a runtime does not hold, given a get proof for every key the log writes (the path to
/// each key is all that applying it reads). Values are never needed for that.
public struct ProvenNodes: MerkleNodeSource, Sendable {
    private var nodes: [Hash: MerkleNode] = [:]

    /// No nodes yet.
    public init() {}

    /// How many nodes are known.
    public var count: Int { nodes.count }

    /// Adds every node `proof` revealed. The proof was checked against its root, so each node
    /// is genuine wherever it came from.
    public mutating func insert(_ proof: VerifiedProof) {
        var pending: [MerkleLink] = proof.tree.map { [$0] } ?? []
        while let link = pending.popLast() {
            guard case .node(let node) = link else { continue }
            if nodes[node.hash] == nil { nodes[node.hash] = node }
            if case .branch(_, let left, let right) = node.content {
                pending.append(left)
                pending.append(right)
            }
        }
    }

    /// The node, or ``MerkleError/proofIncomplete`` when no proof revealed it.
    public func node(_ hash: Hash) throws -> MerkleNode {
        guard let node = nodes[hash] else { throw MerkleError.proofIncomplete }
        return node
    }
}
