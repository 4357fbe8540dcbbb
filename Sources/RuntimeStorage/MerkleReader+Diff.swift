import ConsensusAPI
import OasisCommon

extension MerkleReader {
    /// The write log that turns the tree at `from` into the tree at `to`, in key order: a set
    /// for every key added or changed, an empty value for every key removed.
    ///
    /// Both trees are walked in key order as lists of subtrees; when the two fronts are
    /// subtrees with the same hash they hold the same keys and values, so both are skipped
    /// unread. Only keys not less than `offsetKey` are reported, at most `limit` of them
    /// (0: no limit).
    func diff(from: MerkleLink?, to: MerkleLink?, offsetKey: [UInt8], limit: Int) throws -> WriteLog {
        // Each stack holds the rest of its tree in key order, the front last.
        var old: [MerkleLink] = from.map { [$0] } ?? []
        var new: [MerkleLink] = to.map { [$0] } ?? []
        var out: WriteLog = []

        func emit(_ key: [UInt8], _ value: [UInt8]) {
            if !MerkleKeyBits.less(key, offsetKey) { out.append(WriteLogEntry(key: key, value: value)) }
        }
        func expand(_ stack: inout [MerkleLink], _ left: MerkleLink, _ right: MerkleLink) {
            stack.removeLast()
            stack.append(right)
            stack.append(left)
        }

        while limit == 0 || out.count < limit {
            switch (old.last, new.last) {
            case (nil, nil):
                return out
            case (let a?, let b?) where a.hash == b.hash:
                old.removeLast()
                new.removeLast()
            case (let a?, let b?):
                let nodeA = try node(a)
                let nodeB = try node(b)
                switch (nodeA.content, nodeB.content) {
                case (.leaf(let keyA, _, _), .leaf(let keyB, _, _)):
                    if keyA == keyB {
                        // Same key, different leaf hash: the value changed.
                        emit(keyB, try value(of: nodeB))
                        old.removeLast()
                        new.removeLast()
                    } else if MerkleKeyBits.less(keyA, keyB) {
                        emit(keyA, [])
                        old.removeLast()
                    } else {
                        emit(keyB, try value(of: nodeB))
                        new.removeLast()
                    }
                case (.branch(let bitA, let leftA, let rightA), .branch(let bitB, let leftB, let rightB)):
                    if bitA <= bitB { expand(&old, leftA, rightA) }
                    if bitB <= bitA { expand(&new, leftB, rightB) }
                case (.branch(_, let left, let right), .leaf):
                    expand(&old, left, right)
                case (.leaf, .branch(_, let left, let right)):
                    expand(&new, left, right)
                }
            case (let a?, nil):
                let nodeA = try node(a)
                switch nodeA.content {
                case .leaf(let key, _, _):
                    emit(key, [])
                    old.removeLast()
                case .branch(_, let left, let right):
                    expand(&old, left, right)
                }
            case (nil, let b?):
                let nodeB = try node(b)
                switch nodeB.content {
                case .leaf(let key, _, _):
                    emit(key, try value(of: nodeB))
                    new.removeLast()
                case .branch(_, let left, let right):
                    expand(&new, left, right)
                }
            }
        }
        return out
    }
}
