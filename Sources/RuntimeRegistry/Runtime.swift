public import ConsensusAPI
import Logging
import Metrics
import OasisCBOR
public import OasisCommon
public import RuntimeHistory
public import RuntimeHost
public import RuntimeLocalStorage
public import RuntimeStorage
import RuntimeStorageSQLite
public import RuntimeTagIndexer
public import ServiceLifecycle
import Synchronization

/// What the descriptor watcher of a ``Runtime`` did with one consensus event; for logs,
/// metrics and tests (which wait on these instead of on time).
public enum DescriptorTrackingEvent: Hashable, Sendable {
    /// A registration of this runtime was stored and broadcast.
    case registryUpdated
    /// A registration of another runtime was ignored.
    case ignoredOtherRuntime(Namespace)
    /// The active descriptor changed and was broadcast.
    case activeUpdated
    /// The runtime state's descriptor had the same hash as the active one: nothing broadcast.
    case activeUnchanged
    /// The runtime state could not be read (key-manager runtimes always end here).
    case activeQueryFailed(String)
}

/// One runtime supported by the node (oasis-core's `registry.Runtime`): its descriptors as
/// consensus reports them, its per-runtime state, and how to host it.
///
/// The runtime is also the `Service` that tracks its descriptors (spec/core.md §1.9): run it
/// (the registry lists it in ``Registry/services``) and ``registryDescriptor()`` resolves at the
/// first registration event for this runtime, ``activeDescriptor()`` at the first successful
/// runtime-state query (after an epoch transition, or a registration of a compute runtime).
public final class Runtime: Service, Sendable {
    /// The runtime's ID.
    public let id: Namespace
    /// The block history; `nil` for an unmanaged runtime.
    public let history: RuntimeHistory?
    /// The local key-value store; `nil` for an unmanaged runtime.
    public let localStorage: RuntimeLocalStorage?
    /// The tag indexer service; `nil` for an unmanaged runtime. Its queries (``tagIndexer``'s
    /// `queries`) work before the service runs.
    public let tagIndexer: TagIndexer?
    /// The runtime's state directory; `nil` for an unmanaged runtime.
    public let stateDirectory: String?

    private struct Descriptors {
        var registry: RuntimeDescriptor?
        var active: RuntimeDescriptor?
        var activeHash = Hash.zero
    }

    private let consensus: any ConsensusBackend
    private let hostProvisioners: [TEEHardware: any Provisioner]?
    private let hostConfig: HostConfig?
    private let descriptors = Mutex(Descriptors())
    private let storageSlot: StorageSlot
    private let registryReady = Latch()
    private let activeReady = Latch()
    /// Opened by ``finishInitialization()`` or ``stop()``: the indexer service waits for it.
    let indexerGo = Latch()
    /// Opened by ``stop()``: ends the descriptor watcher and the indexer.
    let stopped = Latch()
    /// Opened when the indexer service has quit, once it has begun indexing.
    let indexerQuit = Latch()
    /// Whether ``stop()`` has begun, and whether the indexer began; one lock, so either the
    /// indexer begins before `stop` looks (and `stop` waits for it) or it never begins.
    private let lifecycle = Mutex((stopping: false, indexing: false))
    /// Whether storage pruning is registered on the history pruner.
    private let storagePruning = Mutex(false)
    private let registryBroker = Broadcaster<RuntimeDescriptor>(replayLast: true)
    private let activeBroker = Broadcaster<RuntimeDescriptor>(replayLast: true)
    private let trackingBroker = Broadcaster<DescriptorTrackingEvent>(replayLast: false)
    private let logger: Logger

    init(
        id: Namespace, consensus: any ConsensusBackend, host: RuntimeHostConfig?, history: RuntimeHistory?,
        localStorage: RuntimeLocalStorage?, tagIndexer: TagIndexer?, storageSlot: StorageSlot, stateDirectory: String?,
        logger: Logger
    ) {
        self.id = id
        self.consensus = consensus
        self.hostProvisioners = host?.provisioners
        self.hostConfig = host?.runtimes[id]
        self.history = history
        self.localStorage = localStorage
        self.tagIndexer = tagIndexer
        self.storageSlot = storageSlot
        self.stateDirectory = stateDirectory
        var logger = logger
        logger[metadataKey: "runtime.id"] = "\(id)"
        self.logger = logger
    }

    // MARK: Descriptors

