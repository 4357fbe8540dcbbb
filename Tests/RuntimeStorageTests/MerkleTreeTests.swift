import ConsensusAPI
import OasisCommon
import Testing

@testable import RuntimeStorage

@Suite("Merkle trie")
struct MerkleTreeTests {
    static let sample: WriteLog = [
        WriteLogEntry(key: bytes("apple"), value: bytes("red")),
        WriteLogEntry(key: bytes("app"), value: bytes("short")),
        WriteLogEntry(key: bytes("banana"), value: bytes("yellow")),
        WriteLogEntry(key: bytes("cherry"), value: bytes("dark")),
        WriteLogEntry(key: [], value: bytes("empty key")),
        WriteLogEntry(key: bytes("applesauce"), value: bytes("sweet")),
    ]

    func sampleTree() throws -> MerkleTree {
        try MerkleTree().applying(Self.sample)
    }

    @Test("the empty tree's root is the empty hash")
    func emptyRoot() throws {
        #expect(MerkleTree().hash == Hash.empty)
        #expect(try MerkleTree().applying([]).hash == Hash.empty)
        // Deleting everything gives the empty root back.
        let deleted = try sampleTree().applying(Self.sample.map { WriteLogEntry(key: $0.key, value: []) })
        #expect(deleted.hash == Hash.empty)
    }

    @Test("a one-key root is the documented leaf hash")
    func leafLayout() throws {
        let tree = try MerkleTree().applying([WriteLogEntry(key: [0x61, 0x62], value: [0x01])])
        let expected = Hash.digest([0x00, 0, 0, 0, 2, 0x61, 0x62] + Hash.digest([0x01]).bytes)
        #expect(tree.hash == expected)
    }

    @Test("a two-key root is the documented branch hash over the first differing encoded bit")
    func branchLayout() throws {
        // "a" = 0x61 and "b" = 0x62 first differ in bit 6 of the byte (0x61 ^ 0x62 = 0x03),
        // encoded position 0 * 9 + 1 + 6 = 7.
        let tree = try MerkleTree().applying([
            WriteLogEntry(key: [0x62], value: [2]), WriteLogEntry(key: [0x61], value: [1]),
        ])
        let leafA = Hash.digest([0x00, 0, 0, 0, 1, 0x61] + Hash.digest([1]).bytes)
        let leafB = Hash.digest([0x00, 0, 0, 0, 1, 0x62] + Hash.digest([2]).bytes)
        #expect(tree.hash == Hash.digest([0x01, 0, 0, 0, 7] + leafA.bytes + leafB.bytes))
        // A key and its extension split at the end marker of the shorter one: position 9.
        let prefixTree = try MerkleTree().applying([
            WriteLogEntry(key: [0x61], value: [1]), WriteLogEntry(key: [0x61, 0x00], value: [2]),
        ])
        let leafLong = Hash.digest([0x00, 0, 0, 0, 2, 0x61, 0x00] + Hash.digest([2]).bytes)
        #expect(prefixTree.hash == Hash.digest([0x01, 0, 0, 0, 9] + leafA.bytes + leafLong.bytes))
    }

    @Test("the root depends only on the final key/value set, not on how it was written")
    func historyIndependence() throws {
        var generator = SeededGenerator(seed: 7)
        let direct = try sampleTree()
        for _ in 0..<20 {
            var tree = MerkleTree()
            // Write in shuffled batches, with a detour through other values and deletes.
            for entry in Self.sample.shuffled(using: &generator) {
                try tree.apply([WriteLogEntry(key: entry.key, value: bytes("temporary"))])
                try tree.apply([WriteLogEntry(key: bytes("noise"), value: bytes("x"))])
                try tree.apply([WriteLogEntry(key: entry.key, value: entry.value), WriteLogEntry(key: bytes("noise"), value: [])])
            }
            #expect(tree.hash == direct.hash)
        }
    }

    @Test("within one write log the last entry for a key wins and an empty value deletes")
    func lastWriteWins() throws {
        let tree = try MerkleTree().applying([
            WriteLogEntry(key: bytes("k"), value: bytes("1")),
            WriteLogEntry(key: bytes("k"), value: bytes("2")),
            WriteLogEntry(key: bytes("gone"), value: bytes("v")),
            WriteLogEntry(key: bytes("gone"), value: []),
        ])
        #expect(try tree.get(bytes("k")) == bytes("2"))
        #expect(try tree.get(bytes("gone")) == nil)
        #expect(try tree.iterate().map(\.key) == [bytes("k")])
    }

