import RuntimeRegistry
import Synchronization

/// A descriptor's batch limits as the executor applies them (`txn_scheduler`).
struct BatchLimits: Sendable, Hashable {
    /// Most transactions per batch (at least 1).
    var maxCount: Int
    /// Most bytes of transactions per batch; `Int.max` when the descriptor gives 0.
    var maxBytes: Int
    /// How long a partial batch may wait for more transactions.
    var flushTimeout: Duration

    init(_ scheduler: TxnSchedulerParameters) {
        maxCount = Int(clamping: max(scheduler.maxBatchSize, 1))
        maxBytes = scheduler.maxBatchSizeBytes == 0 ? .max : Int(clamping: scheduler.maxBatchSizeBytes)
        flushTimeout = max(scheduler.batchFlushTimeout, .zero)
    }
}

/// A checked transaction waiting for its batch, and the submitter waiting for its outcome.
struct PendingTransaction: Sendable {
    let transaction: [UInt8]
    let hash: Hash
    let continuation: CheckedContinuation<SubmitResult, any Error>

    func succeed(round: UInt64) {
        continuation.resume(returning: SubmitResult(round: round, txHash: hash))
    }

    func fail(_ error: ExecutorError) {
        continuation.resume(throwing: error)
    }
}

/// The executor's queue, its statistics and the one waiter (the batching loop), behind one
/// lock: every submitter resumes exactly once, either from a batch or from ``stop()``.
final class ExecutorQueue: Sendable {
    /// What the batching loop waits for; a stopping queue satisfies both.
    enum Condition: Sendable {
        /// At least one transaction.
        case work
        /// Enough transactions or bytes for a full batch.
        case fullBatch(BatchLimits)
    }

    private struct Waiter {
        let id: UInt64
        let condition: Condition
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var pending: [PendingTransaction] = []
        var bytes = 0
        var stopping = false
        var waiter: Waiter?
        var nextWaiter: UInt64 = 0
        var statistics = ExecutorStatistics()

        func holds(_ condition: Condition) -> Bool {
            if stopping { return true }
            switch condition {
            case .work: return !pending.isEmpty
            case .fullBatch(let limits): return pending.count >= limits.maxCount || bytes >= limits.maxBytes
            }
        }

        /// Takes the waiter when its condition now holds.
        mutating func readyWaiter() -> Waiter? {
            guard let waiter, holds(waiter.condition) else { return nil }
            self.waiter = nil
            return waiter
        }
    }

    /// Most transactions waiting at once.
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    /// Whether ``stop()`` has been called.
    var isStopping: Bool { state.withLock { $0.stopping } }

    /// The statistics, with the current queue length.
    var statistics: ExecutorStatistics {
        state.withLock { s in
            var statistics = s.statistics
            statistics.queued = s.pending.count
            return statistics
        }
    }

    /// Changes the statistics.
    func record(_ change: (inout ExecutorStatistics) -> Void) {
        state.withLock { change(&$0.statistics) }
    }

    /// Queues a transaction; `pending` is failed at once (`stopped`, `queueFull`) when it
    /// cannot be.
    func enqueue(_ pending: PendingTransaction) {
        let outcome = state.withLock { s -> (ExecutorError?, Waiter?) in
            if s.stopping { return (.stopped, nil) }
            guard s.pending.count < capacity else { return (.queueFull(capacity), nil) }
            s.pending.append(pending)
            s.bytes += pending.transaction.count
            return (nil, s.readyWaiter())
        }
        if let error = outcome.0 { pending.fail(error) }
        outcome.1?.continuation.resume()
    }

    /// Takes the oldest transactions that fit in one batch: at most `maxCount`, and at most
    /// `maxBytes` in total (the first one always; a larger one is refused at submission).
    func takeBatch(_ limits: BatchLimits) -> [PendingTransaction] {
        state.withLock { s in
            var count = 0
            var bytes = 0
            for pending in s.pending {
                guard count < limits.maxCount else { break }
                let size = pending.transaction.count
                guard count == 0 || size <= limits.maxBytes - bytes else { break }
                count += 1
                bytes += size
            }
            let batch = Array(s.pending.prefix(count))
            s.pending.removeFirst(count)
            s.bytes -= bytes
            return batch
        }
    }

    /// Suspends until `condition` holds, ``stop()`` is called, or the task is cancelled.
    func wait(for condition: Condition) async {
        let id = state.withLock { s -> UInt64 in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.holds(condition) || Task.isCancelled { return true }
                    s.waiter = Waiter(id: id, condition: condition, continuation: continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> Waiter? in
                guard let waiter = s.waiter, waiter.id == id else { return nil }
                s.waiter = nil
                return waiter
            }
            waiter?.continuation.resume()
        }
    }

    /// Refuses new transactions and wakes the loop. Idempotent.
    func stop() {
        let waiter = state.withLock { s -> Waiter? in
            s.stopping = true
            return s.readyWaiter()
        }
        waiter?.continuation.resume()
    }

    /// Stops, and fails every queued transaction with `error`.
    func drain(failing error: ExecutorError) {
        let (pending, waiter) = state.withLock { s -> ([PendingTransaction], Waiter?) in
            s.stopping = true
            defer {
                s.pending.removeAll()
                s.bytes = 0
            }
            return (s.pending, s.readyWaiter())
        }
        for transaction in pending { transaction.fail(error) }
        waiter?.continuation.resume()
    }
}
