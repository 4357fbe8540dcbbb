public import Logging
import OasisCommon
public import ServiceLifecycle
import Synchronization

/// Prunes a history by its strategy, once per interval (oasis-core's pruner and prune worker).
///
/// Run it as a `Service`: every `pruneInterval` on the injected clock it runs one pass, and it
/// returns on graceful shutdown or cancellation. A pass (``prunePass()``):
/// 1. finds the rounds the strategy drops — at most `maxRoundsPerPass`, ascending, never the
///    latest round;
/// 2. offers them to every handler in registration order, outside any write transaction; the
///    first handler error vetoes the pass and nothing is deleted;
/// 3. deletes them in write transactions of `deleteBatchSize` rounds, so a commit waits for at
///    most one batch.
///
/// Unlike v21.1, a pass runs on every tick with work to do, not only after a fresh commit, so a
/// vetoed or partial pass is retried on the next tick.
public final class HistoryPruner: Service, Sendable {
    /// Which rounds a pass removes.
    public let strategy: PrunerStrategy
    /// The time between passes of the service.
    public let interval: Duration
    /// The most rounds one pass offers to the handlers and deletes.
    public let maxRoundsPerPass: Int
    /// Rounds deleted per write transaction.
    public let deleteBatchSize: Int

    private let store: HistoryStore?
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let handlers = Mutex<[any PruneHandler]>([])
    private let passRunning = Mutex(false)
    private let reports = Broadcaster<PrunePassReport>(replayLast: false)
    /// Test hook: runs after each delete batch commits.
    let afterBatch = Mutex<(@Sendable (Int) async -> Void)?>(nil)

    init(store: HistoryStore?, configuration: HistoryConfiguration, clock: any Clock<Duration>, logger: Logger) {
        self.store = store
        self.strategy = configuration.pruner
        self.interval = configuration.pruneInterval
        self.maxRoundsPerPass = configuration.maxRoundsPerPass
        self.deleteBatchSize = configuration.deleteBatchSize
        self.clock = clock
        self.logger = logger
    }

    /// A pruner that never prunes (the nop history's).
    public static func none(logger: Logger) -> HistoryPruner {
        HistoryPruner(store: nil, configuration: HistoryConfiguration(), clock: ContinuousClock(), logger: logger)
    }

    /// Adds a handler that sees rounds before they are deleted. The `none` strategy discards
    /// handlers, as v21.1 does: it never prunes.
    public func register(_ handler: any PruneHandler) {
        guard strategy != .none, store != nil else { return }
        handlers.withLock { $0.append(handler) }
    }

    /// The number of registered handlers.
    public var handlerCount: Int { handlers.withLock { $0.count } }

    /// A report of every pass from now on; for metrics and tests.
    public func reportsStream() -> AsyncStream<PrunePassReport> {
        reports.subscribe()
    }

    /// Runs one pass now. Errors are reported in the result, not thrown, except cancellation.
    @discardableResult
    public func prunePass() async -> PrunePassReport {
        let report = await runPass()
        reports.publish(report)
        return report
    }

    /// Ticks every `interval` until graceful shutdown or cancellation.
    public func run() async throws {
        guard store != nil, strategy != .none else {
            // Nothing to do, but a service that returns early would stop the whole group.
            try? await gracefulShutdown()
            return
        }
        logger.info("history pruner started", metadata: [
            "history.pruner.strategy": "\(strategy)", "history.pruner.interval": "\(interval)",
        ])
        try? await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                try await clock.sleep(for: interval, tolerance: nil)
                if store?.isClosed == true { break }
                let report = await prunePass()
                log(report)
            }
        }
        // The history was closed (its runtime stopped) while the node runs on: nothing is left
        // to prune, and a pass on every tick would only log that the history is closed.
        if store?.isClosed == true, !Task.isCancelled {
            logger.info("history pruner stopped: the history is closed")
            try? await gracefulShutdown()
        }
    }

    private func log(_ report: PrunePassReport) {
        switch report.outcome {
        case .nothingToPrune, .skipped:
            break
        case .pruned:
            logger.debug("pruned history", metadata: [
                "history.pruned": "\(report.deleted)", "history.first_round": "\(report.rounds.first ?? 0)",
                "history.last_round": "\(report.rounds.last ?? 0)", "history.backlog": "\(report.backlogRemains)",
            ])
        case .vetoed(let handler, let reason):
            logger.warning(
                "\(HistoryError.pruneHandlerFailed(handler: handler, reason: reason))",
                metadata: ["history.rounds": "\(report.rounds.count)"])
        case .failed(let reason):
            logger.error("history prune pass failed", metadata: ["error": "\(reason)"])
        }
    }

    private func runPass() async -> PrunePassReport {
        guard let store, case .keepLast(let numKept) = strategy else { return PrunePassReport(outcome: .nothingToPrune) }
        let acquired = passRunning.withLock { running in
            defer { running = true }
            return !running
        }
        guard acquired else { return PrunePassReport(outcome: .skipped) }
        defer { passRunning.withLock { $0 = false } }

        let candidates: (latest: UInt64?, rounds: [UInt64], more: Bool)
        do {
            candidates = try await store.pruneCandidates(numKept: numKept, limit: maxRoundsPerPass)
        } catch {
            return PrunePassReport(outcome: .failed("\(error)"))
        }
        var report = PrunePassReport(
            outcome: .nothingToPrune, latestRound: candidates.latest, rounds: candidates.rounds,
            backlogRemains: candidates.more)
        guard !candidates.rounds.isEmpty else { return report }

        for handler in handlers.withLock({ $0 }) {
            do {
                try await handler.prune(rounds: candidates.rounds)
            } catch {
                report.outcome = .vetoed(handler: "\(type(of: handler))", reason: "\(error)")
                return report
            }
        }

        var start = candidates.rounds.startIndex
        while start < candidates.rounds.endIndex {
            let end = min(start + deleteBatchSize, candidates.rounds.endIndex)
            do {
                report.deleted += try await store.delete(rounds: candidates.rounds[start..<end])
            } catch {
                report.outcome = .failed("\(error)")
                return report
            }
            report.batches += 1
            if let hook = afterBatch.withLock({ $0 }) { await hook(report.batches) }
            start = end
        }
        report.outcome = .pruned
        return report
    }
}
