import OasisCBOR

/// Parameters of a runtime's executor committee (`registry.ExecutorParameters`). No field is
/// `omitempty`, so all five keys are always written, and the struct itself is always present in
/// a descriptor.
public struct ExecutorParameters: Hashable, Sendable {
    /// Size of the primary committee.
    public var groupSize: UInt16
    /// Size of the discrepancy-resolution (backup) committee.
    public var groupBackupSize: UInt16
    /// How many primary members may fail to commit.
    public var allowedStragglers: UInt16
    /// Round timeout, in consensus blocks.
    public var roundTimeout: Int64
    /// Most messages the runtime may emit in one round (checked by roothash, not here).
    public var maxMessages: UInt32

    public init(groupSize: UInt16 = 0, groupBackupSize: UInt16 = 0, allowedStragglers: UInt16 = 0,
                roundTimeout: Int64 = 0, maxMessages: UInt32 = 0) {
        self.groupSize = groupSize
        self.groupBackupSize = groupBackupSize
        self.allowedStragglers = allowedStragglers
        self.roundTimeout = roundTimeout
        self.maxMessages = maxMessages
    }

    /// oasis-core's checks, in order, with its messages.
    public func validateBasic() throws(DescriptorError) {
        if groupSize == 0 { throw DescriptorError("executor primary group too small") }
        if allowedStragglers > groupSize || (groupBackupSize > 0 && allowedStragglers > groupBackupSize) {
            throw DescriptorError("number of allowed stragglers too large")
        }
        if roundTimeout < 5 { throw DescriptorError("round timeout too small") }
    }
}

extension ExecutorParameters: Codable {
    enum CodingKeys: String, CodingKey {
        case groupSize = "group_size"
        case groupBackupSize = "group_backup_size"
        case allowedStragglers = "allowed_stragglers"
        case roundTimeout = "round_timeout"
        case maxMessages = "max_messages"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        groupSize = try c.decode(UInt16.self, forKey: .groupSize, orZero: 0)
        groupBackupSize = try c.decode(UInt16.self, forKey: .groupBackupSize, orZero: 0)
        allowedStragglers = try c.decode(UInt16.self, forKey: .allowedStragglers, orZero: 0)
        roundTimeout = try c.decode(Int64.self, forKey: .roundTimeout, orZero: 0)
        maxMessages = try c.decode(UInt32.self, forKey: .maxMessages, orZero: 0)
    }
}

/// Parameters of a runtime's transaction scheduler (`registry.TxnSchedulerParameters`). No field
/// is `omitempty`.
///
/// `batch_flush_timeout` is a Go `time.Duration`: a signed 64-bit count of nanoseconds, which is
/// what is stored (``batchFlushTimeoutNanoseconds``) and written, in CBOR and in JSON alike.
/// ``batchFlushTimeout`` gives it as a Swift `Duration`.
public struct TxnSchedulerParameters: Hashable, Sendable {
    /// The only algorithm oasis-core v21.1 knows (`TxnSchedulerSimple`).
    public static let simpleAlgorithm = "simple"

    /// The scheduling algorithm; must be `simple`.
    public var algorithm: String
    /// How long to wait before flushing a partial batch, in nanoseconds.
    public var batchFlushTimeoutNanoseconds: Int64
    /// Most transactions in a batch.
    public var maxBatchSize: UInt64
    /// Most bytes in a batch.
    public var maxBatchSizeBytes: UInt64
    /// How long the scheduler may take to propose a batch, in consensus blocks (Go field
    /// `ProposerTimeout`, key `propose_batch_timeout`).
    public var proposerTimeout: Int64

    public init(algorithm: String = "", batchFlushTimeout: Duration = .zero, maxBatchSize: UInt64 = 0,
                maxBatchSizeBytes: UInt64 = 0, proposerTimeout: Int64 = 0) {
        self.algorithm = algorithm
        self.batchFlushTimeoutNanoseconds = Self.nanoseconds(batchFlushTimeout)
        self.maxBatchSize = maxBatchSize
        self.maxBatchSizeBytes = maxBatchSizeBytes
        self.proposerTimeout = proposerTimeout
    }

    /// The flush timeout as a `Duration`. Setting it keeps whole nanoseconds and saturates at
    /// the limits of Go's `time.Duration` (about ±292 years).
    public var batchFlushTimeout: Duration {
        get { .nanoseconds(batchFlushTimeoutNanoseconds) }
        set { batchFlushTimeoutNanoseconds = Self.nanoseconds(newValue) }
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflow2) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow || overflow2 { return seconds < 0 ? .min : .max }
        return total
    }

    /// oasis-core's checks, in order, with its messages.
    public func validateBasic() throws(DescriptorError) {
        if algorithm != Self.simpleAlgorithm { throw DescriptorError("invalid transaction scheduler algorithm") }
        if batchFlushTimeoutNanoseconds < 50_000_000 {
            throw DescriptorError("transaction scheduler batch flush timeout parameter too small")
        }
        if maxBatchSize < 1 { throw DescriptorError("transaction scheduler max batch size parameter too small") }
        if maxBatchSizeBytes < 1024 {
            throw DescriptorError("transaction scheduler max batch bytes size parameter too small")
        }
        if proposerTimeout < 2 { throw DescriptorError("transaction scheduler proposer timeout parameter too small") }
    }
}