    @Test("a get proof verifies and gives the value")
    func getProof() throws {
        let tree = try sampleTree()
        for entry in Self.sample {
            let response = ProofResponse(proof: try tree.proveGet(entry.key))
            #expect(try response.verifyGet(key: entry.key, trustedRoot: tree.hash) == entry.value)
        }
    }

    @Test("an absence proof verifies and shows the key is missing")
    func absenceProof() throws {
        let tree = try sampleTree()
        // Between keys, a prefix of keys, an extension of a key, past the end.
        for key in [bytes("b"), bytes("ap"), bytes("apples"), bytes("zzz"), [0x00]] {
            let response = ProofResponse(proof: try tree.proveGet(key))
            #expect(try response.verifyGet(key: key, trustedRoot: tree.hash) == nil)
        }
        let empty = MerkleTree()
        let response = ProofResponse(proof: try empty.proveGet(bytes("x")))
        #expect(response.proof.entries.isEmpty)
        #expect(try response.verifyGet(key: bytes("x"), trustedRoot: .empty) == nil)
    }

    @Test("a tampered value fails verification")
    func tamperedValue() throws {
        let tree = try sampleTree()
        var proof = try tree.proveGet(bytes("banana"))
        let index = try #require(proof.entries.firstIndex { $0.first == MerkleProofTag.leaf })
        proof.entries[index][proof.entries[index].count - 1] ^= 0x01
        #expect(throws: MerkleError.self) {
            try ProofResponse(proof: proof).verifyGet(key: bytes("banana"), trustedRoot: tree.hash)
        }
    }

    @Test("a tampered proof entry fails verification")
    func tamperedEntry() throws {
        let tree = try sampleTree()
        let proof = try tree.proveGet(bytes("banana"))
        // Flip each byte of each entry in turn: every change must be caught.
        for entryIndex in proof.entries.indices {
            for byteIndex in proof.entries[entryIndex].indices {
                var tampered = proof
                tampered.entries[entryIndex][byteIndex] ^= 0x40
                #expect(throws: MerkleError.self) {
                    let value = try ProofResponse(proof: tampered).verifyGet(key: bytes("banana"), trustedRoot: tree.hash)
                    // Reaching here is only acceptable if the answer is still the true one,
                    // which flipping a hashed byte cannot give.
                    Issue.record("tampered entry \(entryIndex) byte \(byteIndex) verified with \(String(describing: value))")
                }
            }
        }
        // Dropping or appending entries is caught too.
        var shorter = proof
        shorter.entries.removeLast()
        #expect(throws: MerkleError.self) { try VerifiedProof(shorter, trustedRoot: tree.hash) }
        var longer = proof
        longer.entries.append([MerkleProofTag.pruned] + Hash.empty.bytes)
        #expect(throws: MerkleError.self) { try VerifiedProof(longer, trustedRoot: tree.hash) }
    }

    @Test("a proof checked against the wrong root fails verification")
    func wrongRoot() throws {
        let tree = try sampleTree()
        let other = try tree.applying([WriteLogEntry(key: bytes("banana"), value: bytes("green"))])
        let proof = try tree.proveGet(bytes("banana"))
        #expect(throws: MerkleError.unexpectedRoot(expected: other.hash, claimed: tree.hash)) {
            try VerifiedProof(proof, trustedRoot: other.hash)
        }
        // Claiming the trusted root does not help: the entries hash to the old root.
        var relabelled = proof
        relabelled.untrustedRoot = other.hash
        #expect(throws: MerkleError.rootMismatch(expected: other.hash, computed: tree.hash)) {
            try VerifiedProof(relabelled, trustedRoot: other.hash)
        }
    }

    @Test("a proof does not answer a question it was not made for")
    func incompleteProof() throws {
        let tree = try sampleTree()
        let verified = try VerifiedProof(try tree.proveGet(bytes("banana")), trustedRoot: tree.hash)
        #expect(try verified.get(bytes("banana")) == bytes("yellow"))
        #expect(throws: MerkleError.proofIncomplete) { try verified.get(bytes("apple")) }
        #expect(throws: MerkleError.proofIncomplete) { try verified.iterate(from: [], prefetch: 10) }
    }

    @Test("iterate and prefix proofs verify and give the entries in key order")
    func rangeProofs() throws {
        let tree = try sampleTree()
        let all = try tree.iterate()
        #expect(all.map(\.key) == [[], bytes("app"), bytes("apple"), bytes("applesauce"), bytes("banana"), bytes("cherry")])
        let iterate = ProofResponse(proof: try tree.proveIterate(from: bytes("apq"), prefetch: 2))
        #expect(try iterate.verifyIterate(from: bytes("apq"), prefetch: 2, trustedRoot: tree.hash).map(\.key)
            == [bytes("banana"), bytes("cherry")])
        let prefixes = ProofResponse(proof: try tree.provePrefixes([bytes("apple"), bytes("c")], limit: 0))
        #expect(try prefixes.verifyPrefixes([bytes("apple"), bytes("c")], limit: 0, trustedRoot: tree.hash).map(\.key)
            == [bytes("apple"), bytes("applesauce"), bytes("cherry")])
        let limited = ProofResponse(proof: try tree.provePrefixes([bytes("app")], limit: 2))
        #expect(try limited.verifyPrefixes([bytes("app")], limit: 2, trustedRoot: tree.hash).map(\.key)
            == [bytes("app"), bytes("apple")])
    }

    @Test("an iterate proof with a leaf removed from its range fails verification")
    func rangeProofTampered() throws {
        let tree = try sampleTree()
        let proof = try tree.proveIterate(from: [], prefetch: 10)
        // Replace one revealed leaf by its pruned hash: the root still matches, but the
        // verifier must notice the gap instead of returning a shorter list.
        let index = try #require(proof.entries.firstIndex { $0.first == MerkleProofTag.leaf })
        let node = try #require(try VerifiedProof.rebuild([proof.entries[index]]))
        var pruned = proof
        pruned.entries[index] = [MerkleProofTag.pruned] + node.hash.bytes
        let verified = try VerifiedProof(pruned, trustedRoot: tree.hash)
        #expect(throws: MerkleError.proofIncomplete) { try verified.iterate(from: [], prefetch: 10) }
    }

    @Test("random write logs over many rounds agree with a dictionary model")
    func propertyAgainstModel() throws {
        for seed: UInt64 in [1, 2, 3, 4, 5] {
            var random = RandomWrites(seed: seed)
            var model = DictionaryModel()
            var tree = MerkleTree()
            var history: [(MerkleTree, DictionaryModel)] = [(tree, model)]
            for round in 0..<40 {
                let log = random.writeLog(maxCount: 12)
                try tree.apply(log)
                model.apply(log)
                let context = "seed \(seed) round \(round)"
                // The root is the root of the set, however it was reached.
                let rebuilt = try MerkleTree().applying(model.sorted)
                #expect(tree.hash == rebuilt.hash, "\(context)")
                #expect(try tree.iterate() == model.sorted, "\(context)")
                for _ in 0..<4 {
                    let key = random.key()
                    let got = try ProofResponse(proof: tree.proveGet(key)).verifyGet(key: key, trustedRoot: tree.hash)
                    #expect(got == model.entries[key], "\(context) get \(key)")

                    let start = random.key()
                    let prefetch = UInt16(random.int(0...5))
                    let iterated = try ProofResponse(proof: tree.proveIterate(from: start, prefetch: prefetch))
                        .verifyIterate(from: start, prefetch: prefetch, trustedRoot: tree.hash)
                    #expect(iterated == model.iterate(from: start, count: max(1, Int(prefetch))), "\(context) iterate \(start)")

                    let prefixes = (0..<random.int(1...3)).map { _ in Array(random.key().prefix(2)) }
                    let limit = UInt16(random.int(0...4))
                    let found = try ProofResponse(proof: tree.provePrefixes(prefixes, limit: limit))
                        .verifyPrefixes(prefixes, limit: limit, trustedRoot: tree.hash)
                    #expect(found == model.prefixes(prefixes, limit: Int(limit)), "\(context) prefixes \(prefixes)")
                }
                let (past, pastModel) = history[random.int(0...(history.count - 1))]
                #expect(try past.diff(to: tree) == pastModel.diff(to: model), "\(context) diff")
                let offset = random.key()
                let limit = random.int(0...3)
                let expected = pastModel.diff(to: model).filter { !$0.key.lexicographicallyPrecedes(offset) }
                #expect(try past.diff(to: tree, offsetKey: offset, limit: limit)
                    == Array(expected.prefix(limit == 0 ? .max : limit)), "\(context) diff from \(offset) limit \(limit)")
                history.append((tree, model))
            }
        }
    }
}

