public import ConsensusAPI
public import Logging
public import OasisCommon
public import ServiceLifecycle
import Synchronization

/// The embedded single-node consensus: a chain that runs inside the node, so the registry and
/// the localnet have epochs, registrations and runtime blocks without a network.
///
/// * **Heights** advance once per `blockInterval` on the injected clock while the service runs
///   (``run()``), and once for every registration and finalized round, which are transactions
///   in a block of their own. The genesis height is 1.
/// * **Epochs**: height `h` is in epoch `h / epochInterval`; reaching a multiple of
///   `epochInterval` is an epoch transition.
/// * **Registrations** change a runtime's registry descriptor at once. Its *active* descriptor
///   (what ``runtimeState(id:height:)`` reports) changes at the next epoch transition, except
///   for a new runtime, which is active from its registration.
/// * **Roothash blocks** (compute runtimes only): a genesis block at registration, an
///   epoch-transition block at every epoch transition, and a normal block for every
///   ``finalizeRound(runtimeID:ioRoot:stateRoot:messages:roundResults:)``. A runtime gets at
///   most one block per height.
/// * **Tracking**: ``trackRuntime(history:)`` first replays, in batches, every block the
///   history has not seen (those above its last consensus height), then commits every new block
///   as it is finalized, before the step that made it returns.
///
/// Every step is written to `local-consensus.sqlite` in one transaction before it is published,
/// so a restarted node continues at the same height, epoch and rounds, and its tracked
/// histories get exactly the blocks they missed.
public final class LocalConsensus: ConsensusBackend, Service {
    /// The backend name in ``status()``.
    public static let backendName = "local"
    /// Blocks per history commit while a tracked history catches up (the default).
    public static let defaultReplayBatchSize = 256

    /// Blocks per history commit while a tracked history catches up.
    public let replayBatchSize: Int

    /// The genesis document this chain was started from.
    public let genesis: ConsensusGenesis
    /// The state file.
    public var path: String { store.path }

    private struct Entry {
        var sequence: Int
        var registry: RuntimeDescriptor
        var active: RuntimeDescriptor
    }

    private struct State {
        var height: Int64
        var epoch: UInt64
        var runtimes: [Namespace: Entry] = [:]
        var latest: [Namespace: AnnotatedBlock] = [:]
        var blockWatches: [Namespace: Broadcaster<AnnotatedBlock>] = [:]
        var runtimeWatchers: [Int: AsyncStream<RuntimeDescriptor>.Continuation] = [:]
        var nextWatcher = 0
        var trackers: [Int: any RoothashHistory] = [:]
        /// Trackers whose history refused a block: on every later step they are caught up from
        /// the store instead of being handed that step's block alone.
        var behind: Set<Int> = []
        var nextTracker = 0
        var closed = false

        var orderedRuntimes: [Entry] { runtimes.values.sorted { $0.sequence < $1.sequence } }
    }

    /// One step's changes, built from a snapshot and then written and published as a whole.
    private struct Draft {
        var height: Int64
        var epoch: UInt64
        var epochChanged: Bool
        var runtimes: [Namespace: Entry]
        var latest: [Namespace: AnnotatedBlock]
        var changed: Set<Namespace> = []
        var blocks: [ConsensusStore.BlockRecord] = []
        var registrations: [RuntimeDescriptor] = []
    }

    private let store: ConsensusStore
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let gate = SerialGate()
    private let epochs = Broadcaster<EpochTime>(replayLast: true)
    private let state: Mutex<State>

