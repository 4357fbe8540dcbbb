import ConsensusAPI
import OasisCommon

/// Reads one tree for one operation: resolves links through the node source (once per node),
/// and, when asked to, remembers which nodes and which leaf values the operation looked at.
///
/// Proofs come from that record: the prover runs a query with recording on, and the proof is
/// exactly the part of the tree the query read. The verifier rebuilds that part and runs the
/// *same* query code on it, so it reads the same nodes, and anything outside the proof
/// (a pruned subtree, a withheld value) fails with ``MerkleError/proofIncomplete``.
final class MerkleReader {
    private let source: (any MerkleNodeSource)?
    private let recording: Bool
    private var cache: [Hash: MerkleNode] = [:]
    /// Hashes of the nodes whose content was read.
    private(set) var touched: Set<Hash> = []
    /// Hashes of the leaves whose value was read.
    private(set) var valuesRead: Set<Hash> = []

    init(source: (any MerkleNodeSource)?, recording: Bool = false) {
        self.source = source
        self.recording = recording
    }

    /// The node behind `link`.
    func node(_ link: MerkleLink) throws -> MerkleNode {
        let node: MerkleNode
        switch link {
        case .node(let n):
            node = n
        case .stored(let hash):
            if let cached = cache[hash] {
                node = cached
            } else {
                guard let source else { throw MerkleError.missingNode(hash) }
                let loaded = try source.node(hash)
                guard loaded.hash == hash else { throw MerkleError.corruptNode(expected: hash, got: loaded.hash) }
                cache[hash] = loaded
                node = loaded
            }
        }
        if recording { touched.insert(node.hash) }
        return node
    }

    /// The node behind a link this reader already resolved, without recording anything.
    func resolved(_ link: MerkleLink) -> MerkleNode? {
        switch link {
        case .node(let n): n
        case .stored(let hash): cache[hash]
        }
    }

    /// The value of a leaf.
    func value(of leaf: MerkleNode) throws -> [UInt8] {
        guard case .leaf(_, let value, _) = leaf.content else {
            preconditionFailure("value(of:) called on a branch")
        }
        guard let value else { throw MerkleError.proofIncomplete }
        if recording { valuesRead.insert(leaf.hash) }
        return value
    }

    // MARK: Point reads

    /// The value stored under `key`, or `nil`.
    func get(_ root: MerkleLink?, key: [UInt8]) throws -> [UInt8]? {
        guard let root else { return nil }
        var node = try self.node(root)
        while case .branch(let bit, let left, let right) = node.content {
            node = try self.node(MerkleKeyBits.bit(key, at: bit) == 0 ? left : right)
        }
        guard case .leaf(let leafKey, _, _) = node.content, leafKey == key else { return nil }
        return try value(of: node)
    }

    // MARK: Ordered walks

    /// A position in an in-order walk over the leaves.
    struct Cursor {
        struct Frame {
            var bit: UInt32
            var left: MerkleLink
            var right: MerkleLink
            var wentRight: Bool
        }

        var path: [Frame] = []
        /// The current leaf; `nil` once the walk is past the last key.
        var leaf: MerkleNode?

        var key: [UInt8]? {
            guard let leaf, case .leaf(let key, _, _) = leaf.content else { return nil }
            return key
        }
    }

    /// A cursor on the first key that is not less than `key`.
    ///
    /// Descends by `key`'s bits to some leaf `L`, finds the first bit `c` where `key` and `L`
    /// differ, and climbs back to the highest node below bit `c`: `key` sorts either before all
    /// of that subtree (bit `c` of `key` is 0) or after all of it.
    func seek(_ root: MerkleLink?, key: [UInt8]) throws -> Cursor {
        var cursor = Cursor()
        guard let root else { return cursor }
        var node = try self.node(root)
        while case .branch(let bit, let left, let right) = node.content {
            let goRight = MerkleKeyBits.bit(key, at: bit) == 1
            cursor.path.append(.init(bit: bit, left: left, right: right, wentRight: goRight))
            node = try self.node(goRight ? right : left)
        }
        guard case .leaf(let leafKey, _, _) = node.content else { return cursor }
        guard let c = MerkleKeyBits.firstDifference(key, leafKey) else {
            cursor.leaf = node
            return cursor
        }
        while let last = cursor.path.last, last.bit > c { cursor.path.removeLast() }
        let subtree = cursor.path.last.map { $0.wentRight ? $0.right : $0.left } ?? root
        if MerkleKeyBits.bit(key, at: c) == 0 {
            try descendLeftmost(subtree, &cursor)
        } else {
            try advance(&cursor)
        }
        return cursor
    }

    /// Moves the cursor to the next key.
    func advance(_ cursor: inout Cursor) throws {
        while let last = cursor.path.popLast() {
            if !last.wentRight {
                var frame = last
                frame.wentRight = true
                cursor.path.append(frame)
                try descendLeftmost(frame.right, &cursor)
                return
            }
        }
        cursor.leaf = nil
    }

    private func descendLeftmost(_ link: MerkleLink, _ cursor: inout Cursor) throws {
        var node = try self.node(link)
        while case .branch(let bit, let left, let right) = node.content {
            cursor.path.append(.init(bit: bit, left: left, right: right, wentRight: false))
            node = try self.node(left)
        }
        cursor.leaf = node
    }

    /// Up to `count` entries, in key order, starting at the first key not less than `start`.
    func iterate(_ root: MerkleLink?, from start: [UInt8], count: Int) throws -> [WriteLogEntry] {
        var out: [WriteLogEntry] = []
        guard count > 0 else { return out }
        var cursor = try seek(root, key: start)
        while let leaf = cursor.leaf, let key = cursor.key {
            out.append(WriteLogEntry(key: key, value: try value(of: leaf)))
            if out.count == count { break }
            try advance(&cursor)
        }
        return out
    }

    /// For each prefix in turn, its keys in order, stopping once `limit` entries are collected
    /// (0: no limit). The first key past a prefix's range is read (key only) to show the range
    /// ended.
    func prefixes(_ root: MerkleLink?, _ prefixes: [[UInt8]], limit: Int) throws -> [WriteLogEntry] {
        var out: [WriteLogEntry] = []
        for prefix in prefixes {
            if limit > 0 && out.count >= limit { break }
            var cursor = try seek(root, key: prefix)
            while let leaf = cursor.leaf, let key = cursor.key, MerkleKeyBits.hasPrefix(key, prefix) {
                out.append(WriteLogEntry(key: key, value: try value(of: leaf)))
                if limit > 0 && out.count >= limit { return out }
                try advance(&cursor)
            }
        }
        return out
    }
}
