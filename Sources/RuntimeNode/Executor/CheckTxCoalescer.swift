import ConsensusAPI
import RuntimeRegistry
import Synchronization

/// Checks concurrently submitted transactions together: while one `CheckTx` call is in
/// flight, new submissions wait, and the next call carries all of them (up to
/// `maxPerCall`) — group commit for check-tx. A lone submission is checked at once, so
/// coalescing adds no latency; under load it turns N round trips into one.
///
/// The calls are made by ``run(_:)``, a loop the executor runs beside its batching loop, never
/// in a submitter's task: a submitter that is cancelled would fail the call it made, and with
/// it the checks of everyone the call carries, and one that made the calls until nothing was
/// pending would not get its own outcome while later submissions kept them going. A cancelled
/// submitter stops waiting for its outcome at once; its transaction is still checked.
final class CheckTxCoalescer: Sendable {
    /// What one transaction's check came to.
    enum Outcome: Sendable {
        /// The runtime accepted it.
        case accepted
        /// The runtime refused it, with this text.
        case refused(String)
        /// The call itself failed (the runtime is down, timed out, or answered nonsense), or
        /// the submitter was cancelled.
        case callFailed(String)
        /// The coalescer stopped before the transaction was checked.
        case stopped
    }

    /// Makes one batched call for `transactions`; one entry per transaction (nil: accepted).
    typealias Call = @Sendable ([[UInt8]]) async throws -> [String?]

    private struct Waiter {
        let transaction: [UInt8]
        let slot: Slot
    }

    private struct State {
        var pending: [Waiter] = []
        /// The loop, while it waits for work.
        var idle: CheckedContinuation<Void, Never>?
        var stopped = false
    }

    private let maxPerCall: Int
    private let state = Mutex(State())

    init(maxPerCall: Int) {
        self.maxPerCall = max(maxPerCall, 1)
    }

    /// How many transactions wait for a call (for tests).
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Checks `transaction`, together with whatever else is waiting, once ``run(_:)`` takes
    /// it. A cancelled caller gets ``Outcome/callFailed(_:)`` at once; after ``stop()``,
    /// ``Outcome/stopped``.
    func check(_ transaction: [UInt8]) async -> Outcome {
        let slot = Slot()
        let (accepted, idle) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !s.stopped else { return (false, nil) }
            s.pending.append(Waiter(transaction: transaction, slot: slot))
            defer { s.idle = nil }
            return (true, s.idle)
        }
        guard accepted else { return .stopped }
        idle?.resume()
        return await slot.value()
    }

    /// Makes calls with `call` whenever transactions wait, until ``stop()`` or cancellation;
    /// a call in flight then finishes, and transactions still waiting get ``Outcome/stopped``.
    func run(_ call: Call) async {
        await withTaskCancellationHandler {
            while let batch = await nextBatch() {
                do {
                    let results = try await call(batch.map(\.transaction))
                    for (waiter, refusal) in zip(batch, results) {
                        waiter.slot.fulfill(refusal.map(Outcome.refused) ?? .accepted)
                    }
                } catch {
                    for waiter in batch { waiter.slot.fulfill(.callFailed("\(error)")) }
                }
            }
        } onCancel: {
            stop()
        }
        let left = state.withLock { s -> [Waiter] in
            defer { s.pending = [] }
            return s.pending
        }
        for waiter in left { waiter.slot.fulfill(.stopped) }
    }

    /// Ends ``run(_:)`` after its call in flight; later checks get ``Outcome/stopped``.
    func stop() {
        let idle = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.stopped = true
            defer { s.idle = nil }
            return s.idle
        }
        idle?.resume()
    }

    /// The next transactions to check, waiting for some; nil once stopped.
    private func nextBatch() async -> [Waiter]? {
        while true {
            enum Next { case batch([Waiter]), stopped, wait }
            let next = state.withLock { s -> Next in
                if s.stopped { return .stopped }
                guard !s.pending.isEmpty else { return .wait }
                let taken = Array(s.pending.prefix(maxPerCall))
                s.pending.removeFirst(taken.count)
                return .batch(taken)
            }
            switch next {
            case .batch(let batch): return batch
            case .stopped: return nil
            case .wait:
                await withCheckedContinuation { continuation in
                    let wake = state.withLock { s -> Bool in
                        if s.stopped || !s.pending.isEmpty { return true }
                        s.idle = continuation
                        return false
                    }
                    if wake { continuation.resume() }
                }
            }
        }
    }
}

/// One waiter's outcome: fulfilled once, awaited once.
private final class Slot: Sendable {
    private let state = Mutex<(outcome: CheckTxCoalescer.Outcome?, waiting: CheckedContinuation<CheckTxCoalescer.Outcome, Never>?)>(
        (nil, nil))

    /// Sets the outcome unless one is set already (the waiter was cancelled).
    func fulfill(_ outcome: CheckTxCoalescer.Outcome) {
        let waiting = state.withLock { s -> CheckedContinuation<CheckTxCoalescer.Outcome, Never>? in
            guard s.outcome == nil else { return nil }
            s.outcome = outcome
            defer { s.waiting = nil }
            return s.waiting
        }
        waiting?.resume(returning: outcome)
    }

    /// The outcome, or `callFailed` as soon as the waiting task is cancelled.
    func value() async -> CheckTxCoalescer.Outcome {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { s -> CheckTxCoalescer.Outcome? in
                    if let outcome = s.outcome { return outcome }
                    s.waiting = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            fulfill(.callFailed("the check was cancelled"))
        }
    }
}
