import ConsensusAPI
public import Logging
import OasisCommon
public import RuntimeHistory
public import ServiceLifecycle

/// What the indexer service did; for logs, metrics and tests.
public enum TagIndexerEvent: Hashable, Sendable {
    /// Catch-up finished: every stored round up to `round` is handled (nil: history empty).
    case caughtUp(through: UInt64?)
    /// A round was indexed.
    case indexed(round: UInt64)
    /// A round's transactions could not be read, even after retries, and it was skipped.
    case skipped(round: UInt64, reason: String)
}

/// Follows a runtime's history and indexes every round's transaction tags (oasis-core's
/// `tagindexer.Service`), as a `Service`.
///
/// Unlike v21.1, which indexed only blocks delivered while it ran, the service first **catches
/// up**: it indexes every stored round above its watermark (``TagIndexBackend/indexedThrough()``),
/// `catchUpBatchSize` rounds per transaction, and only then follows the history's watch. It
/// subscribes to the watch before catching up, so no block committed meanwhile is missed.
///
/// Rounds are handled in order and the watermark only moves over handled rounds, so no round
/// is left behind: a failed step (a history read, an index write) is retried with backoff on
/// the clock until it succeeds, and a live block above the round after the watermark is not
/// indexed before the rounds below it (catch-up takes them from the history).
///
/// Creating it registers a prune handler on the history's pruner, so pruned rounds leave the
/// index too (before they leave the history), and the history is not pruned past the
/// watermark. The service never closes its backend.
public final class TagIndexer: Service, Sendable {
    /// Tuning of catch-up and of reading transactions.
    public struct Configuration: Sendable, Hashable {
        /// Rounds indexed per transaction while catching up.
        public var catchUpBatchSize: Int
        /// First wait before retrying a failed read of a round's transactions, or a failed
        /// history read or index write.
        public var retryInitialInterval: Duration
        /// Longest wait between retries (the wait grows ×1.5 per attempt).
        public var retryMaxInterval: Duration
        /// After this long of failed attempts to read a round's transactions, the round is
        /// skipped and logged (v21.1: 120s). A failed history read or index write is retried
        /// without end: skipping it would leave rounds unindexed.
        public var retryMaxElapsed: Duration
        /// How long one attempt to read a round's transactions may take before it is cancelled
        /// and counts as failed (v21.1: 5s), so a read that never answers is retried and in the
        /// end skipped instead of holding the indexer, and the history's pruning, for good.
        /// Measured in real time: it bounds I/O, not the injected clock's waits.
        public var attemptTimeout: Duration

        /// The defaults: 256 rounds per catch-up transaction and v21.1's retry timing.
        public init(
            catchUpBatchSize: Int = 256, retryInitialInterval: Duration = .milliseconds(500),
            retryMaxInterval: Duration = .seconds(60), retryMaxElapsed: Duration = .seconds(120),
            attemptTimeout: Duration = .seconds(5)
        ) {
            self.catchUpBatchSize = catchUpBatchSize
            self.retryInitialInterval = retryInitialInterval
            self.retryMaxInterval = retryMaxInterval
            self.retryMaxElapsed = retryMaxElapsed
            self.attemptTimeout = attemptTimeout
        }

        /// The configuration the service runs with: at least one round per catch-up
        /// transaction (with none nothing would ever be indexed, and every prune refused), and
        /// retry waits and attempts of at least a millisecond (a zero wait would spin).
        var bounded: Configuration {
            var c = self
            c.catchUpBatchSize = max(c.catchUpBatchSize, 1)
            c.retryInitialInterval = max(c.retryInitialInterval, .milliseconds(1))
            c.retryMaxInterval = max(c.retryMaxInterval, c.retryInitialInterval)
            c.attemptTimeout = max(c.attemptTimeout, .milliseconds(1))
            return c
        }
    }

    /// The index, for queries.
    public let backend: any TagIndexBackend
    /// Catch-up and retry tuning, as given with values out of range raised to their least.
    public let configuration: Configuration
    private let history: any BlockHistory
    private let source: any TransactionSource
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let eventBroadcaster = Broadcaster<TagIndexerEvent>(replayLast: false)

