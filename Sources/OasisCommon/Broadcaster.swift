internal import Synchronization

/// A one-to-many broadcast of values to any number of async subscribers (oasis-core's
/// `pubsub.Broker`).
///
/// Each subscriber gets every value published after it subscribed, in order, through an
/// unbounded buffer. With `replayLast`, a new subscriber first receives the most recent value
/// (`NewBroker(true)`). A subscription ends when its consumer stops iterating (its task is
/// cancelled or it breaks out of the loop) or when the broadcaster finishes.
public final class Broadcaster<Element: Sendable>: Sendable {
    private struct State {
        var latest: Element?
        var nextID = 0
        var continuations: [Int: AsyncStream<Element>.Continuation] = [:]
        var finished = false
    }

    private let state = Mutex(State())
    private let replayLast: Bool

    /// - Parameter replayLast: whether a new subscriber first receives the latest value.
    public init(replayLast: Bool) {
        self.replayLast = replayLast
    }

    /// The most recently published value.
    public var latest: Element? { state.withLock { $0.latest } }

    /// The number of live subscriptions.
    public var subscriberCount: Int { state.withLock { $0.continuations.count } }

    /// Sends `value` to every current subscriber.
    public func publish(_ value: Element) {
        // Yielding under the lock keeps every subscriber's order equal to publication order;
        // `yield` never blocks and never calls back into this object.
        state.withLock { s in
            guard !s.finished else { return }
            s.latest = value
            for continuation in s.continuations.values { continuation.yield(value) }
        }
    }

    /// Ends every subscription; later subscriptions end at once (after the replayed value).
    public func finish() {
        let targets = state.withLock { s -> [AsyncStream<Element>.Continuation] in
            s.finished = true
            defer { s.continuations.removeAll() }
            return Array(s.continuations.values)
        }
        for continuation in targets { continuation.finish() }
    }

    /// A new subscription.
    public func subscribe() -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream<Element>.makeStream(bufferingPolicy: .unbounded)
        let (id, finished) = state.withLock { s -> (Int, Bool) in
            s.nextID += 1
            if replayLast, let latest = s.latest { continuation.yield(latest) }
            if !s.finished { s.continuations[s.nextID] = continuation }
            return (s.nextID, s.finished)
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.continuations.removeValue(forKey: id) }
        }
        // Finishing calls `onTermination`, which takes the lock: never under it.
        if finished { continuation.finish() }
        return stream
    }
}
