import ConsensusAPI
public import Logging
import OasisCommon
public import RuntimeHistory
public import ServiceLifecycle

/// What the indexer service did; for logs, metrics and tests.
public enum TagIndexerEvent: Hashable, Sendable {
    /// Catch-up finished: every stored round up to `round` is indexed (nil: history empty).
    case caughtUp(through: UInt64?)
    /// A round was indexed.
    case indexed(round: UInt64)
    /// A round could not be indexed and was skipped.
    case skipped(round: UInt64, reason: String)
}

/// Follows a runtime's history and indexes every round's transaction tags (oasis-core's
/// `tagindexer.Service`), as a `Service`.
///
/// Unlike v21.1, which indexed only blocks delivered while it ran, the service first **catches
/// up**: it indexes every stored round after the last indexed one, `catchUpBatchSize` rounds
/// per transaction, and only then follows the history's watch. It subscribes to the watch
/// before catching up, so no block committed meanwhile is missed.
///
/// Creating it registers a prune handler on the history's pruner, so pruned rounds leave the
/// index too (before they leave the history), and the history is not pruned past the rounds
/// indexed so far. The service never closes its backend.
public final class TagIndexer: Service, Sendable {
    /// Tuning of catch-up and of reading transactions.
    public struct Configuration: Sendable, Hashable {
        /// Rounds indexed per transaction while catching up.
        public var catchUpBatchSize: Int
        /// First wait before retrying a failed read of a round's transactions.
        public var retryInitialInterval: Duration
        /// Longest wait between retries (the wait grows ×1.5 per attempt).
        public var retryMaxInterval: Duration
        /// After this long of failed attempts the round is skipped and logged (v21.1: 120s).
        public var retryMaxElapsed: Duration

        /// The defaults: 256 rounds per catch-up transaction and v21.1's retry timing.
        public init(
            catchUpBatchSize: Int = 256, retryInitialInterval: Duration = .milliseconds(500),
            retryMaxInterval: Duration = .seconds(60), retryMaxElapsed: Duration = .seconds(120)
        ) {
            self.catchUpBatchSize = catchUpBatchSize
            self.retryInitialInterval = retryInitialInterval
            self.retryMaxInterval = retryMaxInterval
            self.retryMaxElapsed = retryMaxElapsed
        }
    }

    /// The index, for queries.
    public let backend: any TagIndexBackend
    /// Catch-up and retry tuning.
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
        self.configuration = configuration
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
    /// or the history closing. With the disabled backend it only waits for shutdown.
    public func run() async throws {
        guard backend.isEnabled else {
            logger.info("tag indexer is disabled")
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown { [self] in
            let live = history.watchBlocks()
            let caughtUpTo = await catchUp()
            for await block in live {
                guard let header = block.block?.header else { continue }
                if let caughtUpTo, header.round <= caughtUpTo, try await isIndexed(header) {
                    continue  // catch-up already indexed this very block
                }
                guard let entry = try await prepare(header) else { continue }
                do {
                    try await backend.index([entry])
                    eventBroadcaster.publish(.indexed(round: header.round))
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    skip(header.round, because: "indexing failed: \(error)")
                }
            }
        }
    }

    /// Indexes every stored round above the last indexed one, in batches. Returns the last
    /// round it saw.
    private func catchUp() async -> UInt64? {
        var last: UInt64?
        do {
            last = try await backend.lastIndexedRound()
            let start = last
            var count = 0
            while !Task.isCancelled {
                let blocks = try await history.annotatedBlocks(after: last, limit: configuration.catchUpBatchSize)
                guard let newest = blocks.last?.block?.header.round else { break }
                var entries: [IndexedRound] = []
                for block in blocks {
                    guard let header = block.block?.header, let entry = try await prepare(header) else { continue }
                    entries.append(entry)
                }
                try await backend.index(entries)
                for entry in entries { eventBroadcaster.publish(.indexed(round: entry.round)) }
                count += entries.count
                last = newest
            }
            if count > 0 {
                logger.info("tag indexer caught up", metadata: [
                    "tagindexer.from": "\(start.map { "\($0)" } ?? "start")", "tagindexer.through": "\(last ?? 0)",
                    "tagindexer.rounds": "\(count)",
                ])
            }
        } catch is CancellationError {
            return last
        } catch {
            logger.error("tag indexer catch-up failed; following new blocks only", metadata: ["error": "\(error)"])
        }
        eventBroadcaster.publish(.caughtUp(through: last))
        return last
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
                let round = try await source.transactions(for: header)
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

    private func skip(_ round: UInt64, because reason: String) {
        logger.error("tag indexer skipped a round", metadata: ["tagindexer.round": "\(round)", "error": "\(reason)"])
        eventBroadcaster.publish(.skipped(round: round, reason: reason))
    }
}

/// Drops pruned rounds from the index before the history deletes them; an error vetoes.
///
/// It also vetoes a prune that reaches rounds the indexer has not indexed yet (one that lags,
/// or is still catching up): pruning would delete their blocks and I/O trees first, so the
/// index would miss them for good (and a block already handed to the indexer would have its
/// read retried for two minutes before being skipped). The pruner offers the rounds again on
/// its next pass; by then the indexer has usually caught up.
struct PruneIndex: PruneHandler {
    let backend: any TagIndexBackend
    let logger: Logger

    func prune(rounds: [UInt64]) async throws {
        guard backend.isEnabled, let newest = rounds.max() else { return }
        do {
            let indexedThrough = try await backend.lastIndexedRound()
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
