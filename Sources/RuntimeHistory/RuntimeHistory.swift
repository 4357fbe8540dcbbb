public import ConsensusAPI
import Foundation
public import Logging
import OasisCBOR
public import OasisCommon

/// The block history of one runtime, kept in `history.sqlite` in the runtime's state
/// directory (oasis-core's `go/runtime/history`).
///
/// Each committed round is one row holding the CBOR `AnnotatedBlock` and CBOR `RoundResults`;
/// bookkeeping (last round, last consensus height) is updated in the same transaction. The
/// file is a GRDB `DatabasePool` in WAL mode with `synchronous=FULL`: every commit is fsynced
/// before `commit` returns, so a committed round survives `kill -9` and power loss alike (as
/// badger's sync writes did in v21.1), and readers never wait for a commit.
///
/// Safe to use from many tasks. Commits are serialized; point lookups run synchronously on
/// dedicated read-only connections, in parallel with commits (docs/HISTORY.md).
public final class RuntimeHistory: BlockHistory {
    /// The database file name inside the runtime's state directory.
    public static let fileName = "history.sqlite"
    /// The schema version this code writes; a file with another version is refused.
    public static let schemaVersion = UInt64(HistoryStore.schemaVersion)

    /// The runtime this history belongs to (checked against the file on open).
    public let runtimeID: Namespace
    /// The database file.
    public var path: String { store.path }
    /// The pruner; run it as a `Service` to prune on its interval.
    public let pruner: HistoryPruner

    private let store: HistoryStore
    private let blocks = Broadcaster<AnnotatedBlock>(replayLast: true)
    private let logger: Logger
    private static let decoder = CBORDecoder(options: .trusted)

    /// Opens (creating if needed) the history of `runtimeID` in `directory`.
    ///
    /// - Parameters:
    ///   - directory: the runtime's state directory; it must exist.
    ///   - clock: drives the pruner's interval.
    /// - Throws: `HistoryError.open` when the file cannot be opened or belongs to another
    ///   runtime or schema version; `HistoryError.invalidConfiguration` for a bad configuration.
    public init(
        directory: String, runtimeID: Namespace, configuration: HistoryConfiguration = HistoryConfiguration(),
        clock: any Clock<Duration> = ContinuousClock(), logger: Logger
    ) throws {
        try configuration.validate()
        var logger = logger
        logger[metadataKey: "runtime.id"] = "\(runtimeID)"
        self.logger = logger
        self.runtimeID = runtimeID
        store = try HistoryStore(directory: directory, fileName: Self.fileName, runtimeID: runtimeID)
        pruner = HistoryPruner(store: store, configuration: configuration, clock: clock, logger: logger)
        // Watchers get the latest block on subscription, also right after a restart.
        if let latest = try? Self.syncLatest(store) { blocks.publish(latest) }
        logger.debug("opened runtime history", metadata: ["history.path": "\(store.path)"])
    }

    /// Records `block` and `roundResults` in one transaction (v21.1 `Commit`).
    ///
    /// Fails, without writing anything, when:
    /// 1. the block's namespace is not this runtime (`runtimeMismatch`);
    /// 2. its consensus height is below the last recorded one (`commitAtLowerConsensusHeight`;
    ///    an equal height is allowed);
    /// 3. its round is not above the last round **and the last consensus height is not 0**
    ///    (`commitAtLowerRound`). While the last height is still 0, a duplicate or lower round is
    ///    accepted, overwrites that round and becomes the latest — v21.1's behaviour, kept on
    ///    purpose (docs/HISTORY.md). Real consensus heights start at 1, so only tests meet it.
    ///
    /// On success the last round becomes the block's round, the last height grows to the
    /// block's height, the data is on disk, and watchers receive the block.
    public func commit(_ block: AnnotatedBlock, roundResults: RoundResults?) async throws {
        try await commit([HistoryCommit(block: block, roundResults: roundResults)])
    }

    /// Records several rounds, in order, in one transaction: each must pass the rules of
    /// ``commit(_:roundResults:)`` as if committed alone after the ones before it, and a refusal
    /// commits none of them. One fsync for the whole batch, for catching up.
    public func commit(_ batch: [HistoryCommit]) async throws {
        guard !batch.isEmpty else { return }
        let encoder = CBOREncoder()  // for round results, which are small
        var rounds: [HistoryStore.EncodedRound] = []
        rounds.reserveCapacity(batch.count)
        for entry in batch {
            guard let inner = entry.block.block else {
                throw HistoryError.missingBlock(consensusHeight: entry.block.consensusHeight)
            }
            guard inner.header.namespace == runtimeID else {
                throw HistoryError.runtimeMismatch(expected: runtimeID, got: inner.header.namespace)
            }
            rounds.append(HistoryStore.EncodedRound(
                round: inner.header.round, height: entry.block.consensusHeight,
                block: Data(AnnotatedBlockCodec.encode(entry.block)),
                results: try entry.roundResults.map { Data(try encoder.encode($0)) }))
        }
        let blocks = self.blocks
        try await store.commit(rounds) {
            for entry in batch { blocks.publish(entry.block) }
        }
    }

