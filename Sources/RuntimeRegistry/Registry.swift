public import ConsensusAPI
public import Logging
public import OasisCommon
import RuntimeHistory
import RuntimeLocalStorage
public import RuntimeStorage
import RuntimeTagIndexer
public import ServiceLifecycle
import Synchronization

/// The node's runtime registry (oasis-core's `runtime/registry.Registry`): every supported
/// runtime with its state directory, history, local storage, tag indexer and storage, tracked
/// in consensus, plus the configuration to host them.
///
/// Build it with ``make(dataDir:options:consensus:provisioners:clock:logger:)`` (provisioners
/// default to ``ProvisionerFactory/standard(clock:logger:)``), run its
/// ``services`` in the node's `ServiceGroup` (descriptor watchers, pruners, indexers), call
/// ``finishInitialization()`` once storage is set up, and ``cleanup()`` at the end.
public final class Registry: Sendable {
    /// The data directory the state directories live under.
    public let dataDir: String
    /// The configuration the runtimes were built with.
    public let config: RuntimeConfig

    private struct State {
        var runtimes: [Namespace: Runtime] = [:]
        /// IDs being added right now, so two concurrent adds of one ID cannot both succeed;
        /// each latch opens when its add has ended, so ``cleanup()`` can wait for it.
        var pending: [Namespace: Latch] = [:]
        var services: [Namespace: [any Service]] = [:]
        var cleanedUp = false
    }

    private let consensus: any ConsensusBackend
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let state = Mutex(State())

    /// An empty registry; add runtimes with ``addSupportedRuntime(_:)``.
    public init(
        dataDir: String, config: RuntimeConfig, consensus: any ConsensusBackend,
        clock: any Clock<Duration> = ContinuousClock(), logger: Logger
    ) {
        self.dataDir = dataDir
        self.config = config
        self.consensus = consensus
        self.clock = clock
        self.logger = logger
    }

    /// `New` (spec/core.md §1.7): checks every option and the supported list before anything
    /// is written to the data directory, then adds the supported runtimes, all at once.
    ///
    /// - Throws: ``RuntimeConfigError`` for bad options; ``RegistryError`` for a malformed or
    ///   too long supported list, and ``RegistryError/addRuntimeFailed(_:_:)`` when a runtime
    ///   cannot be set up (the runtimes already added are cleaned up).
    public static func make(
        dataDir: String, options: RuntimeOptions, consensus: any ConsensusBackend,
        provisioners: ProvisionerFactory? = nil, clock: any Clock<Duration> = ContinuousClock(), logger: Logger
    ) async throws -> Registry {
        let config = try await RuntimeConfig.make(
            options: options, consensus: consensus, provisioners: provisioners ?? .standard(clock: clock, logger: logger),
            logger: logger)
        let supported = try parseRuntimeMap(options.supported)
        guard supported.count <= maxRuntimeCount else { throw RegistryError.tooManyRuntimes }
        let registry = Registry(dataDir: dataDir, config: config, consensus: consensus, clock: clock, logger: logger)
        if supported.isEmpty { logger.info("no supported runtimes configured") }
        // Runtimes are independent, and setting one up is mostly waiting for fsyncs: all at
        // once (at most 64) lets the file system batch them (docs/PERFORMANCE.md).
        var failure: (id: Namespace, error: any Error)?
        await withTaskGroup(of: (Namespace, (any Error)?).self) { group in
            for id in supported.keys.sorted() {
                group.addTask { await registry.attempt(id) }
            }
            for await (id, error) in group where failure == nil {
                if let error { failure = (id, error) }
            }
        }
        if let failure {
            await registry.cleanup()
            throw RegistryError.addRuntimeFailed(failure.id, "\(failure.error)")
        }
        return registry
    }

    private func attempt(_ id: Namespace) async -> (Namespace, (any Error)?) {
        do {
            try await addSupportedRuntime(id)
            return (id, nil)
        } catch {
            return (id, error)
        }
    }

    // MARK: Runtimes

    /// The runtime `id`; `runtime/registry: runtime <hex> is not supported` when it is not.
    public func runtime(_ id: Namespace) throws(RuntimeNotSupportedError) -> Runtime {
        guard let runtime = state.withLock({ $0.runtimes[id] }) else { throw RuntimeNotSupportedError(runtime: id) }
        return runtime
    }

    /// Every supported runtime, by ID.
    public func runtimes() -> [Runtime] {
        state.withLock { $0.runtimes.values.sorted { $0.id < $1.id } }
    }

    /// The long-lived parts, to run in the node's `ServiceGroup`: per runtime, its descriptor
    /// watcher, its history pruner and its tag indexer (which starts indexing after
    /// ``finishInitialization()``).
    public var services: [any Service] {
        state.withLock { s in s.services.sorted { $0.key < $1.key }.flatMap(\.value) }
    }

    /// A runtime outside the registry (`NewUnmanagedRuntime`): it tracks descriptors (run it as
    /// a service) and has the host configuration, but no state directory, history, local
    /// storage or tag indexer, is not tracked in consensus and is not listed by the registry.
    public func newUnmanagedRuntime(_ id: Namespace) -> Runtime {
        Runtime(
            id: id, consensus: consensus, host: config.host, history: nil, localStorage: nil, tagIndexer: nil,
            storageSlot: StorageSlot(), stateDirectory: nil, logger: logger)
    }

