import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// SIGTERM and SIGINT, caught from before the node is made. The node's service group would
/// catch them only once it runs; until then a signal killed the process (exit 143) while it
/// was opening its stores. Caught here, a signal that comes while the node opens is kept and
/// ends the node as soon as it runs: its services start and stop, and it exits 0.
///
/// A second signal before the node runs exits at once, with the status the signal's default
/// action gives (130 for SIGINT, 143 for SIGTERM): an opening that does not finish (a genesis
/// path naming a pipe nobody writes, a slow disk) can still be stopped without SIGKILL. The
/// stores are SQLite with a durable journal, so stopping mid-open loses nothing. Once the node
/// runs, every signal goes to its graceful shutdown, which is bounded.
final class TerminationSignals {
    /// One element per signal caught (the latest one kept until read).
    let stream: AsyncStream<Int32>
    private let continuation: AsyncStream<Int32>.Continuation
    private let sources: [any DispatchSourceSignal]
    private let state = State()

    private final class State: Sendable {
        let caught = Atomic<Int>(0)
        let nodeRuns = Atomic<Bool>(false)
    }

    init() {
        let (stream, continuation) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.stream = stream
        self.continuation = continuation
        let state = self.state
        sources = [SIGTERM, SIGINT].map { number in
            // A dispatch signal source sees the signal only when its default action is off.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                // Signals that come before the handler runs are merged into one event: count them.
                let count = max(1, Int(source.data))
                let caught = state.caught.add(count, ordering: .sequentiallyConsistent).newValue
                if caught >= 2, !state.nodeRuns.load(ordering: .sequentiallyConsistent) {
                    writeError("runtime-node: \(name(of: number)) again while the node was starting: exiting now")
                    _exit(128 + number)
                }
                continuation.yield(number)
            }
            source.resume()
            return source
        }
    }

    /// The node's services run: from now on every signal is a graceful shutdown.
    func nodeRuns() {
        state.nodeRuns.store(true, ordering: .sequentiallyConsistent)
    }

    /// Stops catching (the signals stay ignored: the process is ending) and ends the stream.
    func cancel() {
        for source in sources { source.cancel() }
        continuation.finish()
    }
}

private func name(of signal: Int32) -> String {
    switch signal {
    case SIGTERM: "SIGTERM"
    case SIGINT: "SIGINT"
    default: "signal \(signal)"
    }
}
