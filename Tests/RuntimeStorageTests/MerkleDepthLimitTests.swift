import ConsensusAPI
import OasisCommon
import Testing

@testable import RuntimeStorage

/// Crafted keys choose the trie's depth, and applying recurses once per level: an apply past
/// ``MerkleTree/maxDepth`` must throw, not overflow the stack. Every test runs its work on a
/// `Task`, i.e. a cooperative-pool thread, whose stack is smaller than the main thread's.
@Suite("Merkle trie depth limit")
struct MerkleDepthLimitTests {
    /// An all-'a' key of `length` bytes and every key that differs from it in exactly one bit,
    /// in key-bit order of that bit: together they chain about 8·length levels deep.
    static func chainKeys(length: Int) -> [[UInt8]] {
        let base = [UInt8](repeating: 0x61, count: length)
        var keys = [base]
        for index in 0..<length {
            for bit in 0..<8 {
                var key = base
                key[index] ^= 0x80 >> UInt8(bit)
                keys.append(key)
            }
        }
        return keys
    }

    static func log(_ keys: some Sequence<[UInt8]>, value: UInt8 = 1) -> WriteLog {
        keys.map { WriteLogEntry(key: $0, value: [value]) }
    }

    static func isTooDeep(_ error: any Error) -> Bool {
        (error as? MerkleError) == .tooDeep(limit: MerkleTree.maxDepth)
    }

    @Test("a chain far past the limit built in one apply is refused with tooDeep")
    func oneApplyRefused() async throws {
        try await Task {
            let keys = Self.chainKeys(length: 400)  // about 3,200 levels
            #expect(throws: MerkleError.tooDeep(limit: MerkleTree.maxDepth)) {
                try MerkleTree().applying(Self.log(keys))
            }
            // Also on top of an existing (stored) tree, and in reverse log order.
            let store = CountingNodeStore()
            let stored = store.store(try MerkleTree().applying(Self.log([[0x62], [0x61, 0x61]])))
            #expect(throws: MerkleError.tooDeep(limit: MerkleTree.maxDepth)) {
                try stored.applying(Self.log(keys.reversed()), nodes: store)
            }
            #expect(MerkleError.tooDeep(limit: MerkleTree.maxDepth).description.contains("1024"))
        }.value
    }

    @Test("a chain grown over several applies is refused once it would pass the limit")
    func grownRefused() async throws {
        try await Task {
            let keys = Self.chainKeys(length: 400)
            // Batches in key-bit order: each apply extends the chain at the bottom.
            var tree = MerkleTree()
            var applied = 0
            var refused = false
            for start in stride(from: 0, to: keys.count, by: 100) {
                let batch = keys[start..<min(start + 100, keys.count)]
                do {
                    tree = try tree.applying(Self.log(batch))
                    applied = start + batch.count
                } catch {
                    #expect(Self.isTooDeep(error))
                    refused = true
                    break
                }
            }
            #expect(refused)
            #expect(applied > 0 && applied <= MerkleTree.maxDepth + 1)
            // The last accepted tree is intact.
            #expect(try tree.iterate().count == applied)
            #expect(try tree.get(keys[applied - 1]) == [1])
            // One key at a time hits the limit too, at the first key past it.
            var single = try MerkleTree().applying(Self.log(keys[..<MerkleTree.maxDepth]))
            single = try single.applying(Self.log([keys[MerkleTree.maxDepth]]))
            #expect(throws: MerkleError.tooDeep(limit: MerkleTree.maxDepth)) {
                try single.applying(Self.log([keys[MerkleTree.maxDepth + 1]]))
            }
        }.value
    }

    @Test("keys added above an existing chain push it down; applies that then reach past the limit throw")
    func pushedDownChain() async throws {
        try await Task {
            let keys = Self.chainKeys(length: 400)
            // Deepest-diverging keys first: each later batch lands above the chain, which an
            // apply links unread, so no single apply walks or builds past the limit.
            var tree = MerkleTree()
            for end in stride(from: keys.count, to: 1, by: -800) {
                let batch = keys[max(1, end - 800)..<end]
                tree = try tree.applying(Self.log(end == keys.count ? [keys[0]] + batch : Array(batch)))
            }
            #expect(try tree.iterate().count == keys.count)
            #expect(try tree.get(keys.last!) == [1])
            // Updating a key at the bottom walks past the limit: refused, no crash.
            #expect(throws: MerkleError.tooDeep(limit: MerkleTree.maxDepth)) {
                try tree.applying(Self.log([keys.last!], value: 2))
            }
            // A key near the top still updates.
            #expect(try tree.applying(Self.log([keys[1]], value: 2)).get(keys[1]) == [2])
        }.value
    }

    @Test("a tree exactly at the limit applies, proves, reads back and updates its deepest key")
    func atLimit() async throws {
        try await Task {
            // maxDepth + 1 keys of the chain: the deepest leaves sit exactly maxDepth deep.
            let keys = Array(Self.chainKeys(length: 200)[...MerkleTree.maxDepth])
            let store = CountingNodeStore()
            let tree = try MerkleTree().applying(Self.log(keys))
            let stored = store.store(tree)
            #expect(store.height(stored.hash) == MerkleTree.maxDepth + 1)  // nodes, not branches
            let deepest = keys.last!
            #expect(try tree.get(deepest) == [1])
            #expect(try stored.get(deepest, nodes: store) == [1])
            #expect(try tree.iterate().map(\.key) == keys.sorted { MerkleKeyBits.less($0, $1) })
            let proof = ProofResponse(proof: try stored.proveGet(deepest, nodes: store))
            #expect(try proof.verifyGet(key: deepest, trustedRoot: tree.hash) == [1])
            // Updating and deleting the deepest key, in memory and against the store.
            let updated = try stored.applying(Self.log([deepest], value: 2), nodes: store)
            #expect(try updated.get(deepest, nodes: store) == [2])
            #expect(try tree.applying(Self.log([deepest], value: 2)).hash == updated.hash)
            let deleted = try updated.applying([WriteLogEntry(key: deepest, value: [])], nodes: store)
            #expect(try deleted.get(deepest, nodes: store) == nil)
            #expect(try tree.diff(to: updated) == Self.log([deepest], value: 2))
            // Rebuilding it key by key from below the limit reaches the same root.
            var grown = try MerkleTree().applying(Self.log(keys.dropLast()))
            grown = try grown.applying(Self.log([deepest]))
            #expect(grown.hash == tree.hash)
        }.value
    }

    @Test("a proof nesting deeper than the limit is refused as malformed")
    func deepProofRefused() async throws {
        try await Task {
            var entries: [[UInt8]] = []
            for bit in 0...UInt32(MerkleTree.maxDepth) {
                var entry = [MerkleProofTag.branch]
                entry.appendBigEndian(bit)
                entries.append(entry)
                entries.append([MerkleProofTag.pruned] + Hash.empty.bytes)
            }
            entries.append([MerkleProofTag.pruned] + Hash.empty.bytes)
            #expect(throws: MerkleError.self) {
                try VerifiedProof.rebuild(entries)
            }
            do {
                _ = try VerifiedProof.rebuild(entries)
            } catch MerkleError.malformedProof(let why) {
                #expect(why.contains("deeper"))
            }
        }.value
    }
}