    /// `addSupportedRuntime` (spec/core.md §1.8): at most ``maxRuntimeCount`` runtimes, no
    /// duplicates; state directory, history, local storage, tag indexer, tracking in consensus.
    /// When a step fails, everything already made for this runtime is closed again.
    ///
    /// An add that comes after ``cleanup()`` began fails with ``RegistryError/cleanedUp(_:)``;
    /// one that was under way when it began is stopped again before `cleanup()` returns.
    public func addSupportedRuntime(_ id: Namespace) async throws {
        let done = Latch()
        defer { done.open() }
        try state.withLock { s throws(RegistryError) in
            guard !s.cleanedUp else { throw .cleanedUp(id) }
            guard s.runtimes.count + s.pending.count < maxRuntimeCount else { throw .tooManyRuntimes }
            guard s.runtimes[id] == nil, s.pending[id] == nil else { throw .runtimeAlreadyRegistered(id) }
            s.pending[id] = done
        }
        let runtime: Runtime
        do {
            runtime = try await buildRuntime(id)
        } catch {
            _ = state.withLock { $0.pending.removeValue(forKey: id) }
            throw error
        }
        let added = state.withLock { s -> Bool in
            s.pending.removeValue(forKey: id)
            guard !s.cleanedUp else { return false }
            s.runtimes[id] = runtime
            var services: [any Service] = [runtime]
            if let history = runtime.history { services.append(history.pruner) }
            if let indexer = runtime.tagIndexer { services.append(TagIndexerStarter(runtime: runtime, indexer: indexer)) }
            s.services[id] = services
            return true
        }
        guard added else {
            // Cleanup began while this runtime was being set up, and waits for this.
            await runtime.stop()
            throw RegistryError.cleanedUp(id)
        }
        logger.info("runtime added", metadata: ["runtime.id": "\(id)"])
    }

    private func buildRuntime(_ id: Namespace) async throws -> Runtime {
        let path = try ensureRuntimeStateDir(dataDir: dataDir, runtimeID: id)
        var undo: [() -> Void] = []
        func fail(_ message: String) -> RegistryError {
            for step in undo.reversed() { step() }
            return .setupFailed(id, message)
        }

        let history: RuntimeHistory
        do {
            history = try RuntimeHistory(
                directory: path, runtimeID: id, configuration: config.history, clock: clock, logger: logger)
        } catch {
            throw fail("runtime/registry: cannot create block history for runtime \(id): \(error)")
        }
        undo.append { history.close() }

        let localStorage: RuntimeLocalStorage
        do {
            localStorage = try RuntimeLocalStorage(directory: path, runtimeID: id, logger: logger)
        } catch {
            throw fail("runtime/registry: cannot create local storage for runtime \(id): \(error)")
        }
        undo.append { localStorage.close() }

        let slot = StorageSlot()
        let indexer: TagIndexer
        do {
            let backend = try config.tagIndexer.open(directory: path, runtimeID: id, logger: logger)
            undo.append { backend.close() }
            indexer = TagIndexer(
                backend: backend, history: history, source: StorageTransactionSource(slot: slot), clock: clock,
                logger: logger)
        } catch {
            throw fail("runtime/registry: cannot create tag indexer for runtime \(id): \(error)")
        }

        do {
            try await consensus.trackRuntime(history: history)
        } catch {
            throw fail("runtime/registry: cannot track runtime \(id): \(error)")
        }

        return Runtime(
            id: id, consensus: consensus, host: config.host, history: history, localStorage: localStorage,
            tagIndexer: indexer, storageSlot: slot, stateDirectory: path, logger: logger)
    }

    // MARK: Storage

    /// A storage backend that routes every request to the storage of the runtime it names
    /// (`StorageRouter`); an unsupported runtime gets `runtime/registry: runtime <hex> is not
    /// supported`, one without storage yet ``RegistryError/storageNotInitialized``.
    public func storageRouter() -> StorageRouter {
        StorageRouter(lookup: RegistryStorageLookup(registry: self))
    }

    // MARK: Lifecycle

    /// Gives every runtime without registered storage its local SQLite storage and lets the
    /// tag indexers start; fails with the first error (runtimes are set up in parallel, so
    /// others may be initialized already). Idempotent.
    public func finishInitialization() async throws {
        // Each opens its own file (an fsync or two): in parallel, like the setup.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for runtime in runtimes() {
                group.addTask { try runtime.finishInitialization() }
            }
            try await group.waitForAll()
        }
    }

    /// Stops every runtime (watcher, local storage, storage, tag indexer, history) and waits
    /// for adds under way, which then stop what they set up and fail; later adds fail at once.
    /// The runtimes stay listed. Idempotent.
    public func cleanup() async {
        let (runtimes, adds) = state.withLock { s -> ([Runtime], [Latch]) in
            guard !s.cleanedUp else { return ([], []) }
            s.cleanedUp = true
            return (s.runtimes.values.sorted { $0.id < $1.id }, Array(s.pending.values))
        }
        for runtime in runtimes { await runtime.stop() }
        for add in adds { await add.waitIgnoringCancellation() }
    }
}

/// The router's view of the registry.
struct RegistryStorageLookup: StorageBackendLookup {
    let registry: Registry

    func storageBackend(for runtime: Namespace) throws -> any StorageBackend {
        try registry.runtime(runtime).storage()
    }

    func allStorageBackends() throws -> [any StorageBackend] {
        try registry.runtimes().map { try $0.storage() }
    }
}
