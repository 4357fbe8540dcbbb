import ConsensusAPI
import RuntimeRegistry
import Synchronization

/// Checks concurrently submitted transactions together: while one `CheckTx` call is in
/// flight, new submissions wait, and the next call carries all of them (up to
/// `maxPerCall`) — group commit for check-tx. A lone submission is checked at once, so
/// coalescing adds no latency; under load it turns N round trips into one.
///
/// The first submission that finds no call in flight starts a task that makes the calls until
/// nothing is pending. The calls do not run in a submitter's task: one that is cancelled would
/// fail the calls it made (and with them the checks of everyone they carry), and one that led
/// the calls itself would not get its own outcome while later submissions kept them going.
/// A cancelled submitter stops waiting for its outcome at once.
final class CheckTxCoalescer: Sendable {
    /// What one transaction's check came to.
    enum Outcome: Sendable {
        /// The runtime accepted it.
        case accepted
        /// The runtime refused it, with this text.
        case refused(String)
        /// The call itself failed (the runtime is down, timed out, or answered nonsense).
        case callFailed(String)
    }

    /// Makes one batched call for `transactions`; one entry per transaction (nil: accepted).
    typealias Call = @Sendable ([[UInt8]]) async throws -> [String?]

    private struct Waiter {
        let transaction: [UInt8]
        let slot: Slot
    }

    private struct State {
        var pending: [Waiter] = []
        var leading = false
    }

    private let maxPerCall: Int
    private let state = Mutex(State())

    init(maxPerCall: Int) {
        self.maxPerCall = max(maxPerCall, 1)
    }

    /// How many transactions wait for a call (for tests).
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Checks `transaction` with `call`, together with whatever else is waiting.
    /// A cancelled caller gets ``Outcome/callFailed(_:)`` at once; the call carrying its
    /// transaction goes on for the others.
    func check(_ transaction: [UInt8], call: @escaping Call) async -> Outcome {
        let slot = Slot()
        let lead = state.withLock { s -> Bool in
            s.pending.append(Waiter(transaction: transaction, slot: slot))
            guard !s.leading else { return false }
            s.leading = true
            return true
        }
        // Either a new task makes calls until the queue, this transaction included, is empty,
        // or the running one takes this transaction before it stops.
        if lead { Task { await self.makeCalls(call) } }
        return await slot.value()
    }

    /// Makes calls until nothing is pending; the caller has set `leading`.
    private func makeCalls(_ call: Call) async {
        while true {
            let batch = state.withLock { s -> [Waiter] in
                let taken = Array(s.pending.prefix(maxPerCall))
                s.pending.removeFirst(taken.count)
                if taken.isEmpty { s.leading = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            do {
                let results = try await call(batch.map(\.transaction))
                for (waiter, refusal) in zip(batch, results) {
                    waiter.slot.fulfill(refusal.map(Outcome.refused) ?? .accepted)
                }
            } catch {
                for waiter in batch { waiter.slot.fulfill(.callFailed("\(error)")) }
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
