public import Logging
public import RuntimeRegistry
public import ServiceLifecycle

/// The node's ``RuntimeHostHandlerFactory``: ``NodeRuntimeHostHandler`` for requests, and a
/// notifier that only waits for graceful shutdown.
///
/// On a real network the notifier pushes consensus changes (new blocks, key-manager policy) to
/// the hosted runtime. The embedded consensus needs none of that: every request the executor
/// sends carries the block it runs against, so the notifier has nothing to push. It is still a
/// `Service`, so the node wires it the same way as a real one.
public struct NodeHostHandlerFactory: RuntimeHostHandlerFactory {
    private let hostedRuntime: Runtime
    private let logger: Logger

    /// A factory for `runtime`.
    public init(runtime: Runtime, logger: Logger) {
        self.hostedRuntime = runtime
        self.logger = logger
    }

    public func runtime() -> Runtime { hostedRuntime }

    public func newRuntimeHostHandler() -> any RequestHandler {
        NodeRuntimeHostHandler(runtime: hostedRuntime, logger: logger)
    }

    public func newNotifier(for hosted: any HostedRuntime) -> any Service {
        LocalnetNotifier()
    }
}

/// The localnet's notifier: nothing to push, so it waits for graceful shutdown (or
/// cancellation) and returns.
struct LocalnetNotifier: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