    /// Opens the chain in `directory`, creating it from `genesis` on first use.
    ///
    /// - Parameters:
    ///   - genesis: validated again here; on a restart its chain context must match the stored one.
    ///   - directory: where `local-consensus.sqlite` lives (the node's data directory); it must exist.
    ///   - clock: drives block production in ``run()``.
    ///   - replayBatchSize: blocks per history transaction when tracking catches a history up.
    /// - Throws: ``LocalConsensusError``.
    public init(
        genesis: ConsensusGenesis, directory: String, clock: any Clock<Duration> = ContinuousClock(),
        replayBatchSize: Int = defaultReplayBatchSize, logger: Logger
    ) throws(LocalConsensusError) {
        try genesis.validate()
        self.replayBatchSize = max(replayBatchSize, 1)
        self.genesis = genesis
        self.clock = clock
        var logger = logger
        logger[metadataKey: "consensus.backend"] = "\(Self.backendName)"
        self.logger = logger
        store = try ConsensusStore(directory: directory)

        let initial: State
        do throws(LocalConsensusError) {
            if let loaded = try store.load() {
                guard loaded.chainContext == genesis.chainContext else {
                    throw LocalConsensusError.genesisMismatch(
                        path: store.path, stored: loaded.chainContext, genesis: genesis.chainContext)
                }
                // The chain context can be set explicitly, so it does not pin `epoch_interval`:
                // with another interval the next step would recompute the epoch from the height
                // and could publish a transition to an earlier epoch.
                let expected = UInt64(loaded.height) / genesis.epochInterval
                guard loaded.epoch == expected else {
                    throw LocalConsensusError.invalidGenesis(
                        "epoch_interval \(genesis.epochInterval) does not match the chain stored in '\(store.path)' "
                            + "(its height \(loaded.height) is in epoch \(loaded.epoch) there, but in epoch \(expected) "
                            + "with this epoch_interval); a changed genesis needs a fresh consensus directory: use the "
                            + "genesis file the data directory was created with, or remove '\(store.path)' to start a "
                            + "new chain")
                }
                // The genesis registers its runtimes when the chain is made. One added to the
                // document later would never be registered, and a node supporting it would wait
                // for its descriptor for good.
                let stored = Set(loaded.runtimes.map(\.registry.id))
                if let added = genesis.runtimes.first(where: { !stored.contains($0.id) }) {
                    throw LocalConsensusError.invalidGenesis(
                        "runtime \(added.id) is in the genesis document but not in the chain stored in '\(store.path)', "
                            + "which was made without it; a changed genesis needs a fresh consensus directory: use the "
                            + "genesis file the data directory was created with, or remove '\(store.path)' to start a "
                            + "new chain")
                }
                try Self.checkTimestamps(of: loaded.latestBlocks.values, genesis: genesis, path: store.path)
                var s = State(height: loaded.height, epoch: loaded.epoch)
                for record in loaded.runtimes {
                    s.runtimes[record.registry.id] = Entry(
                        sequence: record.sequence, registry: record.registry, active: record.active)
                }
                s.latest = loaded.latestBlocks
                initial = s
                logger.info("local consensus resumed", metadata: [
                    "consensus.height": "\(loaded.height)", "consensus.epoch": "\(loaded.epoch)",
                    "consensus.runtimes": "\(loaded.runtimes.count)",
                ])
            } else {
                let height: Int64 = 1
                var draft = Draft(
                    height: height, epoch: UInt64(height) / genesis.epochInterval, epochChanged: false, runtimes: [:],
                    latest: [:])
                for runtime in genesis.runtimes {
                    Self.add(runtime, to: &draft, timestamp: try Self.timestamp(height, genesis))
                }
                try store.writeSynchronously(Self.storeStep(draft), chainContext: genesis.chainContext)
                var s = State(height: height, epoch: draft.epoch)
                s.runtimes = draft.runtimes
                s.latest = draft.latest
                initial = s
                logger.info("local consensus created", metadata: [
                    "consensus.chain_context": "\(genesis.chainContext)", "consensus.runtimes": "\(genesis.runtimes.count)",
                ])
            }
        } catch {
            store.close()
            throw error
        }
        state = Mutex(initial)
        epochs.publish(EpochTime(initial.epoch))
    }

    // MARK: Reading

    /// The latest height.
    public var height: Int64 { state.withLock { $0.height } }
    /// The current epoch.
    public var epoch: EpochTime { state.withLock { EpochTime($0.epoch) } }

