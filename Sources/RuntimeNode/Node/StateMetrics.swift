import Logging
import Metrics
import RuntimeRegistry
import ServiceLifecycle
import Synchronization

/// Publishes each runtime's state figures as metrics, from the events its parts emit:
/// the history's last round (`oasis_runtime_history_last_round`), rounds pruned
/// (`oasis_runtime_history_pruned_rounds`), the last indexed round
/// (`oasis_runtime_tag_indexer_last_round`) and the indexer's lag behind the history
/// (`oasis_runtime_tag_indexer_lag_rounds`), each with a `runtime` dimension.
final class StateMetrics: Service, Sendable {
    private let runtimes: [Runtime]
    private let logger: Logger

    init(runtimes: [Runtime], logger: Logger) {
        self.runtimes = runtimes
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for runtime in self.runtimes {
                    guard let history = runtime.history else { continue }
                    let dimensions = [("runtime", "\(runtime.id)")]
                    let lastRound = Gauge(label: "oasis_runtime_history_last_round", dimensions: dimensions)
                    let indexed = Gauge(label: "oasis_runtime_tag_indexer_last_round", dimensions: dimensions)
                    let lag = Gauge(label: "oasis_runtime_tag_indexer_lag_rounds", dimensions: dimensions)
                    let pruned = Counter(label: "oasis_runtime_history_pruned_rounds", dimensions: dimensions)
                    let figures = Figures()
                    if let latest = try? await history.metadata().lastRound {
                        figures.history = latest
                        lastRound.record(Double(latest))
                    }
                    group.addTask {
                        for await block in history.watchBlocks() {
                            guard let round = block.block?.header.round else { continue }
                            let behind = figures.recordHistory(round)
                            lastRound.record(Double(round))
                            lag.record(Double(behind))
                        }
                    }
                    group.addTask {
                        for await report in history.pruner.reportsStream() {
                            pruned.increment(by: Int64(report.rounds.count))
                        }
                    }
                    if let indexer = runtime.tagIndexer {
                        group.addTask {
                            for await event in indexer.events() {
                                let round: UInt64?
                                switch event {
                                case .indexed(let r), .skipped(let r, _): round = r
                                case .caughtUp(let r): round = r
                                }
                                guard let round else { continue }
                                let behind = figures.recordIndexed(round)
                                indexed.record(Double(round))
                                lag.record(Double(behind))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The latest rounds seen, shared by a runtime's watchers.
private final class Figures: Sendable {
    private let state = Mutex((history: UInt64(0), indexed: UInt64(0)))

    var history: UInt64 {
        get { state.withLock { $0.history } }
        set { state.withLock { $0.history = newValue } }
    }

    /// Records a committed round; returns the lag.
    func recordHistory(_ round: UInt64) -> UInt64 {
        state.withLock {
            $0.history = max($0.history, round)
            return $0.history - min($0.indexed, $0.history)
        }
    }

    /// Records an indexed round; returns the lag.
    func recordIndexed(_ round: UInt64) -> UInt64 {
        state.withLock {
            $0.indexed = max($0.indexed, round)
            return $0.history - min($0.indexed, $0.history)
        }
    }
}
