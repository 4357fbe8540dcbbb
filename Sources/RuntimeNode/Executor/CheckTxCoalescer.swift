import ConsensusAPI
import RuntimeRegistry
import Synchronization

/// Checks concurrently submitted transactions together: while one `CheckTx` call is in
/// flight, new submissions wait, and the next call carries all of them (up to
/// `maxPerCall`) — group commit for check-tx. A lone submission is checked at once, so
/// coalescing adds no latency; under load it turns N round trips into one.
///
/// No task is spawned: the first waiter that finds no call in flight becomes the leader and
/// makes the calls, in its own task, until nothing is pending.
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
    func check(_ transaction: [UInt8], call: Call) async -> Outcome {
        let slot = Slot()
        state.withLock { $0.pending.append(Waiter(transaction: transaction, slot: slot)) }
        // Either this task leads (and returns once the queue, this transaction included, is
        // empty), or a leader is running and takes this transaction before it stops.
        await lead(call)
        return await slot.value()
    }

    /// Makes calls until nothing is pending, if no one else is doing so.
    private func lead(_ call: Call) async {
        let leader = state.withLock { s -> Bool in
            guard !s.leading else { return false }
            s.leading = true
            return true
        }
        guard leader else { return }
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

    func fulfill(_ outcome: CheckTxCoalescer.Outcome) {
        let waiting = state.withLock { s -> CheckedContinuation<CheckTxCoalescer.Outcome, Never>? in
            s.outcome = outcome
            defer { s.waiting = nil }
            return s.waiting
        }
        waiting?.resume(returning: outcome)
    }

    func value() async -> CheckTxCoalescer.Outcome {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> CheckTxCoalescer.Outcome? in
                if let outcome = s.outcome { return outcome }
                s.waiting = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
