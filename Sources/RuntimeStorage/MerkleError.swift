public import OasisCommon

/// Why a tree operation or a proof check failed.
public enum MerkleError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A node the tree links to is not in its node source.
    case missingNode(Hash)
    /// A node source answered with a node whose hash is not the one asked for.
    case corruptNode(expected: Hash, got: Hash)
    /// A proof hashes to another root than the trusted one.
    case rootMismatch(expected: Hash, computed: Hash)
    /// A proof claims another root than the trusted one.
    case unexpectedRoot(expected: Hash, claimed: Hash)
    /// A proof entry could not be decoded, or the entries do not form one tree.
    case malformedProof(String)
    /// A proof is genuine but does not cover what was asked of it.
    case proofIncomplete
    /// Applying a write log would walk or build a trie path with more than `limit` branches
    /// (``MerkleTree/maxDepth``): its keys nest deeper than the storage allows.
    case tooDeep(limit: Int)

    public var description: String {
        switch self {
        case .missingNode(let h): "storage: node \(h) not found"
        case .corruptNode(let e, let g): "storage: node store answered node \(g) when asked for \(e)"
        case .rootMismatch(let e, let c): "storage: proof root mismatch (expected \(e), proof hashes to \(c))"
        case .unexpectedRoot(let e, let c): "storage: proof for unexpected root (expected \(e), proof claims \(c))"
        case .malformedProof(let why): "storage: malformed proof: \(why)"
        case .proofIncomplete: "storage: proof does not cover the requested keys"
        case .tooDeep(let limit):
            "storage: the write log's keys nest deeper than the \(limit) trie levels the storage allows"
        }
    }
}
