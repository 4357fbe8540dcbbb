public import Logging
import Metrics
public import RuntimeRegistry
public import ServiceLifecycle

/// One hosted compute runtime's transaction pipeline on the embedded consensus.
///
/// ``submit(_:)`` checks the transaction on the runtime (`CheckTx` on the latest block; a
/// rejection fails the submitter with the runtime's error) and queues it. The batching loop,
/// ``run()``, cuts batches by the active descriptor's `txn_scheduler` parameters — at
/// `max_batch_size` transactions, at `max_batch_size_bytes`, or `batch_flush_timeout` after it
/// started waiting for a batch (on the injected clock) — and for each batch:
///
/// 1. executes it on the latest block (`executeTxBatch`), retrying a failed execution a few
///    times, so a batch survives a runtime restart (calls wait for the restarted runtime);
/// 2. checks the computed batch's header against that block and applies its I/O and state
///    write logs to the runtime's storage in one atomic `applyBatch` (the backend verifies the
///    roots the runtime claims);
/// 3. finalizes the round on the consensus (`finalizeRound`), which commits the block to the
///    runtime's history before it returns;
/// 4. completes every submitter with the block's round and the transaction's hash.
///
/// A failed step fails every transaction of the batch with ``ExecutorError/batchFailed(_:)``
/// and leaves storage and consensus consistent: storage is written only after a good
/// execution, and consensus only after storage (roots are content-addressed, so a round that
/// never got finalized leaves nothing a reader can see). The tag indexer follows the history
/// and reads the batch's tags from storage on its own.
///
/// Run it in the node's `ServiceGroup` after the hosted runtime (services stop in reverse
/// order, so the executor stops first). A graceful shutdown lets the batch in progress finish,
/// then fails every queued submitter with ``ExecutorError/stopped``.
///
/// A cancelled submitter is not withdrawn once queued: ``submit(_:)`` returns when its batch is
/// done either way, which is bounded by the execution attempts and call timeouts.
public final class LocalnetExecutor: Service, Sendable {
    /// Tunables beyond the descriptor's batch limits.
    public struct Options: Sendable, Hashable {
        /// Most transactions waiting for a batch; more fail with ``ExecutorError/queueFull(_:)``.
        public var queueCapacity: Int = 10_000
        /// Attempts at check-tx or executing a batch before its transactions fail.
        public var attempts: Int = 3
        /// Pause between attempts, on the executor's clock; long enough for the supervisor to
        /// notice a dead runtime, after which calls wait for the restarted one.
        public var retryDelay: Duration = .milliseconds(500)
        /// Deadline of each call into the runtime, waiting for a (re)connection included;
        /// nil for the provisioner's default (60 s).
        public var callTimeout: Duration?

        /// The defaults.
        public init() {}
    }

    /// The runtime whose transactions this executor commits.
    public let runtime: Runtime
    /// The hosted instance that checks and executes them.
    public let hosted: RichRuntime
    /// The tunables.
    public let options: Options

    private let consensus: LocalConsensus
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let queue: ExecutorQueue
    private let metrics: ExecutorMetrics
    /// Concurrent submissions share `CheckTx` calls.
    private let checker = CheckTxCoalescer(maxPerCall: 256)

    /// An executor for `runtime`, executing on `hosted` and finalizing on `consensus`.
    ///
    /// - Parameters:
    ///   - runtime: a compute runtime with storage (``Registry/finishInitialization()``) and an
    ///     active descriptor (waited for).
    ///   - hosted: the provisioned runtime; its service and `start()` are the caller's.
    ///   - clock: drives the batch flush timeout and the pause between attempts.
    public init(
        runtime: Runtime, hosted: RichRuntime, consensus: LocalConsensus, clock: any Clock<Duration> = ContinuousClock(),
        options: Options = Options(), logger: Logger
    ) {
        self.runtime = runtime
        self.hosted = hosted
        self.consensus = consensus
        self.clock = clock
        self.options = options
        var logger = logger
        logger[metadataKey: "runtime.id"] = "\(runtime.id)"
        self.logger = logger
        self.queue = ExecutorQueue(capacity: options.queueCapacity)
        self.metrics = ExecutorMetrics(runtimeID: runtime.id)
    }

