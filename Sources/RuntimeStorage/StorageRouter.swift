import ConsensusAPI
public import OasisCommon

/// Where the router finds each runtime's backend: the runtime registry, or a fixed table.
public protocol StorageBackendLookup: Sendable {
    /// The backend of `runtime`. Throws for a runtime that is not supported; the registry
    /// throws ``RuntimeNotSupportedError``.
    func storageBackend(for runtime: Namespace) throws -> any StorageBackend
    /// The backends of every supported runtime, for ``StorageRouter/initialized()``.
    func allStorageBackends() throws -> [any StorageBackend]
}

/// A fixed runtime → backend table.
public struct StorageBackendTable: StorageBackendLookup {
    /// The backends by runtime.
    public var backends: [Namespace: any StorageBackend]

    /// A table of `backends`.
    public init(_ backends: [Namespace: any StorageBackend]) {
        self.backends = backends
    }

    /// The backend of `runtime`, or ``RuntimeNotSupportedError``.
    public func storageBackend(for runtime: Namespace) throws -> any StorageBackend {
        guard let backend = backends[runtime] else { throw RuntimeNotSupportedError(runtime: runtime) }
        return backend
    }

    /// Every backend, in namespace order.
    public func allStorageBackends() throws -> [any StorageBackend] {
        backends.sorted { $0.key < $1.key }.map(\.value)
    }
}

/// One storage backend in front of every runtime's own (core.md §1.11): each request goes to
/// the backend of the runtime its namespace field names, and a runtime the lookup does not
/// know gets the lookup's error (the registry's `runtime/registry: runtime <hex> is not
/// supported`).
public struct StorageRouter: StorageBackend {
    private let lookup: any StorageBackendLookup

    /// A router over `lookup`.
    public init(lookup: any StorageBackendLookup) {
        self.lookup = lookup
    }

    /// A router over a fixed table.
    public init(backends: [Namespace: any StorageBackend]) {
        self.init(lookup: StorageBackendTable(backends))
    }

    private func backend(_ runtime: Namespace) throws -> any StorageBackend {
        try lookup.storageBackend(for: runtime)
    }

    public func syncGet(_ request: SyncGetRequest) async throws -> ProofResponse {
        try await backend(request.tree.root.namespace).syncGet(request)
    }

    public func syncGetPrefixes(_ request: SyncGetPrefixesRequest) async throws -> ProofResponse {
        try await backend(request.tree.root.namespace).syncGetPrefixes(request)
    }

    public func syncIterate(_ request: SyncIterateRequest) async throws -> ProofResponse {
        try await backend(request.tree.root.namespace).syncIterate(request)
    }

    public func getCheckpoints(_ request: GetCheckpointsRequest) async throws -> [CheckpointMetadata] {
        try await backend(request.namespace).getCheckpoints(request)
    }

    public func getCheckpointChunk(_ chunk: ChunkMetadata, to write: @Sendable ([UInt8]) async throws -> Void)
        async throws
    {
        try await backend(chunk.root.namespace).getCheckpointChunk(chunk, to: write)
    }

    public func apply(_ request: ApplyRequest) async throws -> [Receipt] {
        try await backend(request.namespace).apply(request)
    }

    public func applyBatch(_ request: ApplyBatchRequest) async throws -> [Receipt] {
        try await backend(request.namespace).applyBatch(request)
    }

    public func getDiff(_ request: GetDiffRequest) async throws -> WriteLog {
        try await backend(request.startRoot.namespace).getDiff(request)
    }

    /// Does nothing: the router owns no backend (as in v21.1).
    public func cleanup() async {}

    /// Waits for every runtime's backend in turn; returns at once when there are none.
    public func initialized() async throws {
        for backend in try lookup.allStorageBackends() {
            try await backend.initialized()
        }
    }
}
