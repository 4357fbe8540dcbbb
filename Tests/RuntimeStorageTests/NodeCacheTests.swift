import ConsensusAPI
import Foundation
import Logging
import OasisCommon
import RuntimeStorage
import Testing

@testable import RuntimeStorageSQLite

@Suite("SQLite storage node cache")
struct NodeCacheTests {
    func leaf(_ key: String) -> MerkleNode {
        MerkleNode(record: .leaf(key: Array(key.utf8), value: [1]))
    }

    @Test("repeated reads of a root are answered from the cache; a pruned root is still refused")
    func repeatedReads() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backend = try SQLiteStorageBackend(directory: directory, runtime: runtimeA, logger: Logger(label: "cache"))
        var random = RandomWrites(seed: 3)
        var model = DictionaryModel()
        var roots: [Hash] = [.empty]
        for round in 1...3 {
            let log = random.writeLog(maxCount: 20) + [WriteLogEntry(key: bytes("r"), value: bytes("\(round)"))]
            model.apply(log)
            let hash = try MerkleTree().applying(model.sorted).hash
            _ = try await backend.apply(ApplyRequest(
                namespace: runtimeA, rootType: .state, srcRound: UInt64(round - 1), srcRoot: roots.last!,
                dstRound: UInt64(round), dstRoot: hash, writeLog: log))
            roots.append(hash)
        }
        let root = StorageRoot(namespace: runtimeA, version: 3, type: .state, hash: roots[3])
        #expect(try await backend.entries(at: root) == model.sorted)
        let first = backend.nodeCache.statistics
        #expect(try await backend.entries(at: root) == model.sorted)
        let second = backend.nodeCache.statistics
        #expect(second.misses == first.misses, "the second read loaded nodes from the database")
        #expect(second.hits > first.hits)

