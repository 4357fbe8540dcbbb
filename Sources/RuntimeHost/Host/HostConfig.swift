public import OasisCommon
public import RuntimeHostProtocol

/// What a provisioner needs to host one runtime (oasis-core's `host.Config`).
public struct HostConfig: Sendable {
    /// The identifier the runtime is assigned; sent to it in the handshake.
    public var runtimeID: Namespace
    /// The resource to run: an ELF executable for the sandbox provisioner, an SGXS enclave for
    /// the SGX boundary. The mock provisioner ignores it.
    public var path: String
    /// Provisioner-specific options.
    public var extra: HostExtra
    /// Answers the requests the runtime sends to the host.
    public var messageHandler: any RequestHandler

    /// A configuration; `messageHandler` defaults to one that answers every request with
    /// `method not supported` (what oasis-core's provisioner tests install).
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

/// Provisioner-specific options of a ``HostConfig`` (oasis-core's `Config.Extra`).
public enum HostExtra: Sendable, Hashable {
    /// Nothing beyond the path.
    case none
    /// An SGX enclave (oasis-core's `sgx.RuntimeExtra`): where its SIGSTRUCT is, or whether a
    /// dummy one may be generated (debug builds only).
    case sgx(signaturePath: String?, unsafeDebugGenerateSigstruct: Bool)
}