@Suite("Merkle trie depth")
struct MerkleTreeDepthTests {
    @Test("keys that each extend the previous one build a trie at the depth limit that still applies, proves and diffs")
    func deepTrie() async throws {
        let count = MerkleTree.maxDepth + 1  // the longest key's leaf sits maxDepth deep
        let log = (1...count).map { WriteLogEntry(key: [UInt8](repeating: 0x61, count: $0), value: [UInt8(truncatingIfNeeded: $0)]) }
        let tree = try MerkleTree().applying(log)
        let key = [UInt8](repeating: 0x61, count: count / 2)
        #expect(try ProofResponse(proof: tree.proveGet(key)).verifyGet(key: key, trustedRoot: tree.hash) == [UInt8(truncatingIfNeeded: count / 2)])
        let changed = try tree.applying([WriteLogEntry(key: [0x61], value: []), WriteLogEntry(key: [0x62], value: [1])])
        #expect(try tree.diff(to: changed) == [WriteLogEntry(key: [0x61], value: []), WriteLogEntry(key: [0x62], value: [1])])
        #expect(try changed.iterate().count == count)
        // One level more is refused.
        let longer = [UInt8](repeating: 0x61, count: count + 1)
        #expect(throws: MerkleError.tooDeep(limit: MerkleTree.maxDepth)) {
            try tree.applying([WriteLogEntry(key: longer, value: [1])])
        }
    }
}