        // Round 1's nodes may sit in the cache after pruning; its root is refused all the same.
        let old = StorageRoot(namespace: runtimeA, version: 1, type: .state, hash: roots[1])
        _ = try await backend.entries(at: old)
        _ = try await backend.prune(before: 3)
        await #expect(throws: StorageBackendError.rootNotFound(old)) { try await backend.entries(at: old) }
        #expect(try await backend.entries(at: root) == model.sorted)
        await backend.cleanup()
    }

    @Test("two generations: a full young generation becomes the old one, and a hit in the old one is kept")
    func generations() {
        let cache = NodeCache(capacity: 2)
        let (a, b, c, d) = (leaf("a"), leaf("b"), leaf("c"), leaf("d"))
        cache.insert(a)
        cache.insert(b)  // young {a, b} is full: it becomes old
        cache.insert(c)  // young {c}
        #expect(cache.node(a.hash) === a)  // promoted: young {c, a} is full: old {c, a}
        cache.insert(d)  // young {d}; b is gone with the old old generation
        #expect(cache.node(b.hash) == nil)
        #expect(cache.node(c.hash) === c)
        #expect(cache.node(d.hash) === d)
        #expect(cache.statistics.hits == 3)
        #expect(cache.statistics.misses == 1)
    }

    @Test("a sharded cache finds what it holds, counts over every shard, keeps at most twice its capacity, and bounds each shard by its share")
    func shards() {
        let cache = NodeCache(capacity: 16, shards: 16)
        let leaves = (0..<1000).map { leaf("key \($0)") }
        for leaf in leaves { cache.insert(leaf) }
        let kept = leaves.filter { cache.node($0.hash) != nil }
        // Each shard keeps its share: 1 node per generation, 2 in all; 32 over the 16 shards.
        #expect(kept.count <= 32)
        #expect(kept.contains { $0 === leaves.last })
        #expect(cache.statistics.hits + cache.statistics.misses == 1000)
        #expect(cache.statistics.hits == kept.count)

        // Each shard has its own share: a second node in a shard pushes out the first, while
        // nodes in the other shards stay (one cache of 16 would keep both).
        let tight = NodeCache(capacity: 16, shards: 16)
        let first = leaves[0]
        let sameShard = leaves.dropFirst().first { $0.hash.raw.firstByte % 16 == first.hash.raw.firstByte % 16 }!
        let otherShard = leaves.first { $0.hash.raw.firstByte % 16 != first.hash.raw.firstByte % 16 }!
        tight.insert(first)
        tight.insert(otherShard)
        tight.insert(sameShard)
        #expect(tight.node(first.hash) == nil)
        #expect(tight.node(sameShard.hash) === sameShard)
        #expect(tight.node(otherShard.hash) === otherShard)

        // A leaf over one shard's share of the bytes is not kept.
        let small = NodeCache(capacity: 64, byteCapacity: 16 * 1000, shards: 16)
        let large = MerkleNode(record: .leaf(key: Array("large".utf8), value: [UInt8](repeating: 1, count: 2000)))
        small.insert(large)
        #expect(small.node(large.hash) == nil)

        let roomy = NodeCache(capacity: NodeCache.defaultCapacity, shards: NodeCache.defaultShards)
        for leaf in leaves.prefix(64) { roomy.insert(leaf) }
        #expect(leaves.prefix(64).allSatisfy { roomy.node($0.hash) === $0 })
        #expect(roomy.statistics.hits == 64)
    }

    @Test("large values fill a generation by bytes: the cache keeps a few MiB, not 8,192 values")
    func boundedBytes() {
        let cache = NodeCache(capacity: NodeCache.defaultCapacity)
        // One 1 MiB buffer shared by every leaf: the test itself stays small.
        let value = [UInt8](repeating: 0x5a, count: 1 << 20)
        let leaves = (0..<64).map { MerkleNode(record: .leaf(key: Array("big \($0)".utf8), value: value)) }
        for leaf in leaves { cache.insert(leaf) }
        let kept = leaves.filter { cache.node($0.hash) != nil }
        // Two generations of at most 8 MiB each; before, all 64 MiB stayed (up to 8,192 values).
        #expect(kept.count * value.count <= 16 << 20)
        #expect(kept.contains { $0 === leaves.last })

        // A leaf larger than a whole generation is not kept, and does not push the others out.
        let small = leaf("small")
        cache.insert(small)
        cache.insert(MerkleNode(record: .leaf(key: Array("huge".utf8), value: [UInt8](repeating: 1, count: 9 << 20))))
        #expect(cache.node(small.hash) === small)
    }

    @Test("a direct read of a tree gives what verified SyncIterate pages give; an unknown root is refused the same way")
    func directEntries() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backend = try SQLiteStorageBackend(directory: directory, runtime: runtimeA, logger: Logger(label: "direct"))
        var random = RandomWrites(seed: 23)
        var model = DictionaryModel()
        var previous = Hash.empty
        for round in 1...5 {
            let log = random.writeLog(maxCount: 30)
            model.apply(log)
            let hash = try MerkleTree().applying(model.sorted).hash
            _ = try await backend.apply(ApplyRequest(
                namespace: runtimeA, rootType: .io, srcRound: UInt64(round), srcRoot: .empty,
                dstRound: UInt64(round), dstRoot: hash, writeLog: model.sorted))
            let root = StorageRoot(namespace: runtimeA, version: UInt64(round), type: .io, hash: hash)
            #expect(try await backend.directEntries(at: root) == model.sorted)
            #expect(try await backend.directEntries(at: root) == (try await backend.entries(at: root, pageSize: 7)))
            previous = hash
        }
        let unknown = StorageRoot(namespace: runtimeA, version: 9, type: .io, hash: Hash.digest(Array("nowhere".utf8)))
        await #expect(throws: StorageBackendError.rootNotFound(unknown)) { try await backend.directEntries(at: unknown) }
        let wrongType = StorageRoot(namespace: runtimeA, version: 5, type: .state, hash: previous)
        await #expect(throws: StorageBackendError.rootNotFound(wrongType)) { try await backend.directEntries(at: wrongType) }
        await backend.cleanup()
    }
}
