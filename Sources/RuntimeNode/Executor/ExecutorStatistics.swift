/// Counters of one ``LocalnetExecutor`` since it was created.
///
/// The stage times are cumulative seconds of wall-clock time (measured on the continuous
/// clock, whatever clock drives the executor's timers): check-tx for every submitted
/// transaction, and per batch its execution, its storage apply and its finalization (which
/// includes the history commit).
public struct ExecutorStatistics: Sendable, Hashable, Codable {
    /// Batches committed.
    public var batches: UInt64
    /// Transactions committed.
    public var transactions: UInt64
    /// Transactions rejected by check-tx.
    public var rejected: UInt64
    /// Transactions waiting for a batch now.
    public var queued: Int
    /// The round of the last block this executor finalized (0 before the first).
    public var lastRound: UInt64
    /// The most transactions in one committed batch.
    public var largestBatch: Int
    /// Batches whose transactions were failed with ``ExecutorError/batchFailed(_:)``.
    public var failedBatches: UInt64
    /// Cumulative check-tx time.
    public var checkTxSeconds: Double
    /// Cumulative batch execution time (all attempts).
    public var executeSeconds: Double
    /// Cumulative time applying write logs to storage.
    public var storageApplySeconds: Double
    /// Cumulative time finalizing rounds, history commit included.
    public var commitSeconds: Double

    /// Statistics; the defaults are those of a new executor.
    public init(
        batches: UInt64 = 0, transactions: UInt64 = 0, rejected: UInt64 = 0, queued: Int = 0, lastRound: UInt64 = 0,
        largestBatch: Int = 0, failedBatches: UInt64 = 0, checkTxSeconds: Double = 0, executeSeconds: Double = 0,
        storageApplySeconds: Double = 0, commitSeconds: Double = 0
    ) {
        self.batches = batches
        self.transactions = transactions
        self.rejected = rejected
        self.queued = queued
        self.lastRound = lastRound
        self.largestBatch = largestBatch
        self.failedBatches = failedBatches
        self.checkTxSeconds = checkTxSeconds
        self.executeSeconds = executeSeconds
        self.storageApplySeconds = storageApplySeconds
        self.commitSeconds = commitSeconds
    }

    enum CodingKeys: String, CodingKey {
        case batches, transactions, rejected, queued
        case lastRound = "last_round"
        case largestBatch = "largest_batch"
        case failedBatches = "failed_batches"
        case checkTxSeconds = "check_tx_seconds"
        case executeSeconds = "execute_seconds"
        case storageApplySeconds = "storage_apply_seconds"
        case commitSeconds = "commit_seconds"
    }
}