/// A node store in a dictionary that counts how many nodes were read from it.
final class CountingNodeStore: MerkleNodeSource {
    var records: [Hash: MerkleNode.Record] = [:]
    var reads = 0

    /// Stores every in-memory node of `tree`; returns the tree as a stored root.
    func store(_ tree: MerkleTree) -> MerkleTree {
        tree.forEachNodeInMemory { node in
            guard records[node.hash] == nil, let record = node.record else { return false }
            records[node.hash] = record
            return true
        }
        return MerkleTree(storedRoot: tree.hash)
    }

    func node(_ hash: Hash) throws -> MerkleNode {
        reads += 1
        guard let record = records[hash] else { throw MerkleError.missingNode(hash) }
        return MerkleNode(record: record)
    }

    /// The number of nodes on the longest root-to-leaf path.
    func height(_ hash: Hash) -> Int {
        guard case .branch(_, let left, let right)? = records[hash] else { return 1 }
        return 1 + max(height(left), height(right))
    }
}

@Suite("Merkle trie incremental update")
struct MerkleTreeIncrementalTests {
    @Test("applying a few changes to a large stored tree reads and writes only the changed paths")
    func incrementalApply() throws {
        var generator = SeededGenerator(seed: 11)
        let size = 4000
        let log = (0..<size).map { _ in
            WriteLogEntry(key: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }, value: [1, 2, 3])
        }
        let store = CountingNodeStore()
        let stored = store.store(try MerkleTree().applying(log))
        #expect(store.records.count == 2 * size - 1)
        let height = store.height(stored.hash)

        let changes: WriteLog = [
            WriteLogEntry(key: log[10].key, value: [9]),  // update
            WriteLogEntry(key: log[20].key, value: []),  // delete
            WriteLogEntry(key: Array(log[30].key.prefix(31)), value: [7]),  // insert next to a key
            WriteLogEntry(key: [0x00], value: [8]),  // insert at the edge
        ]
        store.reads = 0
        let updated = try stored.applying(changes, nodes: store)
        var created = 0
        updated.forEachNodeInMemory { _ in
            created += 1
            return true
        }
        #expect(store.reads <= changes.count * height, "read \(store.reads) nodes for height \(height)")
        #expect(created <= changes.count * (height + 1), "made \(created) nodes for height \(height)")
        #expect(store.reads < size / 20)

        var model = DictionaryModel()
        model.apply(log)
        model.apply(changes)
        #expect(updated.hash == (try MerkleTree().applying(model.sorted)).hash)
        #expect(try updated.get(log[10].key, nodes: store) == [9])
        #expect(try updated.get(log[20].key, nodes: store) == nil)
    }
}

@Suite("Merkle trie from proofs")
struct ProvenNodesTests {
    @Test("a write log applies to a tree known only through get proofs of its keys")
    func applyFromProofs() throws {
        var random = RandomWrites(seed: 31)
        var full = MerkleTree()
        for _ in 0..<20 { try full.apply(random.writeLog(maxCount: 20)) }
        for _ in 0..<10 {
            let log = random.writeLog(maxCount: 10)
            var nodes = ProvenNodes()
            for entry in log {
                nodes.insert(try VerifiedProof(full.proveGet(entry.key), trustedRoot: full.hash))
            }
            let remote = try MerkleTree(storedRoot: full.hash).applying(log, nodes: nodes)
            full = try full.applying(log)
            #expect(remote.hash == full.hash)
        }
        // Without a proof for a written key, applying fails instead of guessing.
        try #require(full.hash != .empty)
        #expect(throws: MerkleError.proofIncomplete) {
            try MerkleTree(storedRoot: full.hash).applying([WriteLogEntry(key: bytes("not written"), value: [1])], nodes: ProvenNodes())
        }
    }
}
