internal import Synchronization

/// A one-shot signal: ``open()`` releases every current and future waiter and never closes
/// again (oasis-core's closed-channel latches). Waiting is cancellable, in two forms: ``wait()``
/// throws `CancellationError`, ``waitUnlessCancelled()`` returns `false`, so a latch can take
/// part in task-group races. Clean-up that must not be cut short (closing a store only after
/// its writer has quit) uses ``waitIgnoringCancellation()``.
public final class Latch: Sendable {
    private struct State {
        var isOpen = false
        var nextID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        /// Waiters whose task was cancelled before they registered.
        var cancelled: Set<UInt64> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether the latch has opened.
    public var isOpen: Bool { state.withLock { $0.isOpen } }

    /// How many tasks are waiting for the latch to open (for tests that need to know a waiter
    /// has arrived).
    package var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// Opens the latch and wakes every waiter; idempotent. Returns whether this call opened it.
    @discardableResult
    public func open() -> Bool {
        let (first, waiters) = state.withLock { s -> (Bool, [CheckedContinuation<Bool, Never>]) in
            guard !s.isOpen else { return (false, []) }
            s.isOpen = true
            defer { s.waiters = [:] }
            return (true, Array(s.waiters.values))
        }
        for waiter in waiters { waiter.resume(returning: true) }
        return first
    }

    /// Returns once the latch is open; throws `CancellationError` if the task is (or gets)
    /// cancelled first, even when the latch is already open.
    public func wait() async throws {
        try Task.checkCancellation()
        guard await waitUnlessCancelled() else { throw CancellationError() }
    }

    /// Returns once the latch is open, whether or not the task is cancelled meanwhile: for
    /// clean-up that must wait for something to finish, even while shutting down in a hurry.
    public func waitIgnoringCancellation() async {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        _ = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let isOpen = state.withLock { s in
                if !s.isOpen { s.waiters[id] = continuation }
                return s.isOpen
            }
            if isOpen { continuation.resume(returning: true) }
        }
    }

    /// Waits until the latch opens (`true`) or the task is cancelled (`false`).
    @discardableResult
    public func waitUnlessCancelled() async -> Bool {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate: Bool? = state.withLock { s in
                    if s.isOpen { return true }
                    if s.cancelled.remove(id) != nil { return false }
                    s.waiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Bool, Never>? = state.withLock { s in
                if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
                if !s.isOpen { s.cancelled.insert(id) }
                return nil
            }
            waiter?.resume(returning: false)
        }
    }
}
