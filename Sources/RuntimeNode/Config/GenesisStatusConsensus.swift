import RuntimeRegistry

/// A read-only stand-in for the embedded consensus, built from its genesis document, so the
/// `runtime.*` checks (``RuntimeConfig/make(options:consensus:provisioners:logger:)``) can run
/// before the consensus state is opened. It answers only what those checks ask: the status
/// (backend, protocol version) and the chain context. Everything else is empty or fails.
struct GenesisStatusConsensus: ConsensusBackend {
    /// The genesis document's chain context.
    let chainContextValue: String

    struct NotOpened: Error, CustomStringConvertible {
        var description: String { "the consensus is not open while the configuration is checked" }
    }

    func waitSynced() async throws { throw NotOpened() }
    func watchEpochs() -> AsyncStream<EpochTime> { AsyncStream { $0.finish() } }
    func watchRuntimes() -> AsyncStream<RuntimeDescriptor> { AsyncStream { $0.finish() } }
    func runtimeState(id: Namespace, height: Int64) async throws -> RuntimeState { throw NotOpened() }
    func latestBlock(id: Namespace, height: Int64) async throws -> AnnotatedBlock { throw NotOpened() }
    func watchBlocks(id: Namespace) -> AsyncStream<AnnotatedBlock> { AsyncStream { $0.finish() } }
    func trackRuntime(history: any RoothashHistory) async throws { throw NotOpened() }

    /// What ``LocalConsensus`` reports, at the genesis height.
    func status() async throws -> ConsensusStatus {
        ConsensusStatus(
            backend: LocalConsensus.backendName, version: .consensusProtocol, latestHeight: 0,
            latestEpoch: EpochTime(0))
    }

    func chainContext() async throws -> String { chainContextValue }
}

extension ProvisionerFactory {
    /// A factory whose provisioners are all mock provisioners: building one starts and writes
    /// nothing, so the configuration checks can go through ``RuntimeConfig`` unchanged.
    static let inert = ProvisionerFactory(
        mock: { MockProvisioner() }, sandbox: { _ in MockProvisioner() },
        sgx: { _, _ in MockProvisioner() })
}
