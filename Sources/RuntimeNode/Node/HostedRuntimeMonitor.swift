public import Logging
import OasisCommon
public import RuntimeHost
public import ServiceLifecycle
import Synchronization

/// Follows one hosted runtime's lifecycle events and keeps what status reports about it:
/// its state, the version from its handshake, its process and restart count.
///
/// Subscribes to the events when made, so create it before the runtime is started; its
/// ``run()`` consumes them until the runtime's supervisor ends, and returns at graceful shutdown
/// or cancellation (never before the events end).
public final class HostedRuntimeMonitor: Service, Sendable {
    private struct State {
        var state: HostedState = .starting
        var version: Version?
        var lastError: String?
    }

    /// The runtime.
    public let runtime: RichRuntime
    private let events: AsyncStream<HostEvent>
    private let state = Mutex(State())
    private let logger: Logger

    /// A monitor of `runtime`, subscribed from now on.
    public init(runtime: RichRuntime, logger: Logger) {
        self.runtime = runtime
        self.events = runtime.events()
        var logger = logger
        logger[metadataKey: "runtime.id"] = "\(runtime.id)"
        self.logger = logger
    }

    /// The hosted part of the runtime's status row; a running runtime's memory is read from
    /// `/proc` now.
    public var status: RuntimeStatus.Hosted {
        let supervised = runtime.runtime as? SupervisedRuntime
        let snapshot = state.withLock { $0 }
        let pid = snapshot.state == .started ? supervised?.pid : nil
        let memory = pid.flatMap(ProcessTreeMemory.read(root:)).map {
            RuntimeStatus.Hosted.Memory(
                residentBytes: $0.residentBytes, dataBytes: $0.largestDataBytes, limitBytes: supervised?.memoryLimit)
        }
        return RuntimeStatus.Hosted(
            state: snapshot.state, version: snapshot.version.map { "\($0.major).\($0.minor).\($0.patch)" },
            pid: pid, restarts: supervised?.restartCount ?? 0, lastError: snapshot.lastError, memory: memory)
    }

    /// Whether the runtime is up right now.
    public var isStarted: Bool { state.withLock { $0.state == .started } }

    public func run() async throws {
        for await event in events {
            switch event {
            case .started(let version, _):
                state.withLock {
                    $0.state = .started
                    $0.version = version
                    $0.lastError = nil
                }
                logger.info("runtime started", metadata: ["runtime.version": "\(version)"])
            case .failedToStart(let error as HostRuntimeError) where error.code == .stopped:
                // A start cut short by stop(): the runtime is stopped, not failed.
                state.withLock { $0.state = .stopped }
                logger.info("runtime start interrupted by stop", metadata: ["runtime.error": "\(error)"])
            case .failedToStart(let error):
                state.withLock {
                    $0.state = .failed
                    $0.lastError = "\(error)"
                }
                logger.warning("runtime failed to start", metadata: ["runtime.error": "\(error)"])
            case .stopped:
                state.withLock { $0.state = .stopped }
                logger.notice("runtime stopped")
            case .updated:
                break
            }
        }
        state.withLock { $0.state = .stopped }
        // The events end when the supervisor does, which is while the service group is
        // shutting the supervisor down, before it signals this monitor. A service that returns
        // during another's graceful shutdown fails the whole group (`serviceFinishedUnexpectedly`),
        // so the monitor returns only at its own turn (or on cancellation).
        try? await gracefulShutdown()
    }
}
