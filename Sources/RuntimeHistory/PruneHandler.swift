/// Something that keeps data per round and must drop it when the history prunes those rounds
/// (oasis-core's `history.PruneHandler`), such as the tag indexer.
public protocol PruneHandler: Sendable {
    /// Called before `rounds` (ascending, never empty) are deleted from the history. Throwing
    /// vetoes the whole pass: nothing is deleted, and the rounds are offered again on a later
    /// pass, so a handler may see a round more than once.
    func prune(rounds: [UInt64]) async throws
}

/// What one prune pass did.
public struct PrunePassReport: Sendable, Hashable {
    /// How a pass ended.
    public enum Outcome: Sendable, Hashable {
        /// No round was old enough (or the strategy keeps everything).
        case nothingToPrune
        /// Rounds were deleted.
        case pruned
        /// A handler refused; nothing was deleted.
        case vetoed(handler: String, reason: String)
        /// The pass failed part-way; rounds deleted in earlier batches stay deleted.
        case failed(String)
        /// Another pass was already running.
        case skipped
    }

    /// How the pass ended.
    public var outcome: Outcome
    /// The latest round when the pass started, if there was a block.
    public var latestRound: UInt64?
    /// The rounds offered to the handlers, ascending.
    public var rounds: [UInt64]
    /// How many rounds were deleted.
    public var deleted: Int
    /// How many write transactions the deletion took.
    public var batches: Int
    /// Whether more rounds were old enough than one pass may prune.
    public var backlogRemains: Bool

    /// A report.
    public init(outcome: Outcome, latestRound: UInt64? = nil, rounds: [UInt64] = [], deleted: Int = 0,
                batches: Int = 0, backlogRemains: Bool = false) {
        self.outcome = outcome
        self.latestRound = latestRound
        self.rounds = rounds
        self.deleted = deleted
        self.batches = batches
        self.backlogRemains = backlogRemains
    }
}
