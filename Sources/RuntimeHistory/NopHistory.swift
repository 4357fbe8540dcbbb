public import ConsensusAPI
public import Logging
public import OasisCommon

/// A history that keeps nothing (oasis-core's `history.NewNop`): every operation but
/// ``runtimeID`` fails with `HistoryError.notSupported`, and its pruner never prunes.
public final class NopHistory: BlockHistory {
    /// The runtime this (empty) history stands for.
    public let runtimeID: Namespace
    /// A pruner with the `none` strategy.
    public let pruner: HistoryPruner

    /// A nop history for `runtimeID`.
    public init(runtimeID: Namespace, logger: Logger) {
        self.runtimeID = runtimeID
        self.pruner = .none(logger: logger)
    }

    public func commit(_ block: AnnotatedBlock, roundResults: RoundResults?) async throws {
        throw HistoryError.notSupported
    }

    public func commit(_ batch: [HistoryCommit]) async throws {
        throw HistoryError.notSupported
    }

    public func consensusCheckpoint(_ height: Int64) async throws {
        throw HistoryError.notSupported
    }

    public func lastConsensusHeight() async throws -> Int64 {
        throw HistoryError.notSupported
    }

    public func block(round: UInt64) async throws -> Block {
        throw HistoryError.notSupported
    }

    public func latestBlock() async throws -> Block {
        throw HistoryError.notSupported
    }

    public func annotatedBlock(round: UInt64) async throws -> AnnotatedBlock {
        throw HistoryError.notSupported
    }

    public func latestAnnotatedBlock() async throws -> AnnotatedBlock {
        throw HistoryError.notSupported
    }

    public func roundResults(round: UInt64) async throws -> RoundResults? {
        throw HistoryError.notSupported
    }

    public func annotatedBlocks(after round: UInt64?, limit: Int) async throws -> [AnnotatedBlock] {
        throw HistoryError.notSupported
    }

    /// A stream that ends at once: nothing is ever committed.
    public func watchBlocks() -> AsyncStream<AnnotatedBlock> {
        AsyncStream { $0.finish() }
    }

    /// Does nothing.
    public func close() {}
}
