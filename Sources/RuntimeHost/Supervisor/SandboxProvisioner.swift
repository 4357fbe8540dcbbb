public import Logging
public import Metrics
public import OasisCommon
public import RuntimeHostProtocol

/// How a ``SandboxProvisioner`` runs runtime binaries.
public enum SandboxMode: Sendable, Hashable {
    /// A plain child process (v21.1's "naked" mode): development only.
    case unconfined
    /// In the bubblewrap + seccomp sandbox.
    case sandboxed(SandboxOptions)
}

/// The timings of a supervised runtime. The defaults are oasis-core v21.1's where it has one.
///
/// `connectTimeout` and `handshakeTimeout` are enforced by the socket layer on wall-clock
/// time; everything else runs on the provisioner's injected clock.
public struct SupervisorTimings: Sendable, Hashable {
    /// How long the runtime has to connect to the host socket (5 s).
    public var connectTimeout: Duration = .seconds(5)
    /// Deadline of the `RuntimeInfoRequest` handshake (1 s).
    public var handshakeTimeout: Duration = .seconds(1)
    /// Deadline of the ``HostInitializer`` (120 s).
    public var initializerTimeout: Duration = .seconds(120)
    /// Deadline of a graceful `RuntimeAbortRequest` (1 s).
    public var abortTimeout: Duration = .seconds(1)
    /// Default deadline of ``HostedRuntime/call(_:timeout:)``, waiting for a connection included.
    public var callTimeout: Duration = .seconds(60)
    /// First restart delay (500 ms).
    public var backoffInitial: Duration = .milliseconds(500)
    /// Growth of the restart delay per failure (1.5).
    public var backoffMultiplier: Double = 1.5
    /// Cap of the restart delay (60 s).
    public var backoffMaximum: Duration = .seconds(60)
    /// Random spread of a restart delay, as a fraction of it (0.5 = ±50 %); 0 for none.
    public var backoffJitter: Double = 0.5
    /// A runtime that stayed up this long before it went away restarts with the initial delay.
    public var healthyAfter: Duration = .seconds(60)
    /// Interval between watchdog pings (15 s); nil disables the watchdog.
    public var watchdogInterval: Duration? = .seconds(15)
    /// How long a watchdog ping may take before the runtime counts as hung and is killed (5 s).
    public var watchdogTimeout: Duration = .seconds(5)

    /// The defaults.
    public init() {}
}

/// What a ``HostInitializer`` gets: the runtime that has just completed the handshake.
public struct HostInitializerContext: Sendable {
    /// The runtime id.
    public let runtimeID: Namespace
    /// The version the runtime reported.
    public let version: Version
    /// The Ready connection, for provisioner-specific requests (the SGX RAK exchange).
    public let connection: Connection
    /// The pid of the runtime process (or of its outer bubblewrap).
    public let pid: Int32
    /// The runtime's configuration.
    public let config: HostConfig
}

/// Provisioner-specific initialisation after the handshake (v21.1's `HostInitializer`), where
/// SGX attestation goes: returns the TEE capability for the `started` event (nil outside a TEE).
/// Throwing fails the start attempt (`failed to initialize connection: …`). It is cancelled at
/// ``SupervisorTimings/initializerTimeout`` or when the runtime is stopped, and must return then.
public typealias HostInitializer = @Sendable (HostInitializerContext) async throws -> CapabilityTEE?

/// SGX settings of a provisioner (the boundary of v21.1's `sgx` provisioner).
public struct SGXOptions: Sendable {
    /// The SGX runtime loader; a runtime whose ``HostConfig/extra`` is ``HostExtra/sgx(signaturePath:unsafeDebugGenerateSigstruct:)``
    /// is run through it.
    public var loaderPath: String
    /// Device nodes any one of which shows the host can run enclaves.
    public var devicePaths: [String]
    /// Attestation after the handshake. Without one, an SGX runtime fails to start, since
    /// nothing could vouch for it.
    public var initializer: HostInitializer?

    /// Options for `loaderPath`; the devices are the in-kernel driver's and the legacy one's.
    public init(
        loaderPath: String, devicePaths: [String] = ["/dev/sgx_enclave", "/dev/isgx"],
        initializer: HostInitializer? = nil
    ) {
        self.loaderPath = loaderPath
        self.devicePaths = devicePaths
        self.initializer = initializer
    }
}

/// Hosts runtime binaries as supervised processes, unconfined or sandboxed (oasis-core's
/// `host/sandbox`, with the SGX boundary of `host/sgx`).
///
/// Each runtime it makes is a `Service` (``SupervisedRuntime``): put it in a `ServiceGroup`.
public struct SandboxProvisioner: Provisioner {
    let hostInfo: HostInfo
    let mode: SandboxMode
    let clock: HostClock
    let logger: Logger
    let timings: SupervisorTimings
    let initializer: HostInitializer?
    let sgx: SGXOptions?
    let metricsFactory: (any MetricsFactory)?
    let memoryLimit: UInt64?

    /// A provisioner.
    /// - Parameters:
    ///   - hostInfo: what the handshake tells runtimes about the node.
    ///   - mode: unconfined or sandboxed.
    ///   - clock: drives restarts, the watchdog and call deadlines.
    ///   - logger: for the supervisor and, with `runtime.id`, the runtimes' output.
    ///   - timings: see ``SupervisorTimings``.
    ///   - initializer: runs after every handshake of a non-SGX runtime.
    ///   - sgx: the SGX loader; nil runs SGX runtimes' paths as plain binaries (as v21.1 does
    ///     without a loader).
    ///   - metricsFactory: where the start/restart/failure counters go; nil for `MetricsSystem`.
    ///   - memoryLimit: bytes each process of a runtime may allocate
    ///     (``RuntimeProcessConfiguration/memoryLimit``); nil for no limit.
    public init<C: Clock>(
        hostInfo: HostInfo, mode: SandboxMode, clock: C = ContinuousClock(), logger: Logger,
        timings: SupervisorTimings = SupervisorTimings(), initializer: HostInitializer? = nil,
        sgx: SGXOptions? = nil, metricsFactory: (any MetricsFactory)? = nil, memoryLimit: UInt64? = nil
    ) where C.Duration == Duration {
        self.hostInfo = hostInfo
        self.mode = mode
        self.clock = HostClock(clock)
        self.logger = logger
        self.timings = timings
        self.initializer = initializer
        self.sgx = sgx
        self.metricsFactory = metricsFactory
        self.memoryLimit = memoryLimit
    }

    /// Creates the supervised runtime; does no I/O and never fails.
    public func newRuntime(_ config: HostConfig) async throws -> any HostedRuntime {
        SupervisedRuntime(config: config, provisioner: self)
    }
}
