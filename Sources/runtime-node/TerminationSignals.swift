import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// SIGTERM and SIGINT, caught from before the node is made. The node's service group would
/// catch them only once it runs; until then a signal killed the process (exit 143) while it
/// was opening its stores. Caught here, a signal that comes while the node opens is kept and
/// ends the node as soon as it runs: its services start and stop, and it exits 0.
final class TerminationSignals {
    /// One element per signal caught (the latest one kept until read).
    let stream: AsyncStream<Int32>
    private let continuation: AsyncStream<Int32>.Continuation
    private let sources: [any DispatchSourceSignal]

    init() {
        let (stream, continuation) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.stream = stream
        self.continuation = continuation
        sources = [SIGTERM, SIGINT].map { number in
            // A dispatch signal source sees the signal only when its default action is off.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    /// Stops catching (the signals stay ignored: the process is ending) and ends the stream.
    func cancel() {
        for source in sources { source.cancel() }
        continuation.finish()
    }
}
