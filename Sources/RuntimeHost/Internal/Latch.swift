import Synchronization

/// A one-way flag that tasks can wait for: once fired it stays fired. Waiting is cancellable
/// (a cancelled waiter returns `false`), so a latch can take part in task-group races.
final class Latch: Sendable {
    private struct State {
        var fired = false
        var nextID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var cancelled: Set<UInt64> = []
    }

    private let state = Mutex(State())

    init() {}

    /// Whether ``fire()`` has been called.
    var isFired: Bool { state.withLock { $0.fired } }

    /// Fires the latch and wakes every waiter. Returns whether this call fired it.
    @discardableResult
    func fire() -> Bool {
        let (first, waiters) = state.withLock { s -> (Bool, [CheckedContinuation<Bool, Never>]) in
            guard !s.fired else { return (false, []) }
            s.fired = true
            defer { s.waiters = [:] }
            return (true, Array(s.waiters.values))
        }
        for waiter in waiters { waiter.resume(returning: true) }
        return first
    }

    /// Waits until the latch fires (`true`) or the task is cancelled (`false`).
    @discardableResult
    func wait() async -> Bool {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate: Bool? = state.withLock { s in
                    if s.fired { return true }
                    if s.cancelled.remove(id) != nil { return false }
                    s.waiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Bool, Never>? = state.withLock { s in
                if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
                if !s.fired { s.cancelled.insert(id) }
                return nil
            }
            waiter?.resume(returning: false)
        }
    }
}
