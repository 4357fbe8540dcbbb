public import RuntimeRegistry

/// Where a submitted transaction ended up: the round of the block that committed it and the
/// transaction's hash (SHA-512/256 of its bytes, as the I/O tree and the tag index name it).
///
/// Encodes as `{"round": 7, "tx_hash": "<64 hex digits>"}`.
public struct SubmitResult: Sendable, Hashable, Codable {
    /// The round of the runtime block holding the transaction.
    public var round: UInt64
    /// `Hash.digest` of the transaction bytes.
    public var txHash: Hash

    /// A result with every field given.
    public init(round: UInt64, txHash: Hash) {
        self.round = round
        self.txHash = txHash
    }

    enum CodingKeys: String, CodingKey {
        case round
        case txHash = "tx_hash"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        round = try c.decode(UInt64.self, forKey: .round)
        let hex = try c.decode(String.self, forKey: .txHash)
        do {
            txHash = try Hash(hex: hex)
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: .txHash, in: c, debugDescription: "tx_hash must be 64 hex digits (got \"\(hex)\")")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(round, forKey: .round)
        try c.encode(txHash.description, forKey: .txHash)
    }
}

/// Why ``LocalnetExecutor/submit(_:)`` did not commit a transaction.
public enum ExecutorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The runtime rejected the transaction in check-tx (its error text: module, code and
    /// message), or the transaction can never fit in a batch. Nothing was queued.
    case checkTxFailed(String)
    /// Checking, executing, storing or finalizing failed; the transaction was not committed.
    case batchFailed(String)
    /// The executor is shutting down (or has shut down); the transaction was not committed.
    case stopped
    /// The queue already holds this many transactions; try again later.
    case queueFull(Int)

    public var description: String {
        switch self {
        case .checkTxFailed(let why): "transaction rejected by check-tx: \(why)"
        case .batchFailed(let why): "transaction not committed: \(why)"
        case .stopped: "transaction not committed: the executor is shutting down"
        case .queueFull(let capacity):
            "transaction not queued: the executor's queue is full (\(capacity) transactions waiting); try again later"
        }
    }
}

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