    /// Records that consensus reached `height` (v21.1 `ConsensusCheckpoint`). A height below
    /// the last recorded one fails with `checkpointAtLowerHeight`; an equal one is allowed.
    public func consensusCheckpoint(_ height: Int64) async throws {
        try await store.checkpoint(height)
    }

    public func lastConsensusHeight() async throws -> Int64 {
        try store.state().lastConsensusHeight
    }

    /// The bookkeeping record, in v21.1's `dbMetadata` shape.
    public func metadata() async throws -> HistoryMetadata {
        let state = try store.state()
        return HistoryMetadata(
            version: Self.schemaVersion, runtimeID: runtimeID, lastConsensusHeight: state.lastConsensusHeight,
            lastRound: state.lastRound)
    }

    public func block(round: UInt64) async throws -> Block {
        try await annotatedBlock(round: round).block!
    }

    public func latestBlock() async throws -> Block {
        try await latestAnnotatedBlock().block!
    }

    public func annotatedBlock(round: UInt64) async throws -> AnnotatedBlock {
        try Task.checkCancellation()
        guard let bytes = try store.blockBytes(round: round) else { throw RoothashErrors.notFound }
        return try Self.decodeBlock(bytes, round: round)
    }

    /// On an empty history there is no latest block: `RoothashErrors.notFound`.
    ///
    /// Served from memory: the watch's replayed value *is* the latest committed block, since it
    /// is seeded from the file on open and replaced on the writer queue right after each commit
    /// (this process is the file's only writer, and pruning never removes the latest block).
    public func latestAnnotatedBlock() async throws -> AnnotatedBlock {
        try Task.checkCancellation()
        if store.isClosed { throw HistoryError.closed }
        if let latest = blocks.latest { return latest }
        guard let latest = try store.latestBlockBytes() else { throw RoothashErrors.notFound }
        return try Self.decodeBlock(latest.bytes, round: latest.round)
    }

    public func roundResults(round: UInt64) async throws -> RoundResults? {
        try Task.checkCancellation()
        switch try store.resultsBytes(round: round) {
        case .none:
            throw RoothashErrors.notFound
        case .some(.none):
            return nil
        case .some(.some(let bytes)):
            do {
                return try Self.decoder.decode(RoundResults.self, from: bytes)
            } catch {
                throw HistoryError.corrupted(round: round, reason: "round results: \(error)")
            }
        }
    }

    public func annotatedBlocks(after round: UInt64?, limit: Int) async throws -> [AnnotatedBlock] {
        try Task.checkCancellation()
        guard limit > 0 else { return [] }
        return try await store.blocksBytes(after: round, limit: limit).map { try Self.decodeBlock($0.bytes, round: $0.round) }
    }

    public func watchBlocks() -> AsyncStream<AnnotatedBlock> {
        blocks.subscribe()
    }

    /// Closes the database and ends every watch. Idempotent. Stop the pruner service first;
    /// a pass still running fails with `HistoryError.closed`.
    public func close() {
        blocks.finish()
        do {
            try store.close()
        } catch {
            logger.error("closing the runtime history failed", metadata: ["error": "\(error)"])
        }
    }

    /// The writer's `PRAGMA synchronous`, for tests.
    func writerSynchronous() throws -> Int { try store.writerSynchronous() }

    private static func decodeBlock(_ bytes: [UInt8], round: UInt64) throws -> AnnotatedBlock {
        let annotated: AnnotatedBlock
        if let fast = AnnotatedBlockCodec.decode(bytes) {
            annotated = fast
        } else {
            do {
                annotated = try decoder.decode(AnnotatedBlock.self, from: bytes)
            } catch {
                throw HistoryError.corrupted(round: round, reason: "annotated block: \(error)")
            }
        }
        guard let block = annotated.block else {
            throw HistoryError.corrupted(round: round, reason: "annotated block without a block")
        }
        // A block is stored under its own round; one under another round would move readers
        // that follow rounds (the tag indexer's watermark, catch-up) to the wrong place.
        guard block.header.round == round else {
            throw HistoryError.corrupted(round: round, reason: "the block stored for it is of round \(block.header.round)")
        }
        return annotated
    }

    /// The latest block, read synchronously while opening, with the checks of every read: a
    /// damaged one is not served from memory, so reading it reports the damage.
    private static func syncLatest(_ store: HistoryStore) throws -> AnnotatedBlock? {
        guard let latest = try store.latestBlockBytes() else { return nil }
        return try decodeBlock(latest.bytes, round: latest.round)
    }
}