    /// The counters so far, with the current queue length.
    public var statistics: ExecutorStatistics { queue.statistics }

    // MARK: Submitting

    /// Checks `transaction`, queues it and waits until its block is committed.
    ///
    /// - Returns: the round of the committed block and `Hash.digest(transaction)`.
    /// - Throws: ``ExecutorError/checkTxFailed(_:)`` when the runtime rejects it (or it is
    ///   larger than `max_batch_size_bytes`); ``ExecutorError/batchFailed(_:)`` when checking
    ///   or its batch failed; ``ExecutorError/queueFull(_:)``; ``ExecutorError/stopped``;
    ///   `CancellationError` when cancelled before it was queued.
    public func submit(_ transaction: [UInt8]) async throws -> SubmitResult {
        guard !queue.isStopping else { throw ExecutorError.stopped }
        let limits = BatchLimits(try await runtime.activeDescriptor().txnScheduler)
        guard transaction.count <= limits.maxBytes else {
            queue.record { $0.rejected += 1 }
            metrics.rejected.increment()
            throw ExecutorError.checkTxFailed(
                "transaction is \(transaction.count) bytes, more than the runtime's max_batch_size_bytes (\(limits.maxBytes))")
        }
        try await check(transaction)
        let hash = Hash.digest(transaction)
        return try await withCheckedThrowingContinuation { continuation in
            queue.enqueue(PendingTransaction(transaction: transaction, hash: hash, continuation: continuation))
        }
    }

    /// `CheckTx` on the latest block, retried when the call (not the check) fails.
    private func check(_ transaction: [UInt8]) async throws {
        var failure = ""
        for attempt in 1...max(options.attempts, 1) {
            if attempt > 1 { try await clock.sleep(for: options.retryDelay, tolerance: nil) }
            guard !queue.isStopping else { throw ExecutorError.stopped }
            let started = ContinuousClock.now
            let outcome = await checker.check(transaction)
            recordCheck(since: started)
            switch outcome {
            case .accepted:
                return
            case .stopped:
                throw ExecutorError.stopped
            case .refused(let text):
                queue.record { $0.rejected += 1 }
                metrics.rejected.increment()
                throw ExecutorError.checkTxFailed(text)
            case .callFailed(let error):
                try Task.checkCancellation()
                failure = error
                logger.warning(
                    "check-tx could not reach the runtime", metadata: ["runtime.attempt": "\(attempt)", "error": "\(error)"])
            }
        }
        throw ExecutorError.batchFailed(
            "check-tx failed \(max(options.attempts, 1)) times without an answer from the runtime: \(failure)")
    }

    /// One `CheckTx` call for `transactions` on the latest block.
    private func checkTxBatch(_ transactions: [[UInt8]]) async throws -> [String?] {
        let latest = try await latestBlock()
        return try await hosted.checkTxBatch(
            block: latest, lightBlock: LightBlock(height: consensus.height), transactions: transactions,
            timeout: options.callTimeout)
    }

    private func recordCheck(since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        queue.record { $0.checkTxSeconds += elapsed.seconds }
        metrics.checkTx.recordNanoseconds(elapsed.nanoseconds)
    }

    // MARK: Querying

    /// A query on the hosted runtime at the latest committed block; `null` when the runtime
    /// answers no data. Errors are the runtime's (or the call's) own.
    public func query(method: String, arguments: CBORValue) async throws -> CBORValue {
        let latest = try await latestBlock()
        return try await hosted.query(block: latest, method: method, arguments: arguments, timeout: options.callTimeout)
            ?? .null
    }

    /// The runtime's latest block on the consensus (which the history has committed too).
    private func latestBlock() async throws -> Block {
        guard let block = try await consensus.latestBlock(id: runtime.id, height: 0).block else {
            throw ExecutorError.batchFailed("the consensus has no block for runtime \(runtime.id)")
        }
        return block
    }

    // MARK: The batching loop

