public import OasisCommon
public import RuntimeHostProtocol
public import ServiceLifecycle

/// Makes hosted runtimes (oasis-core's `host.Provisioner`).
public protocol Provisioner: Sendable {
    /// Creates the runtime object for `config`. It starts nothing: run the returned runtime's
    /// ``HostedRuntime/run()`` (as a `Service`) and call ``HostedRuntime/start()``.
    func newRuntime(_ config: HostConfig) async throws -> any HostedRuntime
}

/// One hosted runtime instance and its supervisor (oasis-core's `host.Runtime`).
///
/// The supervisor is the runtime's `Service`: its ``run()`` is the only long-lived task, run by
/// the owner's `ServiceGroup` (or a task group it owns). ``start()`` tells it to bring the
/// runtime up; ``stop()`` (or a graceful shutdown of the group) makes it stop the runtime,
/// emit `stopped` if one was running, and return.
public protocol HostedRuntime: Service, Sendable {
    /// The configured runtime id.
    var id: Namespace { get }

    /// Sends one RHP request and returns the answer. An `Error` answer throws, so a returned
    /// body is never `.error`. While the runtime is not connected the call waits for it, up to
    /// `timeout` (nil: the provisioner's default call timeout).
    func call(_ body: Body, timeout: Duration?) async throws -> Body

    /// A new subscription to lifecycle events: unbounded, with no replay of past events. It
    /// ends when the consumer stops iterating or the runtime's service has returned.
    func events() -> AsyncStream<HostEvent>

    /// Asks the supervisor to start the runtime. Asynchronous (returns at once) and idempotent.
    func start()

    /// Asks the runtime to abandon its current work. If the graceful abort fails, or `force`,
    /// the runtime is killed and restarted; returns after `stopped`, before the new instance is
    /// up (a later ``call(_:timeout:)`` waits for it).
    func abort(force: Bool) async throws

    /// Asks the supervisor to stop the runtime; does not wait. Idempotent.
    func stop()
}

extension HostedRuntime {
    /// ``call(_:timeout:)`` with the provisioner's default timeout.
    public func call(_ body: Body) async throws -> Body {
        try await call(body, timeout: nil)
    }
}