extension TxnSchedulerParameters: Codable {
    enum CodingKeys: String, CodingKey {
        case algorithm
        case batchFlushTimeout = "batch_flush_timeout"
        case maxBatchSize = "max_batch_size"
        case maxBatchSizeBytes = "max_batch_size_bytes"
        case proposerTimeout = "propose_batch_timeout"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        algorithm = try c.decode(String.self, forKey: .algorithm, orZero: "")
        batchFlushTimeoutNanoseconds = try c.decode(Int64.self, forKey: .batchFlushTimeout, orZero: 0)
        maxBatchSize = try c.decode(UInt64.self, forKey: .maxBatchSize, orZero: 0)
        maxBatchSizeBytes = try c.decode(UInt64.self, forKey: .maxBatchSizeBytes, orZero: 0)
        proposerTimeout = try c.decode(Int64.self, forKey: .proposerTimeout, orZero: 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(algorithm, forKey: .algorithm)
        try c.encode(batchFlushTimeoutNanoseconds, forKey: .batchFlushTimeout)
        try c.encode(maxBatchSize, forKey: .maxBatchSize)
        try c.encode(maxBatchSizeBytes, forKey: .maxBatchSizeBytes)
        try c.encode(proposerTimeout, forKey: .proposerTimeout)
    }
}

/// Parameters of a runtime's storage committee (`registry.StorageParameters`). No field is
/// `omitempty`.
public struct StorageParameters: Hashable, Sendable {
    /// Size of the storage committee.
    public var groupSize: UInt16
    /// How many nodes must hold a write before it counts as committed (at most ``groupSize``).
    public var minWriteReplication: UInt16
    /// Most write log entries in one apply.
    public var maxApplyWriteLogEntries: UInt64
    /// Most apply operations in one batch.
    public var maxApplyOps: UInt64
    /// Expected state checkpoint interval, in rounds; 0 disables checkpoints.
    public var checkpointInterval: UInt64
    /// Minimum number of checkpoints kept.
    public var checkpointNumKept: UInt64
    /// Chunk size of checkpoints, in bytes.
    public var checkpointChunkSize: UInt64

    public init(groupSize: UInt16 = 0, minWriteReplication: UInt16 = 0, maxApplyWriteLogEntries: UInt64 = 0,
                maxApplyOps: UInt64 = 0, checkpointInterval: UInt64 = 0, checkpointNumKept: UInt64 = 0,
                checkpointChunkSize: UInt64 = 0) {
        self.groupSize = groupSize
        self.minWriteReplication = minWriteReplication
        self.maxApplyWriteLogEntries = maxApplyWriteLogEntries
        self.maxApplyOps = maxApplyOps
        self.checkpointInterval = checkpointInterval
        self.checkpointNumKept = checkpointNumKept
        self.checkpointChunkSize = checkpointChunkSize
    }

    /// oasis-core's checks, in order, with its messages.
    ///
    /// - Parameter debugDontBlameOasis: the node's `debug.dont_blame_oasis` flag. When set, the
    ///   checkpoint settings are not checked (as in Go, where the flag is global).
    public func validateBasic(debugDontBlameOasis: Bool = false) throws(DescriptorError) {
        if groupSize == 0 { throw DescriptorError("storage group too small") }
        if minWriteReplication == 0 { throw DescriptorError("storage write replication factor must be non-zero") }
        if minWriteReplication > groupSize {
            throw DescriptorError("storage write replication factor must be less than or equal to group size")
        }
        if maxApplyWriteLogEntries < 10 { throw DescriptorError("storage MaxApplyWriteLogEntries parameter too small") }
        if maxApplyOps < 2 { throw DescriptorError("storage MaxApplyOps parameter too small") }
        if checkpointInterval > 0 && !debugDontBlameOasis {
            if checkpointInterval < 10 { throw DescriptorError("storage CheckpointInterval parameter too small") }
            if checkpointNumKept == 0 { throw DescriptorError("storage CheckpointNumKept parameter too small") }
            if checkpointChunkSize < 1024 * 1024 {
                throw DescriptorError("storage CheckpointChunkSize parameter too small")
            }
        }
    }
}

extension StorageParameters: Codable {
    enum CodingKeys: String, CodingKey {
        case groupSize = "group_size"
        case minWriteReplication = "min_write_replication"
        case maxApplyWriteLogEntries = "max_apply_write_log_entries"
        case maxApplyOps = "max_apply_ops"
        case checkpointInterval = "checkpoint_interval"
        case checkpointNumKept = "checkpoint_num_kept"
        case checkpointChunkSize = "checkpoint_chunk_size"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        groupSize = try c.decode(UInt16.self, forKey: .groupSize, orZero: 0)
        minWriteReplication = try c.decode(UInt16.self, forKey: .minWriteReplication, orZero: 0)
        maxApplyWriteLogEntries = try c.decode(UInt64.self, forKey: .maxApplyWriteLogEntries, orZero: 0)
        maxApplyOps = try c.decode(UInt64.self, forKey: .maxApplyOps, orZero: 0)
        checkpointInterval = try c.decode(UInt64.self, forKey: .checkpointInterval, orZero: 0)
        checkpointNumKept = try c.decode(UInt64.self, forKey: .checkpointNumKept, orZero: 0)
        checkpointChunkSize = try c.decode(UInt64.self, forKey: .checkpointChunkSize, orZero: 0)
    }
}