    /// The latest registry descriptor, once the first registration of this runtime has been
    /// seen. Throws `CancellationError` when the calling task is cancelled first, or when the
    /// runtime is stopped (``Registry/cleanup()``) before any registration was seen.
    public func registryDescriptor() async throws -> RuntimeDescriptor {
        try await awaitDescriptor(registryReady)
        return descriptors.withLock { $0.registry! }
    }

    /// The descriptor active this epoch, once it has been read from the runtime state. For a
    /// key-manager runtime it never resolves; cancel the calling task to stop waiting. Throws
    /// `CancellationError` as ``registryDescriptor()`` does.
    public func activeDescriptor() async throws -> RuntimeDescriptor {
        try await awaitDescriptor(activeReady)
        return descriptors.withLock { $0.active! }
    }

    /// Waits for `ready`; once the runtime has stopped, its watcher is gone and `ready` never
    /// opens, so the wait ends with `CancellationError` instead of lasting for good.
    private func awaitDescriptor(_ ready: Latch) async throws {
        try Task.checkCancellation()
        if ready.isOpen { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await ready.wait() }
            group.addTask { try await self.stopped.wait() }
            _ = try await group.next()
            group.cancelAll()
        }
        guard ready.isOpen else { throw CancellationError() }
    }

    /// Every registry descriptor from now on (the latest first, if there is one), including
    /// repeated identical registrations.
    public var registryDescriptorUpdates: AsyncStream<RuntimeDescriptor> { registryBroker.subscribe() }

    /// Every change of the active descriptor (the latest first, if there is one).
    public var activeDescriptorUpdates: AsyncStream<RuntimeDescriptor> { activeBroker.subscribe() }

    /// What the descriptor watcher does from now on.
    public func trackingEvents() -> AsyncStream<DescriptorTrackingEvent> { trackingBroker.subscribe() }

    /// Tracks descriptors (spec/core.md §1.9) until graceful shutdown, cancellation or
    /// ``Registry/cleanup()``.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { [self] in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.stopped.wait() }
                    group.addTask { try await self.watchUpdates() }
                    _ = try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            return
        }
    }

    private enum Event: Sendable {
        case epoch
        case registration(RuntimeDescriptor)
    }

    private func watchUpdates() async throws {
        try await consensus.waitSynced()
        let epochs = consensus.watchEpochs()
        let registrations = consensus.watchRuntimes()
        let (events, sink) = AsyncStream<Event>.makeStream(bufferingPolicy: .unbounded)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in epochs { sink.yield(.epoch) }
            }
            group.addTask {
                for await descriptor in registrations { sink.yield(.registration(descriptor)) }
            }
            group.addTask { [self] in
                var activeInitialized = false
                for await event in events {
                    switch event {
                    case .epoch:
                        if await updateActiveDescriptor(), !activeInitialized {
                            activeReady.open()
                            activeInitialized = true
                        }
                    case .registration(let descriptor):
                        guard descriptor.id == id else {
                            trackingBroker.publish(.ignoredOtherRuntime(descriptor.id))
                            continue
                        }
                        descriptors.withLock { $0.registry = descriptor }
                        registryReady.open()
                        registryBroker.publish(descriptor)
                        trackingBroker.publish(.registryUpdated)
                        if !activeInitialized, descriptor.kind == .compute, await updateActiveDescriptor() {
                            activeReady.open()
                            activeInitialized = true
                        }
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Reads the runtime state and publishes its descriptor when its hash changed.
    private func updateActiveDescriptor() async -> Bool {
        let descriptor: RuntimeDescriptor
        let hash: Hash
        do {
            let state = try await consensus.runtimeState(id: id, height: 0)
            guard let runtime = state.runtime else {
                throw RoothashErrors.invalidRuntime.wrapping("runtime state without a descriptor")
            }
            descriptor = runtime
            hash = Hash.digest(try CBOREncoder().encode(runtime))
        } catch {
            logger.debug("cannot read the runtime state", metadata: ["error": "\(error)"])
            trackingBroker.publish(.activeQueryFailed("\(error)"))
            return false
        }
        let changed = descriptors.withLock { d -> Bool in
            guard d.activeHash != hash else { return false }
            d.active = descriptor
            d.activeHash = hash
            return true
        }
        guard changed else {
            trackingBroker.publish(.activeUnchanged)
            return false
        }
        activeBroker.publish(descriptor)
        trackingBroker.publish(.activeUpdated)
        return true
    }

    // MARK: Storage

    /// Sets the runtime's storage backend. A second call fails with
    /// ``RegistryError/storageAlreadyAssigned`` and changes nothing.
    public func registerStorage(_ backend: any StorageBackend) throws(RegistryError) {
        try storageSlot.set(backend)
    }

    /// The runtime's storage backend; ``RegistryError/storageNotInitialized`` until
    /// ``registerStorage(_:)`` or ``Registry/finishInitialization()``.
    public func storage() throws(RegistryError) -> any StorageBackend {
        try storageSlot.get()
    }

    /// Opens local storage when none was registered, then lets the tag indexer start.
    /// Idempotent.
    func finishInitialization() throws {
        if storageSlot.current == nil, let stateDirectory {
            do {
                try storageSlot.setIfEmpty {
                    try SQLiteStorageBackend(directory: stateDirectory, runtime: id, logger: logger)
                }
            } catch {
                throw RegistryError.setupFailed(
                    id, "runtime/registry: cannot create storage for runtime \(id): \(error)")
            }
        }
        registerStoragePruning()
        indexerGo.open()
    }

    /// Lets the history pruner drop storage versions together with the rounds it prunes, so a
    /// node that bounds its history bounds its storage too. Registered once, after the tag
    /// indexer's handler (which reads I/O trees); nothing for a storage that cannot prune.
    private func registerStoragePruning() {
        guard let history, let storage = storageSlot.current as? any PrunableStorageBackend else { return }
        let first = storagePruning.withLock { registered -> Bool in
            defer { registered = true }
            return !registered
        }
        guard first else { return }
        history.pruner.register(PruneStorage(
            storage: storage, runtime: id, logger: logger,
            oldestKeptBlock: { round in try await history.annotatedBlocks(after: round, limit: 1).first?.block }))
    }

    /// Stops everything this runtime owns, in oasis-core's order: the watcher, local storage,
    /// storage, the tag indexer, the history. Idempotent.
    func stop() async {
        let (alreadyStopping, indexing) = lifecycle.withLock { state -> (Bool, Bool) in
            defer { state.stopping = true }
            return (state.stopping, state.indexing)
        }
        guard !alreadyStopping else { return }
        stopped.open()
        indexerGo.open()
        localStorage?.close()
        if let storage = storageSlot.current { await storage.cleanup() }
        // v21.1 stops the indexer and waits for it to quit before closing the history; its
        // backend, which v21.1 never closes, is closed once nothing uses it. The wait holds
        // even when the stopping task is cancelled (a hurried shutdown): the indexer quits
        // promptly once `stopped` opens, and closing its stores under it would fail its
        // last write.
        if indexing { await indexerQuit.waitIgnoringCancellation() }
        tagIndexer?.backend.close()
        if history != nil { await consensus.untrackRuntime(id: id) }
        history?.close()
        registryBroker.finish()
        activeBroker.finish()
        trackingBroker.finish()
    }

    /// Marks the indexer as running unless ``stop()`` has begun; false means do not start.
    func beginIndexing() -> Bool {
        lifecycle.withLock { state in
            guard !state.stopping else { return false }
            state.indexing = true
            return true
        }
    }

    // MARK: Hosting

    /// Whether the node hosts this runtime: host configuration exists (`runtime.paths` is set)
    /// and lists this runtime.
    public var hasHost: Bool { hostProvisioners != nil && hostConfig != nil }

    /// The runtime's host configuration and the provisioner for the TEE hardware its registry
    /// descriptor asks for; waits for the registry descriptor.
    ///
    /// - Throws: ``RegistryError/runtimeHostNotConfigured`` without hosting;
    ///   ``RegistryError/registryDescriptorUnavailable(_:)`` when waiting fails (cancelled);
    ///   ``RegistryError/noProvisionerForTEE(_:)`` when no provisioner fits.
    public func host() async throws(RegistryError) -> (config: HostConfig, provisioner: any Provisioner) {
        guard let hostProvisioners, let hostConfig else { throw .runtimeHostNotConfigured }
        let descriptor: RuntimeDescriptor
        do {
            descriptor = try await registryDescriptor()
        } catch {
            throw .registryDescriptorUnavailable("\(error)")
        }
        guard let provisioner = hostProvisioners[descriptor.teeHardware] else {
            throw .noProvisionerForTEE(descriptor.teeHardware)
        }
        return (hostConfig, provisioner)
    }
}

/// The storage backend of one runtime, shared with the tag indexer's transaction source (so
/// the source does not keep the runtime alive).
final class StorageSlot: Sendable {
    private let backend = Mutex<(any StorageBackend)?>(nil)

    var current: (any StorageBackend)? { backend.withLock { $0 } }

    func get() throws(RegistryError) -> any StorageBackend {
        guard let storage = current else { throw .storageNotInitialized }
        return storage
    }

    func set(_ storage: any StorageBackend) throws(RegistryError) {
        let assigned = backend.withLock { slot -> Bool in
            guard slot == nil else { return false }
            slot = storage
            return true
        }
        guard assigned else { throw .storageAlreadyAssigned }
    }

    /// Stores `make()` when nothing is set yet; `make` runs under the lock, so two callers
    /// never both create a backend.
    func setIfEmpty(_ make: () throws -> any StorageBackend) throws {
        try backend.withLock { slot in
            if slot == nil { slot = try make() }
        }
    }
}

/// Reads a round's transactions and tags from the runtime's I/O tree in its storage: directly
/// from a storage in this process, else through verified `SyncIterate` pages.
struct StorageTransactionSource: TransactionSource {
    let slot: StorageSlot

    func transactions(for header: BlockHeader) async throws -> RoundTransactions {
        let storage = try slot.get()
        let root = StorageRoot(namespace: header.namespace, version: header.round, type: .io, hash: header.ioRoot)
        let entries =
            if let direct = storage as? any DirectlyReadableStorage {
                try await direct.directEntries(at: root)
            } else {
                try await storage.entries(at: root)
            }
        let parsed = try IOTreeLayout.parse(entries)
        return RoundTransactions(transactions: parsed.transactions, tags: parsed.tags)
    }
}

/// Runs a runtime's tag indexer once the registry has finished initializing it (v21.1 starts
/// the indexer in `FinishInitialization`, when storage is there to read transactions from).
struct TagIndexerStarter: Service {
    let runtime: Runtime
    let indexer: TagIndexer

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await runtime.indexerGo.wait()
                guard runtime.beginIndexing() else { return }
                defer { runtime.indexerQuit.open() }
                // The indexer runs until shutdown, or until the registry stops the runtime.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await indexer.run() }
                    group.addTask { try await runtime.stopped.wait() }
                    _ = try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            return
        }
    }
}

