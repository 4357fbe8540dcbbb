// TEMPORARY: the host API (module RuntimeHost, branch work/host) has not landed yet. These are
// the few names of it the registry uses, with the same shapes; this file goes away when it lands.
public import OasisCommon
public import RuntimeHostProtocol

/// Makes hosted runtimes (stand-in for RuntimeHost's `Provisioner`).
public protocol Provisioner: Sendable {
    /// Creates the runtime object for `config`; starts nothing.
    func newRuntime(_ config: HostConfig) async throws -> any HostedRuntime
}

/// One hosted runtime (stand-in for RuntimeHost's `HostedRuntime`).
public protocol HostedRuntime: Sendable {
    /// The configured runtime id.
    var id: Namespace { get }
}

/// What a provisioner needs to host one runtime (stand-in for RuntimeHost's `HostConfig`).
public struct HostConfig: Sendable {
    /// The runtime.
    public var runtimeID: Namespace
    /// Its binary.
    public var path: String
    /// Provisioner-specific options.
    public var extra: HostExtra
    /// Answers the runtime's requests.
    public var messageHandler: any RequestHandler

    /// A configuration.
    public init(
        runtimeID: Namespace, path: String, extra: HostExtra = .none,
        messageHandler: any RequestHandler = UnsupportedRequestHandler()
    ) {
        self.runtimeID = runtimeID
        self.path = path
        self.extra = extra
        self.messageHandler = messageHandler
    }
}

/// Provisioner-specific options (stand-in for RuntimeHost's `HostExtra`).
public enum HostExtra: Sendable, Hashable {
    /// Nothing beyond the path.
    case none
    /// SGX: where the SIGSTRUCT is, or whether a dummy one may be generated.
    case sgx(signaturePath: String?, unsafeDebugGenerateSigstruct: Bool)
}

/// A runtime with typed calls (stand-in for RuntimeHost's `RichRuntime`).
public struct RichRuntime: Sendable {
    /// The wrapped runtime.
    public let runtime: any HostedRuntime
    /// Wraps `runtime`.
    public init(_ runtime: any HostedRuntime) { self.runtime = runtime }
    /// The runtime's id.
    public var id: Namespace { runtime.id }
}

/// Stand-in for RuntimeHost's `MockProvisioner`.
public struct MockProvisioner: Provisioner {
    /// A mock provisioner.
    public init() {}
    /// A runtime that does nothing.
    public func newRuntime(_ config: HostConfig) async throws -> any HostedRuntime { SeamRuntime(id: config.runtimeID) }
}

struct SeamRuntime: HostedRuntime {
    let id: Namespace
}

/// The host module is not linked yet: only the mock provisioner exists.
struct HostSeamUnavailable: Error, CustomStringConvertible {
    var description: String { "process provisioners are not available in this build" }
}

extension ProvisionerFactory {
    /// The host module's provisioners.
    public static let standard = ProvisionerFactory(
        mock: { MockProvisioner() },
        sandbox: { _, _, _ in throw HostSeamUnavailable() },
        sgx: { _, _, _, _ in throw HostSeamUnavailable() })
}
