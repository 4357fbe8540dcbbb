public import OasisCommon
public import RuntimeSQLite

/// Why a history operation failed. Not-found is not here: a missing block or round answers
/// `RoothashErrors.notFound` (module `roothash`, code 2), as oasis-core's history does.
public enum HistoryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The nop history supports nothing but its runtime id.
    case notSupported
    /// The block belongs to another runtime.
    case runtimeMismatch(expected: Namespace, got: Namespace)
    /// The block's consensus height is below the last one recorded.
    case commitAtLowerConsensusHeight(current: Int64, wanted: Int64)
    /// The block's round is not above the last one (checked once a non-zero height is recorded).
    case commitAtLowerRound(current: UInt64, wanted: UInt64)
    /// A checkpoint below the last recorded consensus height.
    case checkpointAtLowerHeight(current: Int64, wanted: Int64)
    /// An annotated block without a block.
    case missingBlock(consensusHeight: Int64)
    /// SQLite stores signed 64-bit integers; rounds above `Int64.max` cannot be stored.
    case roundTooLarge(UInt64)
    /// The database could not be opened, or belongs to another runtime or schema.
    case open(StoreOpenError)
    /// A configuration value is out of range.
    case invalidConfiguration(String)
    /// A prune handler vetoed a prune pass; nothing was deleted.
    case pruneHandlerFailed(handler: String, reason: String)
    /// A stored record could not be decoded.
    case corrupted(round: UInt64, reason: String)
    /// The history was closed.
    case closed

    public var description: String {
        switch self {
        case .notSupported:
            "runtime/history: not supported"
        case .runtimeMismatch(let expected, let got):
            "runtime/history: runtime mismatch (expected: \(expected) got: \(got)); "
                + "commit only blocks of runtime \(expected) to this history"
        case .commitAtLowerConsensusHeight(let current, let wanted):
            "runtime/history: commit at lower consensus height (current: \(current) wanted: \(wanted))"
        case .commitAtLowerRound(let current, let wanted):
            "runtime/history: commit at lower round (current: \(current) wanted: \(wanted))"
        case .checkpointAtLowerHeight(let current, let wanted):
            "runtime/history: consensus checkpoint at lower height (current: \(current) wanted: \(wanted))"
        case .missingBlock(let height):
            "runtime/history: annotated block at consensus height \(height) has no block; pass the block to commit"
        case .roundTooLarge(let round):
            "runtime/history: round \(round) is above the largest storable round \(Int64.max)"
        case .open(let error):
            error.description
        case .invalidConfiguration(let why):
            "runtime/history: invalid configuration: \(why)"
        case .pruneHandlerFailed(let handler, let reason):
            "runtime/history: prune handler failed: \(reason) (handler \(handler); nothing was pruned, "
                + "the rounds are offered again on the next pass)"
        case .corrupted(let round, let reason):
            "runtime/history: stored round \(round) cannot be decoded: \(reason); the database is damaged, "
                + "restore it or remove history.sqlite to rebuild it from consensus"
        case .closed:
            "runtime/history: the history is closed"
        }
    }
}
