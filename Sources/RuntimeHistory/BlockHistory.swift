public import ConsensusAPI
public import OasisCommon

/// A runtime's block history (oasis-core's `roothash.BlockHistory` plus `history.History`):
/// the blocks consensus finalized for one runtime, with the results of each round.
///
/// ``RuntimeHistory`` keeps it in SQLite; ``NopHistory`` supports nothing. A missing block or
/// round answers `RoothashErrors.notFound`; every read checks task cancellation first.
public protocol BlockHistory: Sendable {
    /// The runtime this history belongs to.
    var runtimeID: Namespace { get }

    /// Records a finalized block and its round results in one transaction. Blocks must come in
    /// round order; see ``RuntimeHistory/commit(_:roundResults:)`` for the exact rules.
    func commit(_ block: AnnotatedBlock, roundResults: RoundResults?) async throws

    /// Records several rounds in order in one transaction; all or none.
    func commit(_ batch: [HistoryCommit]) async throws

    /// Records that consensus reached `height` without a block for this runtime.
    func consensusCheckpoint(_ height: Int64) async throws

    /// The last consensus height recorded by a commit or a checkpoint; 0 when fresh.
    func lastConsensusHeight() async throws -> Int64

    /// The block of `round`.
    func block(round: UInt64) async throws -> Block

    /// The latest committed block.
    func latestBlock() async throws -> Block

    /// The block of `round` with the consensus height that finalized it.
    func annotatedBlock(round: UInt64) async throws -> AnnotatedBlock

    /// The latest committed block with its consensus height.
    func latestAnnotatedBlock() async throws -> AnnotatedBlock

    /// The results of `round`; `nil` when the commit carried none.
    func roundResults(round: UInt64) async throws -> RoundResults?

    /// Up to `limit` stored blocks with rounds above `round` (all rounds when `nil`), in
    /// ascending round order. Used to catch up after downtime.
    func annotatedBlocks(after round: UInt64?, limit: Int) async throws -> [AnnotatedBlock]

    /// Every block committed from now on, in commit order. A new subscriber first receives the
    /// latest block, as roothash's `WatchBlocks` does. The stream ends when the history closes;
    /// ending the consumer's task ends the subscription.
    func watchBlocks() -> AsyncStream<AnnotatedBlock>

    /// The pruner of this history; run it as a service to prune on its interval.
    var pruner: HistoryPruner { get }

    /// Closes the history. Idempotent; later calls fail with `HistoryError.closed`.
    func close()
}

/// One round for ``BlockHistory/commit(_:)``: a finalized block and its round results.
public struct HistoryCommit: Hashable, Sendable {
    /// The finalized block with its consensus height.
    public var block: AnnotatedBlock
    /// What consensus recorded about the round; `nil` when unknown.
    public var roundResults: RoundResults?

    /// A round to commit.
    public init(block: AnnotatedBlock, roundResults: RoundResults?) {
        self.block = block
        self.roundResults = roundResults
    }
}

extension BlockHistory {
    /// The latest committed block's round.
    public func latestRound() async throws -> UInt64 {
        try await latestBlock().header.round
    }
}
