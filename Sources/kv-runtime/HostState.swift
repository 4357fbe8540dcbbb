import ConsensusAPI
import OasisCommon
import RuntimeHostProtocol
import RuntimeStorage
import Synchronization

/// Sends a storage read to the host and returns its answer (`HostStorageSyncRequest`).
protocol HostStorageSyncing: Sendable {
    /// The host's answer to `request`; throws when the host answers with an error.
    func sync(_ request: HostStorageSyncRequest) async throws -> HostStorageSyncResponse
}

/// The host at the other end of the runtime's RHP connection.
///
/// The connection is made with the handler that reads state through this link, so the link is
/// attached after connecting and before the connection becomes Ready (no request reaches the
/// handler earlier).
final class HostLink: HostStorageSyncing {
    private let connection = Mutex<Connection?>(nil)

    init() {}

    /// Sends later reads over `connection`.
    func attach(_ connection: Connection) {
        self.connection.withLock { $0 = connection }
    }

    func sync(_ request: HostStorageSyncRequest) async throws -> HostStorageSyncResponse {
        guard let connection = connection.withLock({ $0 }) else {
            throw KVHandler.dispatcherError("no connection to the host")
        }
        let answer = try await connection.call(.hostStorageSyncRequest(request))
        guard case .hostStorageSyncResponse(let response) = answer else {
            throw KVHandler.dispatcherError("host answered a storage sync request with \(answer.kind)")
        }
        return response
    }
}

/// State read through the host and checked against the block's roots.
///
/// Every read is a `SyncGet` on endpoint 0 (runtime state) for the tree
/// `{root: {ns, version: round, root_type: state, hash}, position: hash}`; its proof is verified
/// against that trusted root before its answer is used, and a proof that fails is refused with a
/// `dispatcher`/1 error naming the key. The new state root after a batch is computed from the
/// verified get proofs of the written keys (`ProvenNodes`): applying a write log reads only the
/// paths to those keys. Verified proofs are kept for the roots read last, so a batch fetches
/// each key once even though it both reads and writes it.
struct HostState: KVStateAccess {
    private let host: any HostStorageSyncing
    private let cache = ProofCache()

    init(host: any HostStorageSyncing) {
        self.host = host
    }

    func value(of key: [UInt8], at root: StorageRoot) async throws -> [UInt8]? {
        try await proof(of: key, at: root).value
    }

    func stateRoot(after writeLog: WriteLog, on root: StorageRoot) async throws -> Hash {
        var nodes = ProvenNodes()
        for entry in writeLog {
            nodes.insert(try await proof(of: entry.key, at: root).proof)
        }
        do {
            return try MerkleTree(storedRoot: root.hash).applying(writeLog, nodes: nodes).hash
        } catch {
            throw KVHandler.dispatcherError("cannot compute the new state root on \(root.hash): \(error)")
        }
    }

    func ioRoot(of writeLog: WriteLog) throws -> Hash {
        try MerkleTree().applying(writeLog).hash
    }

    /// How many reads a prefetch keeps in flight.
    static let prefetchWidth = 32

    /// Fetches the proofs of `keys` under `root` with up to ``prefetchWidth`` reads in flight, so
    /// a batch waits for about one round trip to the host instead of one per key. A read that
    /// fails is not cached: the batch reads that key again and fails with the read's own error.
    func prefetch(_ keys: [[UInt8]], at root: StorageRoot) async {
        var seen = Set<[UInt8]>()
        let missing = keys.filter { seen.insert($0).inserted && cache.entry(root: root.hash, key: $0) == nil }
            .prefix(ProofCache.keyLimit)
        guard missing.count > 1 else { return }
        await withTaskGroup(of: Void.self) { group in
            var pending = missing.makeIterator()
            for _ in 0..<Self.prefetchWidth {
                guard let key = pending.next() else { break }
                group.addTask { _ = try? await proof(of: key, at: root) }
            }
            while await group.next() != nil {
                guard let key = pending.next() else { continue }
                group.addTask { _ = try? await proof(of: key, at: root) }
            }
        }
    }

    /// The verified get proof of `key` under `root`, from the cache or the host.
    private func proof(of key: [UInt8], at root: StorageRoot) async throws -> ProofCache.Entry {
        if let cached = cache.entry(root: root.hash, key: key) { return cached }
        let request = SyncGetRequest(tree: TreeID(root: root, position: root.hash), key: key)
        let response: HostStorageSyncResponse
        do {
            response = try await host.sync(HostStorageSyncRequest(endpoint: .runtime, operation: .get(request)))
        } catch {
            throw KVHandler.dispatcherError("state read of key \(Self.describe(key)) failed: \(error)")
        }
        let entry: ProofCache.Entry
        do {
            let proof = try VerifiedProof(response.proofResponse.proof, trustedRoot: root.hash)
            // Answering the query on the proof also checks that the proof covers the key.
            entry = ProofCache.Entry(
                proof: proof, value: try proof.get(key),
                size: key.count + response.proofResponse.proof.entries.reduce(0) { $0 + $1.count })
        } catch {
            throw KVHandler.dispatcherError(
                "state proof for key \(Self.describe(key)) does not verify against root \(root.hash): \(error)")
        }
        cache.insert(entry, root: root.hash, key: key)
        return entry
    }

    /// A key as text when it is UTF-8 (this runtime's keys are), else as hex.
    static func describe(_ key: [UInt8]) -> String {
        if let text = String(validating: key, as: UTF8.self) { return "\"\(text)\"" }
        let digits = Array("0123456789abcdef")
        return "0x" + String(key.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] })
    }
}

/// Verified get proofs for the few roots read last. A proof checked against a root stays true
/// for that root, so a cached answer is as good as a fresh one.
final class ProofCache: Sendable {
    /// A verified proof and the value it shows for its key.
    struct Entry: Sendable {
        let proof: VerifiedProof
        let value: [UInt8]?
        /// About the memory it holds: its key and the proof's bytes (which hold the value).
        let size: Int
    }

    /// Roots kept, and keys kept per root: enough for a batch and concurrent queries.
    static let rootLimit = 4
    static let keyLimit = 16_384
    /// Bytes kept per root (``Entry/size``): with large values the key limit alone would let
    /// the cache grow to gigabytes.
    static let byteLimit = 64 << 20

    private struct Roots {
        var order: [Hash] = []
        var entries: [Hash: [[UInt8]: Entry]] = [:]
        var bytes: [Hash: Int] = [:]
    }

    private let roots = Mutex(Roots())

    func entry(root: Hash, key: [UInt8]) -> Entry? {
        roots.withLock { $0.entries[root]?[key] }
    }

    func insert(_ entry: Entry, root: Hash, key: [UInt8]) {
        roots.withLock { roots in
            if roots.entries[root] == nil {
                roots.order.append(root)
                roots.entries[root] = [:]
                if roots.order.count > Self.rootLimit {
                    let evicted = roots.order.removeFirst()
                    roots.entries[evicted] = nil
                    roots.bytes[evicted] = nil
                }
            }
            let bytes = roots.bytes[root, default: 0]
            guard roots.entries[root, default: [:]].count < Self.keyLimit, bytes + entry.size <= Self.byteLimit,
                roots.entries[root]?[key] == nil
            else { return }
            roots.entries[root]?[key] = entry
            roots.bytes[root] = bytes + entry.size
        }
    }
}
