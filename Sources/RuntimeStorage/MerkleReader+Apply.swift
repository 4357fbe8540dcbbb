import ConsensusAPI
import OasisCommon

extension MerkleReader {
    /// One key's change in a batch: `value == nil` deletes.
    private struct Change {
        var key: [UInt8]
        var value: [UInt8]?
        /// First bit where `key` differs from `leafKey`, the leaf a search for `key` ends at
        /// (`nil`: the key is in the tree).
        var divergence: UInt32?
        var leafKey: [UInt8]
    }

    /// An input of ``build(_:)``: a new leaf, or a whole subtree kept as it is.
    private enum Item {
        case leaf(key: [UInt8], value: [UInt8])
        case subtree(MerkleLink, sample: [UInt8])

        /// A key that agrees with every key of the item on all bits the build looks at.
        var sample: [UInt8] {
            switch self {
            case .leaf(let key, _): key
            case .subtree(_, let sample): sample
            }
        }

        var link: MerkleLink {
            switch self {
            case .leaf(let key, let value): .node(.leaf(key: key, value: value))
            case .subtree(let link, _): link
            }
        }
    }

    /// The root after applying `writeLog` to the tree at `root` (docs/STORAGE.md §4).
    ///
    /// The log is reduced to one change per key (the last one wins; an empty value deletes),
    /// sorted, and merged into the tree in one pass: a subtree no change falls into is linked
    /// as it is, and every new node is hashed exactly once.
    func apply(_ root: MerkleLink?, _ writeLog: WriteLog) throws -> MerkleLink? {
        guard !writeLog.isEmpty else { return root }
        let order = writeLog.indices.sorted { a, b in
            let (ka, kb) = (writeLog[a].key, writeLog[b].key)
            return ka == kb ? a < b : MerkleKeyBits.less(ka, kb)
        }
        var changes: [Change] = []
        changes.reserveCapacity(order.count)
        for (position, index) in order.enumerated() {
            if position + 1 < order.count && writeLog[order[position + 1]].key == writeLog[index].key { continue }
            let entry = writeLog[index]
            changes.append(
                Change(key: entry.key, value: entry.value.isEmpty ? nil : entry.value, divergence: nil, leafKey: []))
        }
        guard let root else { return try merge(nil, changes[...], depth: 0) }
        for i in changes.indices {
            var node = try self.node(root)
            while case .branch(let bit, let left, let right) = node.content {
                node = try self.node(MerkleKeyBits.bit(changes[i].key, at: bit) == 0 ? left : right)
            }
            guard case .leaf(let leafKey, _, _) = node.content else { continue }
            changes[i].leafKey = leafKey
            changes[i].divergence = MerkleKeyBits.firstDifference(changes[i].key, leafKey)
        }
        return try merge(root, changes[...], depth: 0)
    }

    /// Merges sorted, distinct-key changes into the subtree at `link`. Every change reached
    /// this subtree by its own bits, so it agrees with the subtree's shared prefix up to its
    /// divergence bit; a change diverging above the subtree's split bit lands beside it.
    /// `depth` is the number of branches above the subtree; the recursion (and the trie) stops
    /// at ``MerkleTree/maxDepth`` with ``MerkleError/tooDeep(limit:)``.
    private func merge(_ link: MerkleLink?, _ changes: ArraySlice<Change>, depth: Int) throws -> MerkleLink? {
        guard !changes.isEmpty else { return link }
        guard let link else {
            return try build(
                changes.compactMap { c in c.value.map { Item.leaf(key: c.key, value: $0) } }[...], depth: depth)
        }
        let node = try self.node(link)
        var before: [Item] = []
        var after: [Item] = []
        var sample: [UInt8] = []
        var kept: MerkleLink?

        func placeOutside(_ change: Change, divergence: UInt32) {
            guard let value = change.value else { return }  // deleting an absent key
            sample = change.leafKey
            if MerkleKeyBits.bit(change.key, at: divergence) == 0 {
                before.append(.leaf(key: change.key, value: value))
            } else {
                after.append(.leaf(key: change.key, value: value))
            }
        }

        switch node.content {
        case .leaf(let key, let oldValue, _):
            kept = link
            for change in changes {
                if let divergence = change.divergence {
                    placeOutside(change, divergence: divergence)
                } else if let value = change.value {
                    kept = value == oldValue ? link : .node(.leaf(key: key, value: value))
                } else {
                    kept = nil
                }
            }
        case .branch(let bit, let left, let right):
            // The children sit one level deeper: refuse before recursing past the limit.
            guard depth < MerkleTree.maxDepth else { throw MerkleError.tooDeep(limit: MerkleTree.maxDepth) }
            var leftChanges: [Change] = []
            var rightChanges: [Change] = []
            for change in changes {
                if let divergence = change.divergence, divergence < bit {
                    placeOutside(change, divergence: divergence)
                } else if MerkleKeyBits.bit(change.key, at: bit) == 0 {
                    leftChanges.append(change)
                } else {
                    rightChanges.append(change)
                }
            }
            let newLeft = try merge(left, leftChanges[...], depth: depth + 1)
            let newRight = try merge(right, rightChanges[...], depth: depth + 1)
            switch (newLeft, newRight) {
            case (let l?, let r?):
                kept = l.hash == left.hash && r.hash == right.hash ? link : .node(.branch(bit: bit, left: l, right: r))
            case (let l?, nil): kept = l
            case (nil, let r?): kept = r
            case (nil, nil): kept = nil
            }
        }
        if before.isEmpty && after.isEmpty { return kept }
        var items = before
        if let kept { items.append(.subtree(kept, sample: sample)) }
        items.append(contentsOf: after)
        return try build(items[...], depth: depth)
    }

    /// The trie over sorted items whose samples are distinct. Splits at the first bit where
    /// the smallest and largest sample differ: that is where the whole set splits. `depth` is
    /// the number of branches above the result; a branch at ``MerkleTree/maxDepth`` or below
    /// throws ``MerkleError/tooDeep(limit:)`` before recursing.
    private func build(_ items: ArraySlice<Item>, depth: Int) throws -> MerkleLink? {
        guard let first = items.first, let last = items.last else { return nil }
        guard items.count > 1, let bit = MerkleKeyBits.firstDifference(first.sample, last.sample) else {
            return first.link
        }
        guard depth < MerkleTree.maxDepth else { throw MerkleError.tooDeep(limit: MerkleTree.maxDepth) }
        // Samples are sorted, so those with bit 0 come first: binary search for the split.
        var low = items.startIndex
        var high = items.endIndex
        while low < high {
            let mid = low + (high - low) / 2
            if MerkleKeyBits.bit(items[mid].sample, at: bit) == 0 { low = mid + 1 } else { high = mid }
        }
        guard let left = try build(items[..<low], depth: depth + 1),
            let right = try build(items[low...], depth: depth + 1)
        else {
            preconditionFailure("a split of sorted distinct keys leaves both sides non-empty")
        }
        return .node(.branch(bit: bit, left: left, right: right))
    }
}
