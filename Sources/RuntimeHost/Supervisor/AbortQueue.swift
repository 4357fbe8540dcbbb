import OasisCommon
import Synchronization

/// One `abort(force:)` waiting for the supervisor.
final class AbortRequest: Sendable {
    let force: Bool
    private let done = Latch()
    private let outcome = Mutex<(any Error)?>(nil)

    init(force: Bool) {
        self.force = force
    }

    /// Completes the request; only the first reply counts.
    func reply(_ error: (any Error)? = nil) {
        outcome.withLock { if !done.isOpen { $0 = error } }
        done.open()
    }

    /// Waits for the reply; throws its error, or `CancellationError` if the caller is cancelled
    /// first (the request stays queued and is still handled, as in v21.1).
    func waitForReply() async throws {
        guard await done.waitUnlessCancelled() else { throw CancellationError() }
        if let error = outcome.withLock({ $0 }) { throw error }
    }
}

/// Abort requests in arrival order (v21.1's `ctrlCh`, at most 16 pending). Taking one is
/// cancellable and leaves the queue usable, so each running instance can serve it in turn.
final class AbortQueue: Sendable {
    static let capacity = 16

    private struct State {
        var pending: [AbortRequest] = []
        var arrived = Latch()
        var closed = false
    }

    private let state = Mutex(State())

    /// Queues `request`; false if the queue is full or closed.
    func push(_ request: AbortRequest) -> Bool {
        let latch: Latch? = state.withLock { s in
            guard !s.closed, s.pending.count < Self.capacity else { return nil }
            s.pending.append(request)
            return s.arrived
        }
        latch?.open()
        return latch != nil
    }

    /// The oldest request; nil if the task is cancelled first.
    func next() async -> AbortRequest? {
        while true {
            let (request, latch) = state.withLock { s -> (AbortRequest?, Latch) in
                if !s.pending.isEmpty { return (s.pending.removeFirst(), s.arrived) }
                if s.arrived.isOpen { s.arrived = Latch() }
                return (nil, s.arrived)
            }
            if let request { return request }
            guard await latch.waitUnlessCancelled() else { return nil }
        }
    }

    /// Refuses further requests and returns the pending ones.
    func close() -> [AbortRequest] {
        state.withLock { s in
            s.closed = true
            defer { s.pending = [] }
            return s.pending
        }
    }
}
