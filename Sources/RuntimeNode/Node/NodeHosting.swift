import Logging
import LocalConsensus
import RuntimeRegistry
import ServiceLifecycle
import Synchronization

/// One hosted runtime as the node runs it.
struct HostedEntry: Sendable {
    let runtime: Runtime
    let hosted: RichRuntime
    let monitor: HostedRuntimeMonitor
    let notifier: any Service
    /// The localnet executor; compute runtimes only.
    let executor: LocalnetExecutor?
}

/// The node's hosting service: provisions every runtime that has a `runtime.paths` entry
/// through a ``RuntimeHostNode``, then runs each one's supervisor, notifier, monitor and (for
/// compute runtimes) localnet executor until graceful shutdown.
///
/// Provisioning waits for the runtime's registry descriptor, so the registry's services must
/// run next to it. A runtime that cannot be provisioned is reported as `failed` with its
/// error; the others are hosted regardless.
final class NodeHosting: Service, Sendable {
    private struct State {
        var entries: [Namespace: HostedEntry] = [:]
        var failures: [Namespace: String] = [:]
    }

    private let registry: Registry
    private let consensus: LocalConsensus
    private let logger: Logger
    private let state = Mutex(State())

    init(registry: Registry, consensus: LocalConsensus, logger: Logger) {
        self.registry = registry
        self.consensus = consensus
        self.logger = logger
    }

    /// The hosted runtime `id`, once provisioned.
    func entry(_ id: Namespace) -> HostedEntry? { state.withLock { $0.entries[id] } }

    /// Why provisioning `id` failed, if it did.
    func failure(_ id: Namespace) -> String? { state.withLock { $0.failures[id] } }

    func run() async throws {
        let runtimes = registry.runtimes().filter(\.hasHost)
        await withTaskGroup(of: Void.self) { group in
            for runtime in runtimes {
                group.addTask { await self.host(runtime) }
            }
        }
    }

    /// Provisions and runs one runtime until shutdown.
    private func host(_ runtime: Runtime) async {
        var logger = self.logger
        logger[metadataKey: "runtime.id"] = "\(runtime.id)"
        let hostNode = RuntimeHostNode(factory: NodeHostHandlerFactory(runtime: runtime, logger: logger))
        let provisioned: (runtime: RichRuntime, notifier: any Service)
        do {
            provisioned = try await cancelWhenGracefulShutdown { try await hostNode.provisionHostedRuntime() }
        } catch is CancellationError {
            return
        } catch {
            state.withLock { $0.failures[runtime.id] = "\(error)" }
            logger.error("cannot host runtime", metadata: ["runtime.error": "\(error)"])
            return
        }
        let hosted = provisioned.runtime
        let monitor = HostedRuntimeMonitor(runtime: hosted, logger: logger)
        var executor: LocalnetExecutor?
        if let descriptor = try? await runtime.registryDescriptor(), descriptor.kind == .compute {
            executor = LocalnetExecutor(runtime: runtime, hosted: hosted, consensus: consensus, logger: logger)
        }
        let entry = HostedEntry(
            runtime: runtime, hosted: hosted, monitor: monitor, notifier: provisioned.notifier, executor: executor)
        state.withLock { $0.entries[runtime.id] = entry }

        // One group per runtime, so shutdown is ordered: the executor finishes its batch and
        // fails what is queued, then the runtime stops, then its monitor sees the end.
        var parts: [any Service] = [monitor, hosted, provisioned.notifier]
        if let executor { parts.append(executor) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: parts.map {
                .init(
                    service: WaitsForShutdown(service: $0), successTerminationBehavior: .ignore,
                    failureTerminationBehavior: .ignore)
            },
            logger: logger))
        hosted.start()
        do {
            try await group.run()
        } catch {
            logger.error("hosting the runtime failed", metadata: ["error": "\(error)"])
        }
    }
}