    /// Creates the service and registers its prune handler on `history.pruner`.
    public init(
        backend: any TagIndexBackend, history: any BlockHistory, source: any TransactionSource,
        configuration: Configuration = Configuration(), clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: "runtime.id"] = "\(history.runtimeID)"
        self.backend = backend
        self.history = history
        self.source = source
        self.configuration = configuration.bounded
        self.clock = clock
        self.logger = logger
        history.pruner.register(PruneIndex(backend: backend, logger: logger))
    }

    /// The index's read side.
    public var queries: any TagIndexQueries { backend }

    /// Every event from now on.
    public func events() -> AsyncStream<TagIndexerEvent> {
        eventBroadcaster.subscribe()
    }

    /// Catches up, then indexes every committed block, until graceful shutdown, cancellation
    /// or the history (or the index) closing. With the disabled backend it only waits for
    /// shutdown.
    public func run() async throws {
        guard backend.isEnabled else {
            logger.info("tag indexer is disabled")
            try? await gracefulShutdown()
            return
        }
        do {
            try await cancelWhenGracefulShutdown { [self] in
                let live = history.watchBlocks()
                let start = try await retrying("reading the watermark", through: nil) {
                    try await backend.indexedThrough()
                }
                var through = try await catchUp(after: start)
                eventBroadcaster.publish(.caughtUp(through: through))
                for await block in live {
                    guard let header = block.block?.header else { continue }
                    if let handled = through, header.round <= handled {
                        // Catch-up handled this round already; the block differs only when the
                        // history overwrote the round (docs/HISTORY.md, height 0).
                        if try await isIndexed(header) { continue }
                        try await indexLive(header, advancing: false, through: handled)
                    } else if let handled = through, header.round - handled == 1 {
                        try await indexLive(header, advancing: true, through: handled)
                        through = header.round
                    } else {
                        // Not the next round (or none handled yet): take every round up to it
                        // from the history, in order.
                        through = try await catchUp(after: through)
                    }
                }
            }
        } catch is CancellationError {
            return
        } catch {
            // Only a closed history or index ends the service this way; see `retrying`.
            logger.info("tag indexer stopped", metadata: ["error": "\(error)"])
        }
    }

    /// Indexes every stored round above `start`, `catchUpBatchSize` rounds per transaction that
    /// also moves the watermark, until the history has no more. Returns the new watermark.
    private func catchUp(after start: UInt64?) async throws -> UInt64? {
        var through = start
        var count = 0
        while true {
            try Task.checkCancellation()
            let handled = through
            let blocks = try await retrying("reading the history", through: handled) {
                try await history.annotatedBlocks(after: handled, limit: configuration.catchUpBatchSize)
            }
            guard let newest = blocks.last?.block?.header.round else { break }
            var entries: [IndexedRound] = []
            for block in blocks {
                guard let header = block.block?.header, let entry = try await prepare(header) else { continue }
                entries.append(entry)
            }
            let batch = entries
            try await retrying("indexing rounds", through: handled) {
                try await backend.index(batch, through: newest)
            }
            for entry in entries { eventBroadcaster.publish(.indexed(round: entry.round)) }
            count += entries.count
            through = newest
        }
        if count > 0 {
            logger.info("tag indexer caught up", metadata: [
                "tagindexer.from": "\(start.map { "\($0)" } ?? "start")", "tagindexer.through": "\(through ?? 0)",
                "tagindexer.rounds": "\(count)",
            ])
        }
        return through
    }

    /// Indexes a block from the watch: the round after the watermark `through` (`advancing`,
    /// the watermark moves to it), or a round at or below it that the history overwrote.
    private func indexLive(_ header: BlockHeader, advancing: Bool, through: UInt64) async throws {
        let entry = try await prepare(header)
        let rounds = entry.map { [$0] } ?? []
        if advancing {
            try await retrying("indexing a round", through: through) {
                try await backend.index(rounds, through: header.round)
            }
        } else if !rounds.isEmpty {
            try await retrying("indexing an overwritten round", through: through) {
                try await backend.index(rounds)
            }
        }
        if let entry { eventBroadcaster.publish(.indexed(round: entry.round)) }
    }

    /// Runs `step` until it succeeds. A failure is logged and retried after a wait on the
    /// clock (`retryInitialInterval`, ×1.5 per attempt up to `retryMaxInterval`), however long
    /// it takes: giving up would leave rounds unindexed, and the watermark holds the history's
    /// pruning back meanwhile. Only cancellation and a closed history or index end it.
    private func retrying<T>(
        _ what: String, through: UInt64?, _ step: () async throws -> T
    ) async throws -> T {
        var delay = configuration.retryInitialInterval
        while true {
            do {
                return try await step()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if (error as? HistoryError) == .closed || (error as? TagIndexerError) == .closed { throw error }
                logger.error("tag indexer step failed; retrying", metadata: [
                    "tagindexer.step": "\(what)", "tagindexer.indexed_through": "\(through.map { "\($0)" } ?? "none")",
                    "tagindexer.retry_in": "\(delay)", "error": "\(error)",
                ])
                try await clock.sleep(for: delay, tolerance: nil)
                delay = min(delay * 1.5, configuration.retryMaxInterval)
            }
        }
    }

    /// Whether the index holds this exact block at its round.
    private func isIndexed(_ header: BlockHeader) async throws -> Bool {
        do {
            return try await backend.queryBlock(hash: header.encodedHash()) == header.round
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return false
        }
    }

    /// What to index for the round of `header`, or nil when its transactions could not be read.
    private func prepare(_ header: BlockHeader) async throws -> IndexedRound? {
        var entry = IndexedRound(round: header.round, blockHash: header.encodedHash())
        // An empty I/O root: no transactions, only the block is recorded.
        guard header.ioRoot != .empty else { return entry }
        var delay = configuration.retryInitialInterval
        var waited = Duration.zero
        while true {
            do {
                let round = try await readTransactions(header)
                entry.transactions = round.transactions
                entry.tags = round.tags
                return entry
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                guard waited + delay <= configuration.retryMaxElapsed else {
                    skip(header.round, because: "reading its transactions failed: \(error)")
                    return nil
                }
                logger.debug("retrying transactions read", metadata: [
                    "tagindexer.round": "\(header.round)", "error": "\(error)",
                ])
                try await clock.sleep(for: delay, tolerance: nil)
                waited += delay
                delay = min(delay * 1.5, configuration.retryMaxInterval)
            }
        }
    }

    /// One attempt to read the transactions of `header`'s round, cancelled after
    /// `attemptTimeout`.
    private func readTransactions(_ header: BlockHeader) async throws -> RoundTransactions {
        let source = self.source
        let timeout = configuration.attemptTimeout
        return try await withThrowingTaskGroup(of: RoundTransactions?.self) { group in
            group.addTask { try await source.transactions(for: header) }
            group.addTask {
                try await ContinuousClock().sleep(for: timeout, tolerance: nil)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let round = first else {
                try Task.checkCancellation()
                throw AttemptTimedOut(timeout: timeout)
            }
            return round
        }
    }

    private func skip(_ round: UInt64, because reason: String) {
        logger.error("tag indexer skipped a round", metadata: ["tagindexer.round": "\(round)", "error": "\(reason)"])
        eventBroadcaster.publish(.skipped(round: round, reason: reason))
    }
}

