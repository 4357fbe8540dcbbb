#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#endif
public import Logging
public import LocalConsensus
public import RuntimeRegistry
import ServiceLifecycle
import Synchronization
import Foundation

/// Why the node could not start, after its configuration was accepted.
public struct RuntimeNodeError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The node daemon (oasis-node's role for this project): the embedded consensus, the runtime
/// registry with every supported runtime's state, the hosted runtimes with their localnet
/// executors, the control API on `<datadir>/internal.sock` and the metrics endpoint, all in
/// one `ServiceGroup`.
///
/// ``make(config:metrics:logger:)`` validates the configuration (nothing is written when it is
/// bad), creates the data directory, locks it (`flock`) and claims the control socket (so a
/// second node on the same data directory is refused before it opens any store), opens the
/// consensus and the registry;
/// ``run()`` runs everything until SIGINT/SIGTERM or a graceful shutdown, then stops the
/// runtimes, closes the stores and removes the socket.
public final class RuntimeNode: Sendable {
    /// The file name of the control socket in the data directory.
    public static let controlSocketName = "internal.sock"
    /// How long a graceful shutdown may take before the node cancels what is left.
    public static let gracefulShutdownLimit: Duration = .seconds(8)
    /// How long the services may take to end once cancelled (after ``gracefulShutdownLimit``,
    /// or when the task running the node is cancelled) before swift-service-lifecycle stops
    /// the process with a fatal error rather than let it hang. Cancelled services still close
    /// stores and kill runtimes, which on a loaded machine took over 2 s.
    public static let cancellationLimit: Duration = .seconds(10)

    /// The configuration the node runs with.
    public let config: NodeConfig
    /// The embedded consensus.
    public let consensus: LocalConsensus
    /// The runtime registry.
    public let registry: Registry
    /// The control API server.
    let controlServer: ControlServer
    /// The metrics endpoint, when `metrics.address` is set.
    let metricsServer: MetricsServer?
    let metrics: NodeMetrics?
    let hosting: NodeHosting
    let logger: Logger
    let startedAt = ContinuousClock.now

    /// The control socket's path.
    public var controlSocketPath: String { config.dataDir + "/" + Self.controlSocketName }

    /// Held from ``make(config:metrics:logger:)`` until the stores are closed.
    private let lock: DataDirectoryLock

    /// The running group, and whether ``shutdown()`` came (perhaps before there was a group).
    private let running = Mutex<(group: ServiceGroup?, shutdownRequested: Bool)>((nil, false))

    private init(
        config: NodeConfig, consensus: LocalConsensus, registry: Registry, controlServer: ControlServer,
        metricsServer: MetricsServer?, metrics: NodeMetrics?, hosting: NodeHosting, lock: DataDirectoryLock,
        logger: Logger
    ) {
        self.lock = lock
        self.config = config
        self.consensus = consensus
        self.registry = registry
        self.controlServer = controlServer
        self.metricsServer = metricsServer
        self.metrics = metrics
        self.hosting = hosting
        self.logger = logger
    }

    /// Validates `config`, then opens everything the node runs on.
    ///
    /// - Throws: ``NodeConfigError`` when the configuration is bad (nothing was written);
    ///   other errors when opening a store, the consensus or a socket fails.
    public static func make(config: NodeConfig, metrics: NodeMetrics?, logger: Logger) async throws -> RuntimeNode {
        try await config.validate()
        try makeDirectory(config.dataDir)
        let lock = try DataDirectoryLock(directory: config.dataDir)

        let routes = ControlRoutes()
        let controlServer = ControlServer(
            socketPath: config.dataDir + "/" + controlSocketName, handler: { await routes.handle($0) }, logger: logger)
        // What is open so far, closed in reverse when a later step fails.
        var consensus: LocalConsensus?
        var registry: Registry?
        let node: RuntimeNode
        do {
            try await controlServer.bind()
            let genesis = try ConsensusGenesis.load(path: config.consensus.genesisPath(dataDir: config.dataDir))
            let openedConsensus = try LocalConsensus(genesis: genesis, directory: config.dataDir, logger: logger)
            consensus = openedConsensus
            let openedRegistry = try await Registry.make(
                dataDir: config.dataDir, options: config.runtime, consensus: openedConsensus, logger: logger)
            registry = openedRegistry
            try await openedRegistry.finishInitialization()

            var metricsServer: MetricsServer?
            if let metrics, !config.metricsAddress.isEmpty {
                let server = try MetricsServer(address: config.metricsAddress, metrics: metrics, logger: logger)
                try await server.bind()
                metricsServer = server
            }

            let hosting = NodeHosting(registry: openedRegistry, consensus: openedConsensus, logger: logger)
            node = RuntimeNode(
                config: config, consensus: openedConsensus, registry: openedRegistry, controlServer: controlServer,
                metricsServer: metricsServer, metrics: metrics, hosting: hosting, lock: lock, logger: logger)
        } catch {
            await registry?.cleanup()
            consensus?.close()
            await controlServer.abandon()
            lock.release()
            throw error
        }
        routes.attach(node)
        return node
    }

    /// Runs the node until SIGINT/SIGTERM (or a graceful shutdown of the calling task), then
    /// shuts down in reverse order: the API, the hosted runtimes and executors, the registry's
    /// services, the consensus; then closes every store. A shutdown that takes longer than
    /// ``gracefulShutdownLimit`` is escalated to cancellation, and one whose cancellation takes
    /// longer than ``cancellationLimit`` ends the process.
    public func run(signals: Bool = true) async throws {
        // Shutdown runs backwards through this list.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        func add(_ service: any Service, essential: Bool = false) {
            services.append(.init(
                service: essential ? service : WaitsForShutdown(service: service),
                successTerminationBehavior: essential ? .gracefullyShutdownGroup : .ignore,
                failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        add(consensus, essential: true)
        for service in registry.services { add(service) }
        add(hosting)
        add(StateMetrics(runtimes: registry.runtimes(), logger: logger))
        add(controlServer, essential: true)
        if let metricsServer { add(metricsServer) }

        var configuration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [], cancellationSignals: [],
            logger: logger)
        configuration.maximumGracefulShutdownDuration = Self.gracefulShutdownLimit
        configuration.maximumCancellationDuration = Self.cancellationLimit
        let group = ServiceGroup(configuration: configuration)
        let requested = running.withLock { r -> Bool in
            r.group = group
            return r.shutdownRequested
        }
        // A shutdown asked for before the group existed (a signal while the node was opening,
        // caught by the caller) is handed to it now: it starts the services and stops them.
        if requested { await group.triggerGracefulShutdown() }
        logger.info("node running", metadata: [
            "node.datadir": "\(config.dataDir)", "node.control_socket": "\(controlSocketPath)",
            "node.metrics_address": "\(metricsAddress ?? "off")",
        ])
        defer { logger.info("node stopped") }
        do {
            try await group.run()
        } catch {
            await close()
            throw error
        }
        await close()
    }

    /// Starts a graceful shutdown of ``run(signals:)``, or, when it has not started yet, makes
    /// it shut down as soon as it has. For callers that catch the termination signals
    /// themselves (`run(signals: false)`), from before the node was made.
    public func shutdown() async {
        let group = running.withLock { r -> ServiceGroup? in
            r.shutdownRequested = true
            return r.group
        }
        await group?.triggerGracefulShutdown()
    }

    private func close() async {
        await registry.cleanup()
        consensus.close()
        lock.release()
    }

    /// Where the metrics endpoint listens (`host:port`), if it does.
    public var metricsAddress: String? {
        guard let metricsServer, let port = metricsServer.boundPort else { return nil }
        let host = config.metricsAddress.split(separator: ":").dropLast().joined(separator: ":")
        return "\(host):\(port)"
    }

    // MARK: Status

    /// The node's status (`GET /v1/status`).
    public func status() async -> NodeStatus {
        let consensusStatus = NodeStatus.Consensus(
            backend: LocalConsensus.backendName, height: consensus.height, epoch: consensus.epoch.rawValue,
            chainContext: consensus.genesis.chainContext)
        var rows: [RuntimeStatus] = []
        for runtime in registry.runtimes() { rows.append(await status(of: runtime)) }
        return NodeStatus(
            node: NodeInfo(
                datadir: config.dataDir, pid: getpid(),
                uptimeSeconds: Self.seconds(ContinuousClock.now - startedAt), metricsAddress: metricsAddress),
            consensus: consensusStatus, runtimes: rows)
    }

    /// One runtime's status row.
    func status(of runtime: Runtime) async -> RuntimeStatus {
        let descriptor = try? consensus.registryDescriptor(id: runtime.id)
        let hosted = hosting.entry(runtime.id)
        var history = RuntimeStatus.History(lastRound: 0, lastConsensusHeight: 0)
        if let metadata = try? await runtime.history?.metadata() {
            history = RuntimeStatus.History(lastRound: metadata.lastRound, lastConsensusHeight: metadata.lastConsensusHeight)
        }
        let hostedStatus: RuntimeStatus.Hosted
        if let hosted {
            hostedStatus = hosted.monitor.status
        } else if let failure = hosting.failure(runtime.id) {
            hostedStatus = RuntimeStatus.Hosted(state: .failed, lastError: failure)
        } else if runtime.hasHost {
            hostedStatus = RuntimeStatus.Hosted(state: .starting)
        } else {
            hostedStatus = RuntimeStatus.Hosted(state: .notHosted)
        }
        return RuntimeStatus(
            id: "\(runtime.id)", kind: descriptor.map { "\($0.kind)" } ?? "invalid",
            teeHardware: "\(descriptor?.teeHardware ?? .invalid)",
            provisioner: runtime.hasHost ? config.runtime.provisioner : "none", hosted: hostedStatus, history: history)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// `mkdir -p` with mode 0700 for the directories it creates.
func makeDirectory(_ path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw RuntimeNodeError("data directory \(path) is not a directory") }
        return
    }
    do {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
        throw RuntimeNodeError("cannot create data directory \(path): \(error.localizedDescription)")
    }
}

/// An exclusive `flock` on the data directory itself, so two nodes never open the same stores.
/// The control socket alone cannot guarantee that: two nodes starting together over a stale
/// socket could each find it dead, remove it and bind their own. Locking the directory writes
/// nothing into it, and the kernel drops the lock when the process ends, however it ends, so a
/// crashed node leaves nothing to clean up. The lock belongs to the open descriptor: a child
/// being spawned when it is released holds a copy until its exec closes it (close-on-exec), so
/// in a process that spawns while it re-locks, the lock can linger that long after `release()`.
final class DataDirectoryLock: Sendable {
    private let descriptor: Mutex<Int32?>

    init(directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw RuntimeNodeError("cannot open the data directory \(directory): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK {
                throw RuntimeNodeError("another node is running with the data directory \(directory); stop it first")
            }
            throw RuntimeNodeError("cannot lock the data directory \(directory): \(String(cString: strerror(code)))")
        }
        descriptor = Mutex(fd)
    }

    /// Releases the lock; later calls do nothing.
    func release() {
        if let fd = descriptor.withLock({ fd in defer { fd = nil }; return fd }) { close(fd) }
    }

    deinit { release() }
}