/// Drops the storage versions of pruned rounds before the history deletes them; an error
/// vetoes the pass, so history and storage are pruned together or not at all.
///
/// Counts what it removes in `oasis_runtime_storage_pruned_roots` and
/// `oasis_runtime_storage_pruned_nodes`, with a `runtime` dimension.
struct PruneStorage: PruneHandler {
    let storage: any PrunableStorageBackend
    let logger: Logger
    /// The oldest block of the history after a round (nil: there is none).
    let oldestKeptBlock: @Sendable (UInt64) async throws -> Block?
    private let prunedRoots: Counter
    private let prunedNodes: Counter

    init(
        storage: any PrunableStorageBackend, runtime: Namespace, logger: Logger,
        metricsFactory: (any MetricsFactory)? = nil,
        oldestKeptBlock: @escaping @Sendable (UInt64) async throws -> Block? = { _ in nil }
    ) {
        self.storage = storage
        self.logger = logger
        self.oldestKeptBlock = oldestKeptBlock
        let dimensions = [("runtime", "\(runtime)")]
        let factory = metricsFactory ?? MetricsSystem.factory
        prunedRoots = Counter(label: "oasis_runtime_storage_pruned_roots", dimensions: dimensions, factory: factory)
        prunedNodes = Counter(label: "oasis_runtime_storage_pruned_nodes", dimensions: dimensions, factory: factory)
    }

    func prune(rounds: [UInt64]) async throws {
        // The strategies prune the oldest rounds first, so everything below the last offered
        // round is gone from the history too.
        guard let last = rounds.last, last < UInt64.max else { return }
        // The roots of the oldest block the history keeps stay, even when they are not the
        // newest at or below its round: the executor stores a batch's roots under the round it
        // expects, and an epoch transition finalized first puts the batch one round later,
        // behind a block that carries the previous state root.
        var keeping: Set<Hash> = []
        if let kept = try await oldestKeptBlock(last) {
            keeping = [kept.header.stateRoot, kept.header.ioRoot]
        }
        let report = try await storage.prune(before: last + 1, keeping: keeping)
        prunedRoots.increment(by: report.roots)
        prunedNodes.increment(by: report.nodes)
        logger.debug(
            "storage versions pruned with the history",
            metadata: [
                "storage.before_round": "\(last + 1)", "storage.roots_removed": "\(report.roots)",
                "storage.nodes_removed": "\(report.nodes)",
            ])
    }
}