/// A read of a round's transactions that did not answer in time.
struct AttemptTimedOut: Error, CustomStringConvertible {
    let timeout: Duration

    var description: String { "no answer within \(timeout)" }
}

/// Drops pruned rounds from the index before the history deletes them; an error vetoes.
///
/// It also vetoes a prune that reaches past the watermark, rounds the indexer has not handled
/// yet (one that lags, is still catching up or is retrying a failed step): pruning would delete
/// their blocks and I/O trees first, so the index would miss them for good (and a block already
/// handed to the indexer would have its read retried for two minutes before being skipped).
/// The watermark only advances contiguously, so an unindexed round below the highest indexed
/// one holds the prune back too. The pruner offers the rounds again on its next pass; by then
/// the indexer has usually caught up.
struct PruneIndex: PruneHandler {
    let backend: any TagIndexBackend
    let logger: Logger

    func prune(rounds: [UInt64]) async throws {
        guard backend.isEnabled, let newest = rounds.max() else { return }
        do {
            let indexedThrough = try await backend.indexedThrough()
            guard let indexedThrough, indexedThrough >= newest else {
                // Not a failure: the pruner logs the veto and tries again on its next pass.
                throw TagIndexerError.notIndexedYet(round: newest, indexedThrough: indexedThrough)
            }
            try await backend.prune(rounds: rounds)
        } catch {
            if case TagIndexerError.notIndexedYet = error { throw error }
            logger.error("tag index prune failed", metadata: ["error": "\(error)", "tagindexer.rounds": "\(rounds.count)"])
            throw error
        }
    }
}
