public import ConsensusAPI
public import OasisCommon

/// A runtime's storage, in the method set of oasis-core v21.1's `storage.Backend` (core.md §8.1).
///
/// Every read answers with a proof against the root it names (``VerifiedProof`` checks one);
/// writes apply write logs from one root to the next. Implementations are safe to call from
/// many tasks at once.
public protocol StorageBackend: Sendable {
    /// A proof of one key's value or absence (`SyncGet`).
    func syncGet(_ request: SyncGetRequest) async throws -> ProofResponse
    /// A proof of the entries under some prefixes (`SyncGetPrefixes`).
    func syncGetPrefixes(_ request: SyncGetPrefixesRequest) async throws -> ProofResponse
    /// A proof of the entries from a key on (`SyncIterate`).
    func syncIterate(_ request: SyncIterateRequest) async throws -> ProofResponse
    /// The checkpoints of a runtime (`GetCheckpoints`).
    func getCheckpoints(_ request: GetCheckpointsRequest) async throws -> [CheckpointMetadata]
    /// Writes one checkpoint chunk through `write` (`GetCheckpointChunk`).
    func getCheckpointChunk(_ chunk: ChunkMetadata, to write: @Sendable ([UInt8]) async throws -> Void) async throws
    /// Applies one write log and vouches for the resulting root (`Apply`).
    func apply(_ request: ApplyRequest) async throws -> [Receipt]
    /// Applies several write logs into one round, all or none (`ApplyBatch`).
    func applyBatch(_ request: ApplyBatchRequest) async throws -> [Receipt]
    /// The write log from one root to another (`GetDiff`).
    func getDiff(_ request: GetDiffRequest) async throws -> WriteLog
    /// Releases the backend's resources; later calls fail (`Cleanup`).
    func cleanup() async
    /// Returns once the backend can serve requests (`Initialized`); throws when the calling
    /// task is cancelled first.
    func initialized() async throws
}

extension StorageBackend {
    /// Every entry of the tree at `root` from `start` on, read in verified pages of `pageSize`
    /// through ``syncIterate(_:)``: what a reader of a whole I/O tree (the tag indexer) wants.
    public func entries(at root: StorageRoot, from start: [UInt8] = [], pageSize: UInt16 = 512) async throws
        -> [WriteLogEntry]
    {
        var out: [WriteLogEntry] = []
        var next = start
        let size = max(pageSize, 1)
        while true {
            let request = SyncIterateRequest(tree: TreeID(root: root, position: root.hash), key: next, prefetch: size)
            let page = try await syncIterate(request).verify(request)
            out.append(contentsOf: page)
            guard page.count == Int(size), let last = page.last else { return out }
            // The smallest key after `last`.
            next = last.key + [0]
        }
    }
}

/// A storage backend that can drop old versions: what a node with a history pruner uses to
/// keep its storage as bounded as its history (oasis-core's storage prune handler on the
/// history pruner).
public protocol PrunableStorageBackend: StorageBackend {
    /// Drops the versions the rounds from `round` on no longer need: for each root type, every
    /// root older than the newest one at or below `round` (that one stays, since a block at
    /// `round` with no apply of its own, such as an epoch transition, carries it forward), and
    /// every node no kept root reaches. Roots at later rounds are untouched, and so are the
    /// rows of the hashes in `keeping`, whatever their round: the roots the oldest kept block
    /// names, which need not be the newest at or below its round (an apply stored under the
    /// round its block was expected at can be finalized one round later, behind an epoch
    /// transition that carries the previous root).
    func prune(before round: UInt64, keeping: Set<Hash>) async throws -> StoragePruneReport
}

extension PrunableStorageBackend {
    /// ``prune(before:keeping:)`` keeping nothing beyond the rule on rounds.
    public func prune(before round: UInt64) async throws -> StoragePruneReport {
        try await prune(before: round, keeping: [])
    }
}

/// What one ``PrunableStorageBackend/prune(before:keeping:)`` removed.
public struct StoragePruneReport: Sendable, Hashable {
    /// Root rows removed (a root hash named at several rounds counts once per round).
    public var roots: Int
    /// Trie nodes removed.
    public var nodes: Int
    /// Write transactions it took (a backend may bound the work of each).
    public var transactions: Int

    /// A report.
    public init(roots: Int = 0, nodes: Int = 0, transactions: Int = 0) {
        self.roots = roots
        self.nodes = nodes
        self.transactions = transactions
    }
}

/// A backend whose data lives in this process, so that the node's own readers can read a whole
/// tree without the proofs a remote reader needs: the tag indexer reading a round's I/O tree.
public protocol DirectlyReadableStorage: StorageBackend {
    /// Every entry of the tree at `root`, in key order, read without building a proof; fails
    /// like a read with a proof (`storage: root not found` for an unknown root).
    func directEntries(at root: StorageRoot) async throws -> [WriteLogEntry]
}
