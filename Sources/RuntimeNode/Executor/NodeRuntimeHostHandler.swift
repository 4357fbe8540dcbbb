public import Logging
public import RuntimeRegistry

/// Answers the requests a hosted runtime sends to the node (oasis-core's runtime host
/// handler, without the parts a localnet has no use for):
///
/// * `HostStorageSyncRequest` on the runtime endpoint — `SyncGet`, `SyncGetPrefixes`,
///   `SyncIterate` — from the runtime's storage (``Runtime/storage()``), with the backend's
///   proofs; the runtime checks them against the roots it trusts.
/// * `HostLocalStorageGetRequest` / `HostLocalStorageSetRequest` from the runtime's local
///   storage (``Runtime/localStorage``).
///
/// Everything else, the consensus storage endpoint included (the embedded consensus has no
/// light client to serve it), is refused with `method not supported`, as the RHP layer
/// refuses requests it has no handler for.
public struct NodeRuntimeHostHandler: RequestHandler {
    private let runtime: Runtime
    private let logger: Logger

    /// A handler serving `runtime`'s storage and local storage.
    public init(runtime: Runtime, logger: Logger) {
        self.runtime = runtime
        var logger = logger
        logger[metadataKey: "runtime.id"] = "\(runtime.id)"
        self.logger = logger
    }

    public func handle(_ request: Body) async throws -> Body {
        switch request {
        case .hostStorageSyncRequest(let sync):
            guard sync.endpoint == .runtime, let operation = sync.operation else {
                logger.debug("refused a storage sync request", metadata: ["rhp.endpoint": "\(sync.endpoint)"])
                throw MethodNotSupported()
            }
            let storage = try runtime.storage()
            let proof: ProofResponse =
                switch operation {
                case .get(let get): try await storage.syncGet(get)
                case .getPrefixes(let prefixes): try await storage.syncGetPrefixes(prefixes)
                case .iterate(let iterate): try await storage.syncIterate(iterate)
                }
            return .hostStorageSyncResponse(HostStorageSyncResponse(proofResponse: proof))
        case .hostLocalStorageGetRequest(let get):
            guard let localStorage = runtime.localStorage else { throw MethodNotSupported() }
            return .hostLocalStorageGetResponse(HostLocalStorageGetResponse(value: try await localStorage.get(get.key)))
        case .hostLocalStorageSetRequest(let set):
            guard let localStorage = runtime.localStorage else { throw MethodNotSupported() }
            try await localStorage.set(set.key, set.value)
            return .hostLocalStorageSetResponse
        default:
            logger.debug("refused a request from the runtime", metadata: ["rhp.request": "\(request.kind)"])
            throw MethodNotSupported()
        }
    }
}
