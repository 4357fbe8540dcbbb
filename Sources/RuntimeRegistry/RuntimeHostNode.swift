public import RuntimeHost
public import RuntimeHostProtocol
public import ServiceLifecycle
import Synchronization

/// What a ``RuntimeHostNode`` needs from the worker that uses it (oasis-core's
/// `RuntimeHostHandlerFactory`).
public protocol RuntimeHostHandlerFactory: Sendable {
    /// The runtime to host.
    func runtime() -> Runtime
    /// Answers the requests the hosted runtime sends to the host.
    func newRuntimeHostHandler() -> any RequestHandler
    /// Pushes consensus changes to the hosted runtime (oasis-core's `protocol.Notifier`); a
    /// `Service` the caller runs next to the hosted runtime.
    func newNotifier(for hosted: any HostedRuntime) -> any Service
}

/// Why ``RuntimeHostNode/provisionHostedRuntime()`` failed, with oasis-core's messages.
public enum RuntimeHostNodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `failed to get runtime host: <err>`
    case host(String)
    /// `failed to provision runtime: <err>`
    case provision(String)

    public var description: String {
        switch self {
        case .host(let why): "failed to get runtime host: \(why)"
        case .provision(let why): "failed to provision runtime: \(why)"
        }
    }
}

/// Provisions the hosted runtime of one runtime (oasis-core's `RuntimeHostNode`).
public final class RuntimeHostNode: Sendable {
    private let factory: any RuntimeHostHandlerFactory
    private let provisioned = Mutex<(runtime: RichRuntime, notifier: any Service)?>(nil)

    /// A node for `factory`'s runtime; never fails.
    public init(factory: any RuntimeHostHandlerFactory) {
        self.factory = factory
    }

    /// Asks the runtime for its host configuration and provisioner (``Runtime/host()``),
    /// installs the factory's request handler, provisions the runtime and makes its notifier.
    /// Nothing is started: run both services and call `start()` on the runtime.
    public func provisionHostedRuntime() async throws(RuntimeHostNodeError) -> (runtime: RichRuntime, notifier: any Service) {
        var (config, provisioner): (HostConfig, any Provisioner)
        do {
            (config, provisioner) = try await factory.runtime().host()
        } catch {
            throw .host("\(error)")
        }
        config.messageHandler = factory.newRuntimeHostHandler()
        let hosted: any HostedRuntime
        do {
            hosted = try await provisioner.newRuntime(config)
        } catch {
            throw .provision("\(error)")
        }
        let notifier = factory.newNotifier(for: hosted)
        let result = (runtime: RichRuntime(hosted), notifier: notifier)
        provisioned.withLock { $0 = result }
        return result
    }

    /// The runtime provisioned last, or `nil` before ``provisionHostedRuntime()``.
    public var hostedRuntime: RichRuntime? { provisioned.withLock { $0?.runtime } }
}
