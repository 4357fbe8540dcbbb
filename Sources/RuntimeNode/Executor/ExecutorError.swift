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