    /// The registry descriptor of a registered runtime.
    public func registryDescriptor(id: Namespace) throws(LocalConsensusError) -> RuntimeDescriptor {
        guard let entry = state.withLock({ $0.runtimes[id] }) else { throw .unknownRuntime(id) }
        return entry.registry
    }

    /// The local chain is synced as soon as it is open.
    public func waitSynced() async throws {}

    /// The current epoch on subscription, then every epoch transition.
    public func watchEpochs() -> AsyncStream<EpochTime> {
        epochs.subscribe()
    }

    /// Every registered runtime in registration order, then each registration or update.
    public func watchRuntimes() -> AsyncStream<RuntimeDescriptor> {
        let (stream, continuation) = AsyncStream<RuntimeDescriptor>.makeStream(bufferingPolicy: .unbounded)
        let (id, closed) = state.withLock { s -> (Int, Bool) in
            for entry in s.orderedRuntimes { continuation.yield(entry.registry) }
            s.nextWatcher += 1
            if !s.closed { s.runtimeWatchers[s.nextWatcher] = continuation }
            return (s.nextWatcher, s.closed)
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.runtimeWatchers.removeValue(forKey: id) }
        }
        if closed { continuation.finish() }
        return stream
    }

    /// The runtime's roothash state. Only the latest state is kept: `height` must be 0 (latest)
    /// or the current height. Unknown and non-compute runtimes: `roothash: invalid runtime`.
    public func runtimeState(id: Namespace, height: Int64) async throws -> RuntimeState {
        let (entry, latest, current) = state.withLock { ($0.runtimes[id], $0.latest[id], $0.height) }
        try Self.checkHeight(height, current: current)
        guard let entry, entry.registry.kind == .compute, let latest else { throw RoothashErrors.invalidRuntime }
        return RuntimeState(
            runtime: entry.active, currentBlock: latest.block, currentBlockHeight: latest.consensusHeight)
    }

    /// The runtime's latest block (`height` as in ``runtimeState(id:height:)``).
    public func latestBlock(id: Namespace, height: Int64) async throws -> AnnotatedBlock {
        let (entry, latest, current) = state.withLock { ($0.runtimes[id], $0.latest[id], $0.height) }
        try Self.checkHeight(height, current: current)
        guard let entry, entry.registry.kind == .compute else { throw RoothashErrors.invalidRuntime }
        guard let latest else { throw RoothashErrors.notFound }
        return latest
    }

    /// The latest block on subscription (when there is one), then every later block.
    public func watchBlocks(id: Namespace) -> AsyncStream<AnnotatedBlock> {
        state.withLock { s in
            if let watch = s.blockWatches[id] { return watch.subscribe() }
            let watch = Broadcaster<AnnotatedBlock>(replayLast: true)
            if let latest = s.latest[id] { watch.publish(latest) }
            if s.closed { watch.finish() }
            s.blockWatches[id] = watch
            return watch.subscribe()
        }
    }

    /// Replays what `history` missed, then commits each new block of its runtime to it, until
    /// ``untrackRuntime(id:)``. A history that refuses a block (a full disk, say) is not dropped,
    /// as v21.1's tracker would stop for good: from the next block on it is caught up from the
    /// chain's store at every step until it takes them, with one warning when it falls behind
    /// and one notice when it has caught up.
    public func trackRuntime(history: any RoothashHistory) async throws {
        let id = history.runtimeID
        let start = try await history.lastConsensusHeight()
        let current = try open().height
        guard start <= current else {
            throw LocalConsensusError.historyAhead(runtime: id, historyHeight: start, consensusHeight: current)
        }
        // Most of the catch-up runs outside the gate, so tracking many histories (each commit
        // an fsync) does not hold up the chain or each other. Nothing else writes to this
        // history yet, and steps taken meanwhile are caught by the second pass, under the gate.
        var after = try await replay(to: history, after: start)
        try await gate.run {
            _ = try open()
            after = try await replay(to: history, after: after)
            state.withLock { s in
                s.nextTracker += 1
                s.trackers[s.nextTracker] = history
            }
        }
        logger.debug("tracking runtime", metadata: ["runtime.id": "\(id)", "consensus.replayed_from": "\(start)"])
    }

    /// Stops handing blocks to the histories of runtime `id` (before they are closed). Waits
    /// for a step in progress, so no block reaches them after it returns.
    public func untrackRuntime(id: Namespace) async {
        // The gate is where steps run: taking it waits for the one in progress.
        try? await gate.run {
            state.withLock { s in
                for (key, history) in s.trackers where history.runtimeID == id {
                    s.trackers.removeValue(forKey: key)
                    s.behind.remove(key)
                }
            }
        }
    }

    /// Commits every stored block of the history's runtime above height `after`, in batches;
    /// returns the height of the last one committed (or `after`).
    private func replay(to history: any RoothashHistory, after height: Int64) async throws -> Int64 {
        var after = height
        while true {
            let batch = try await store.blocks(runtime: history.runtimeID, afterHeight: after, limit: replayBatchSize)
            guard let last = batch.last else { return after }
            try await history.commit(rounds: batch.map { FinalizedRound(block: $0.block, roundResults: $0.results) })
            after = last.block.consensusHeight
        }
    }

    /// Backend `local`, the consensus protocol version, the current height and epoch.
    public func status() async throws -> ConsensusStatus {
        let (height, epoch) = state.withLock { ($0.height, $0.epoch) }
        return ConsensusStatus(
            backend: Self.backendName, version: .consensusProtocol, latestHeight: height, latestEpoch: EpochTime(epoch))
    }

    /// The genesis document's chain context.
    public func chainContext() async throws -> String {
        genesis.chainContext
    }

    // MARK: Writing

    /// Produces one empty block (an epoch transition when the new height calls for one).
    public func advanceBlock() async throws {
        try await gate.run {
            try await apply(try draft(after: try open()))
        }
    }

    /// Registers a new runtime or updates a registered one, in a block of its own.
    ///
    /// The descriptor must pass `verifyRuntime` (strict version check) and, for a compute
    /// runtime naming a key manager, the key-manager checks; an update must also pass
    /// `verifyRuntimeUpdate`. Watchers of ``watchRuntimes()`` see it at once; a new compute
    /// runtime gets its genesis block now; an update becomes active at the next epoch.
    ///
    /// - Returns: the height of the block that carried it.
    @discardableResult
    public func registerRuntime(_ descriptor: RuntimeDescriptor) async throws -> Int64 {
        try await gate.run {
            let snapshot = try open()
            do {
                if let existing = snapshot.runtimes[descriptor.id] {
                    try RuntimeDescriptor.verifyRuntimeUpdate(current: existing.registry, new: descriptor)
                }
                try descriptor.verifyRuntime(params: genesis.registryParameters, isGenesis: false, isSanityCheck: false)
                if descriptor.kind == .compute {
                    var all = snapshot.runtimes.mapValues(\.registry)
                    all[descriptor.id] = descriptor
                    let table = try RuntimeLookupTable(runtimes: Array(all.values), suspended: [])
                    try descriptor.verifyRegisterComputeRuntimeArgs(lookup: table)
                }
            } catch {
                throw LocalConsensusError.invalidRegistration("\(error)")
            }
            if let problem = ConsensusGenesis.genesisRoundProblem(descriptor) {
                throw LocalConsensusError.invalidRegistration(problem)
            }
            var next = try draft(after: snapshot)
            if var entry = next.runtimes[descriptor.id] {
                entry.registry = descriptor
                next.runtimes[descriptor.id] = entry
                next.changed.insert(descriptor.id)
                next.registrations.append(descriptor)
            } else {
                Self.add(descriptor, to: &next, timestamp: try Self.timestamp(next.height, genesis))
            }
            try await apply(next)
            return next.height
        }
    }

    /// Finalizes the next round of a compute runtime as a normal block on top of its latest
    /// block, in a consensus block of its own, and records `roundResults` with it.
    ///
    /// When that height is also an epoch transition, the epoch-transition block comes first
    /// and the round is finalized at the following height.
    ///
    /// - Returns: the new block with its consensus height.
    @discardableResult
    public func finalizeRound(
        runtimeID: Namespace, ioRoot: Hash, stateRoot: Hash, messages: [RuntimeMessage] = [],
        roundResults: RoundResults = RoundResults()
    ) async throws -> AnnotatedBlock {
        try await gate.run {
            var snapshot = try open()
            guard let entry = snapshot.runtimes[runtimeID] else { throw LocalConsensusError.unknownRuntime(runtimeID) }
            guard entry.registry.kind == .compute else { throw LocalConsensusError.notComputeRuntime(runtimeID) }
            var next = try draft(after: snapshot)
            if next.latest[runtimeID]?.consensusHeight == next.height {
                try await apply(next)
                snapshot = try open()
                next = try draft(after: snapshot)
            }
            guard let parent = next.latest[runtimeID]?.block else { throw LocalConsensusError.unknownRuntime(runtimeID) }
            var block = Block.empty(after: parent, timestamp: try Self.timestamp(next.height, genesis), type: .normal)
            block.header.ioRoot = ioRoot
            block.header.stateRoot = stateRoot
            block.header.messagesHash = RuntimeMessage.messagesHash(messages)
            let annotated = AnnotatedBlock(consensusHeight: next.height, block: block)
            next.latest[runtimeID] = annotated
            next.blocks.append(ConsensusStore.BlockRecord(block: annotated, results: roundResults))
            try await apply(next)
            return annotated
        }
    }

    /// Produces a block every `blockInterval` on the clock until graceful shutdown or
    /// cancellation. A failed step (the state file cannot be written) ends the service with
    /// its error; a step cut short by the shutdown is not taken, and is no error.
    public func run() async throws {
        logger.info("local consensus running", metadata: [
            "consensus.block_interval": "\(genesis.blockInterval)", "consensus.epoch_interval": "\(genesis.epochInterval)",
        ])
        do {
            try await cancelWhenGracefulShutdown { [self] in
                while true {
                    try await clock.sleep(for: genesis.blockInterval, tolerance: nil)
                    do {
                        try await advanceBlock()
                    } catch where Task.isCancelled {
                        // The state file refuses to write in a cancelled task, so a shutdown
                        // that lands while a block waits for the step before it, or is being
                        // written, leaves the block untaken: the end of the service, not a failure.
                        throw CancellationError()
                    }
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// Ends every watch and closes the state file. Idempotent; later steps fail with
    /// ``LocalConsensusError/closed``.
    public func close() {
        let (watchers, blockWatches) = state.withLock { s -> ([AsyncStream<RuntimeDescriptor>.Continuation], [Broadcaster<AnnotatedBlock>]) in
            s.closed = true
            s.trackers.removeAll()
            s.behind.removeAll()
            defer { s.runtimeWatchers.removeAll() }
            return (Array(s.runtimeWatchers.values), Array(s.blockWatches.values))
        }
        for watcher in watchers { watcher.finish() }
        for watch in blockWatches { watch.finish() }
        epochs.finish()
        store.close()
    }

    // MARK: Steps

    private func open() throws(LocalConsensusError) -> State {
        let snapshot = state.withLock { $0 }
        guard !snapshot.closed else { throw .closed }
        return snapshot
    }

    /// The next height after `snapshot`, with its epoch transition applied when it is one.
    private func draft(after snapshot: State) throws(LocalConsensusError) -> Draft {
        guard snapshot.height < Int64.max else {
            throw .store("the chain has reached height \(Int64.max), the largest height the state database holds")
        }
        let height = snapshot.height + 1
        let epoch = UInt64(height) / genesis.epochInterval
        var next = Draft(
            height: height, epoch: epoch, epochChanged: epoch != snapshot.epoch, runtimes: snapshot.runtimes,
            latest: snapshot.latest)
        guard next.epochChanged else { return next }
        let timestamp = try Self.timestamp(height, genesis)
        for entry in snapshot.orderedRuntimes {
            let id = entry.registry.id
            if entry.active != entry.registry {
                next.runtimes[id]?.active = entry.registry
                next.changed.insert(id)
            }
            guard entry.registry.kind == .compute, let parent = snapshot.latest[id]?.block else { continue }
            let block = AnnotatedBlock(
                consensusHeight: height, block: Block.empty(after: parent, timestamp: timestamp, type: .epochTransition))
            next.latest[id] = block
            next.blocks.append(ConsensusStore.BlockRecord(block: block, results: nil))
        }
        return next
    }

    /// Adds a new runtime to `draft`: active at once, with a genesis block when it computes.
    private static func add(_ runtime: RuntimeDescriptor, to draft: inout Draft, timestamp: UInt64) {
        draft.runtimes[runtime.id] = Entry(sequence: draft.runtimes.count, registry: runtime, active: runtime)
        draft.changed.insert(runtime.id)
        draft.registrations.append(runtime)
        guard runtime.kind == .compute else { return }
        var block = Block.genesis(namespace: runtime.id, timestamp: timestamp)
        block.header.round = runtime.genesis.round
        block.header.stateRoot = runtime.genesis.stateRoot
        let annotated = AnnotatedBlock(consensusHeight: draft.height, block: block)
        draft.latest[runtime.id] = annotated
        draft.blocks.append(ConsensusStore.BlockRecord(block: annotated, results: nil))
    }

    private static func storeStep(_ draft: Draft) -> ConsensusStore.Step {
        ConsensusStore.Step(
            height: draft.height, epoch: draft.epoch,
            runtimes: draft.changed.compactMap { id in
                draft.runtimes[id].map {
                    ConsensusStore.RuntimeRecord(sequence: $0.sequence, registry: $0.registry, active: $0.active)
                }
            },
            blocks: draft.blocks)
    }

    /// Writes the step, makes it the current state, publishes it, and commits its blocks to
    /// every tracked history.
    private func apply(_ draft: Draft) async throws {
        try await store.write(Self.storeStep(draft), chainContext: genesis.chainContext)
        let (trackers, behind) = state.withLock { s -> ([Int: any RoothashHistory], Set<Int>) in
            s.height = draft.height
            s.epoch = draft.epoch
            s.runtimes = draft.runtimes
            s.latest = draft.latest
            // Published under the lock, so a new subscriber sees each value exactly once:
            // either in its replay or as a later event.
            for registration in draft.registrations {
                for watcher in s.runtimeWatchers.values { watcher.yield(registration) }
            }
            for record in draft.blocks {
                guard let id = record.block.block?.header.namespace else { continue }
                s.blockWatches[id]?.publish(record.block)
            }
            if draft.epochChanged { epochs.publish(EpochTime(draft.epoch)) }
            return (s.trackers, s.behind)
        }
        if draft.epochChanged {
            logger.debug("epoch transition", metadata: ["consensus.epoch": "\(draft.epoch)", "consensus.height": "\(draft.height)"])
        }
        guard !trackers.isEmpty, !draft.blocks.isEmpty || !behind.isEmpty else { return }
        typealias Outcome = (key: Int, outcome: TrackerOutcome)
        let outcomes = await withTaskGroup(of: Outcome.self, returning: [Outcome].self) { group in
            for (key, history) in trackers {
                if behind.contains(key) {
                    // Every block it missed is in the store: catch up from its last height.
                    group.addTask {
                        do {
                            _ = try await self.replay(to: history, after: try await history.lastConsensusHeight())
                            return (key, .caughtUp)
                        } catch {
                            return (key, .stillBehind)
                        }
                    }
                    continue
                }
                let runtimeID = history.runtimeID
                guard let record = draft.blocks.first(where: { $0.block.block?.header.namespace == runtimeID }) else {
                    continue
                }
                group.addTask {
                    do {
                        try await history.commit(record.block, roundResults: record.results)
                        return (key, .committed)
                    } catch {
                        return (key, .refused("\(error)"))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for (key, outcome) in outcomes {
            guard let history = trackers[key] else { continue }
            switch outcome {
            case .committed, .stillBehind:
                break
            case .refused(let error):
                logger.warning(
                    "a runtime's history refused a block; it is caught up from the chain at every later step",
                    metadata: ["runtime.id": "\(history.runtimeID)", "error": "\(error)"])
                state.withLock { s in
                    if s.trackers[key] != nil { s.behind.insert(key) }
                }
            case .caughtUp:
                logger.info(
                    "a runtime's history caught up with the chain", metadata: ["runtime.id": "\(history.runtimeID)"])
                state.withLock { s in _ = s.behind.remove(key) }
            }
        }
    }

    /// What handing a step's blocks to one tracked history came to.
    private enum TrackerOutcome {
        case committed
        case refused(String)
        case caughtUp
        case stillBehind
    }

    private static func checkHeight(_ height: Int64, current: Int64) throws {
        guard height == 0 || height == current else {
            throw RoothashErrors.invalidArgument.wrapping(
                "the local consensus keeps only the latest state (asked for height \(height), latest is \(current))")
        }
    }

    /// Block timestamps follow from `genesis_time` and `block_interval` (see `timestamp`), so a
    /// stored block with another timestamp than this genesis gives its height was made under
    /// other values. Going on would move the chain's clock: back, if the interval shrank, and
    /// the next blocks would be older than the stored ones. The block at the greatest height
    /// is named, as the one that tells the interval best.
    private static func checkTimestamps(
        of blocks: some Collection<AnnotatedBlock>, genesis: ConsensusGenesis, path: String
    ) throws(LocalConsensusError) {
        for annotated in blocks.sorted(by: { $0.consensusHeight > $1.consensusHeight }) {
            guard let header = annotated.block?.header, annotated.consensusHeight >= 1 else { continue }
            let expected = try timestamp(annotated.consensusHeight, genesis)
            guard header.timestamp == expected else {
                let interval = GoDuration.compactText(genesis.blockInterval)
                throw .invalidGenesis(
                    "genesis_time \(genesis.genesisTime) and block_interval \(interval) do not match the chain "
                        + "stored in '\(path)' (runtime \(header.namespace)'s block at height "
                        + "\(annotated.consensusHeight) has timestamp \(header.timestamp) there, but \(expected) with "
                        + "these values); a changed genesis needs a fresh consensus directory: use the genesis file the "
                        + "data directory was created with, or remove '\(path)' to start a new chain")
            }
        }
    }

    /// Block timestamps follow the heights, so they are the same after a restart. One that
    /// would pass `Int64.max` (unix seconds) is refused rather than computed with overflow.
    private static func timestamp(_ height: Int64, _ genesis: ConsensusGenesis) throws(LocalConsensusError) -> UInt64 {
        let (seconds, attoseconds) = genesis.blockInterval.components
        let interval = Double(seconds) + Double(attoseconds) / 1e18
        let elapsed = Double(max(height - 1, 0)) * interval
        // 2^63 is exact as a Double: below it the conversion cannot trap.
        guard elapsed.isFinite, elapsed < 9_223_372_036_854_775_808.0,
            case let (time, overflow) = genesis.genesisTime.addingReportingOverflow(UInt64(elapsed)), !overflow,
            time <= UInt64(Int64.max)
        else {
            throw .invalidGenesis(
                "the block timestamp of height \(height) (genesis_time \(genesis.genesisTime) plus \(height - 1) "
                    + "block intervals of \(genesis.blockInterval)) is beyond \(Int64.max) unix seconds")
        }
        return time
    }
}