    /// Cuts and commits batches until graceful shutdown or cancellation; then fails every
    /// queued submitter with ``ExecutorError/stopped``. A batch in progress at a graceful
    /// shutdown is finished first.
    public func run() async throws {
        logger.info("localnet executor running")
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withTaskGroup(of: Void.self) { group in
                    // Check-tx calls run here, beside the batching loop, not in submitters' tasks.
                    group.addTask { await self.checker.run { try await self.checkTxBatch($0) } }
                    await loop()
                    checker.stop()
                }
            } onCancel: {
                self.queue.stop()
                self.checker.stop()
            }
        } onGracefulShutdown: {
            self.queue.stop()
            self.checker.stop()
        }
        let left = statistics.queued
        queue.drain(failing: .stopped)
        logger.info("localnet executor stopped", metadata: ["executor.failed_queued": "\(left)"])
    }

    private func loop() async {
        while true {
            await queue.wait(for: .work)
            if queue.isStopping { return }
            let descriptor: RuntimeDescriptor
            do {
                descriptor = try await runtime.activeDescriptor()
            } catch {
                return  // cancelled
            }
            let limits = BatchLimits(descriptor.txnScheduler)
            await waitForBatch(limits)
            if queue.isStopping { return }
            let batch = queue.takeBatch(limits)
            guard !batch.isEmpty else { continue }
            await process(batch, descriptor: descriptor)
        }
    }

    /// Returns when a full batch is queued, the flush timeout has passed, or the queue stops.
    private func waitForBatch(_ limits: BatchLimits) async {
        guard limits.flushTimeout > .zero else { return }
        let queue = queue
        let clock = clock
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await queue.wait(for: .fullBatch(limits)) }
            group.addTask { try? await clock.sleep(for: limits.flushTimeout, tolerance: nil) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Commits one batch and completes its submitters.
    private func process(_ batch: [PendingTransaction], descriptor: RuntimeDescriptor) async {
        metrics.batchSize.record(batch.count)
        do {
            let round = try await commit(batch.map(\.transaction), descriptor: descriptor)
            queue.record { s in
                s.batches += 1
                s.transactions += UInt64(batch.count)
                s.lastRound = round
                s.largestBatch = max(s.largestBatch, batch.count)
            }
            metrics.committed.increment(by: batch.count)
            for pending in batch { pending.succeed(round: round) }
            logger.debug(
                "batch committed", metadata: ["runtime.round": "\(round)", "executor.batch_size": "\(batch.count)"])
        } catch {
            let failure = error
            queue.record { $0.failedBatches += 1 }
            metrics.failedBatches.increment()
            logger.error(
                "batch not committed", metadata: ["executor.batch_size": "\(batch.count)", "error": "\(failure)"])
            for pending in batch { pending.fail(failure) }
        }
    }

    /// Executes, stores and finalizes `inputs`; returns the round of the new block.
    private func commit(_ inputs: [[UInt8]], descriptor: RuntimeDescriptor) async throws(ExecutorError) -> UInt64 {
        let (block, computed) = try await execute(inputs, descriptor: descriptor)
        let (ioRoot, stateRoot) = try verify(computed, on: block, descriptor: descriptor)

        let storage: any StorageBackend
        do {
            storage = try runtime.storage()
        } catch {
            throw .batchFailed("runtime \(runtime.id) has no storage: \(error)")
        }
        let round = computed.header.round
        var started = ContinuousClock.now
        do {
            _ = try await storage.applyBatch(ApplyBatchRequest(
                namespace: runtime.id, dstRound: round,
                ops: [
                    ApplyOp(rootType: .io, srcRound: round, srcRoot: .empty, dstRoot: ioRoot, writeLog: computed.ioWriteLog),
                    ApplyOp(
                        rootType: .state, srcRound: block.header.round, srcRoot: block.header.stateRoot, dstRoot: stateRoot,
                        writeLog: computed.stateWriteLog),
                ]))
        } catch {
            recordStage(\.storageApplySeconds, metrics.storageApply, since: started)
            throw .batchFailed("storage refused the write logs of round \(round): \(error)")
        }
        recordStage(\.storageApplySeconds, metrics.storageApply, since: started)

        started = ContinuousClock.now
        let finalized: AnnotatedBlock
        do {
            finalized = try await consensus.finalizeRound(
                runtimeID: runtime.id, ioRoot: ioRoot, stateRoot: stateRoot, messages: computed.messages,
                roundResults: RoundResults())
        } catch {
            recordStage(\.commitSeconds, metrics.commit, since: started)
            throw .batchFailed("consensus did not finalize round \(round): \(error)")
        }
        recordStage(\.commitSeconds, metrics.commit, since: started)
        // An epoch transition between execution and finalization puts the round one later;
        // the roots are the same and storage finds them by hash (and its pruning keeps the
        // roots the oldest kept block names, whatever round they were stored under).
        return finalized.block?.header.round ?? round
    }

    /// Executes `inputs` on the latest block, with up to `options.attempts` attempts.
    private func execute(_ inputs: [[UInt8]], descriptor: RuntimeDescriptor) async throws(ExecutorError)
        -> (Block, ComputedBatch)
    {
        let attempts = max(options.attempts, 1)
        var failure = ""
        for attempt in 1...attempts {
            if attempt > 1 {
                do {
                    try await clock.sleep(for: options.retryDelay, tolerance: nil)
                } catch {
                    throw .stopped
                }
            }
            let started = ContinuousClock.now
            do {
                let block = try await latestBlock()
                let request = RuntimeExecuteTxBatchRequest(
                    consensusBlock: LightBlock(height: consensus.height), roundResults: RoundResults(),
                    ioRoot: try Self.inputsRoot(inputs), inputs: inputs, block: block,
                    maxMessages: descriptor.executor.maxMessages)
                let computed = try await hosted.executeTxBatch(request, timeout: options.callTimeout)
                recordStage(\.executeSeconds, metrics.execute, since: started)
                return (block, computed)
            } catch {
                recordStage(\.executeSeconds, metrics.execute, since: started)
                if Task.isCancelled { throw .stopped }
                failure = "\(error)"
                logger.warning(
                    "batch execution failed",
                    metadata: [
                        "runtime.attempt": "\(attempt)", "executor.attempts": "\(attempts)",
                        "executor.batch_size": "\(inputs.count)", "error": "\(error)",
                    ])
            }
        }
        throw .batchFailed("the runtime failed to execute the batch \(attempts) times; last error: \(failure)")
    }

    /// Checks what the runtime computed on `block` before anything is written; returns the
    /// new I/O and state roots.
    private func verify(_ computed: ComputedBatch, on block: Block, descriptor: RuntimeDescriptor)
        throws(ExecutorError) -> (io: Hash, state: Hash)
    {
        let header = computed.header
        func invalid(_ why: String) -> ExecutorError {
            .batchFailed("the runtime returned an invalid batch for round \(block.header.round + 1): \(why)")
        }
        guard header.round == block.header.round + 1 else {
            throw invalid("round \(header.round), expected \(block.header.round + 1)")
        }
        guard header.previousHash == block.header.encodedHash() else {
            throw invalid("previous hash \(header.previousHash), expected \(block.header.encodedHash())")
        }
        guard let ioRoot = header.ioRoot, let stateRoot = header.stateRoot else {
            throw invalid("the header has no I/O or state root")
        }
        let messagesHash = RuntimeMessage.messagesHash(computed.messages)
        guard header.messagesHash == nil || header.messagesHash == messagesHash else {
            throw invalid("messages hash \(header.messagesHash.map { "\($0)" } ?? "nil") does not match its messages")
        }
        guard computed.messages.count <= Int(descriptor.executor.maxMessages) else {
            throw invalid("\(computed.messages.count) messages, more than max_messages (\(descriptor.executor.maxMessages))")
        }
        return (ioRoot, stateRoot)
    }

    /// The root of the I/O tree holding only the batch's inputs (the request's `io_root`).
    private static func inputsRoot(_ inputs: [[UInt8]]) throws -> Hash {
        let artifacts = inputs.enumerated().map { TransactionArtifacts(input: $1, batchOrder: UInt32($0)) }
        return try MerkleTree().applying(IOTreeLayout.writeLog(transactions: artifacts, tags: [])).hash
    }

    private func recordStage(
        _ field: WritableKeyPath<ExecutorStatistics, Double>, _ timer: Metrics.Timer,
        since started: ContinuousClock.Instant
    ) {
        let elapsed = ContinuousClock.now - started
        queue.record { $0[keyPath: field] += elapsed.seconds }
        timer.recordNanoseconds(elapsed.nanoseconds)
    }
}

extension Duration {
    /// The duration in seconds.
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds, saturating.
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        return whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
