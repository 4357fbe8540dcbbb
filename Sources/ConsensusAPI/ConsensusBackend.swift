public import OasisCommon

/// What the runtime registry needs from a consensus layer (oasis-core `consensus.Backend`, the
/// subset of spec/core.md §9). The embedded single-node consensus implements it; an adapter to
/// a real network would too, without the registry changing.
public protocol ConsensusBackend: Sendable {
    /// Returns once consensus has finished its initial sync (`Synced()`).
    func waitSynced() async throws

    /// Epoch transitions. A new subscriber first receives the current epoch, if one has been
    /// announced; the stream is unbounded and ends when the consumer stops.
    func watchEpochs() -> AsyncStream<EpochTime>

    /// Runtime registrations. On subscription every registered runtime (suspended ones
    /// included) is delivered, then each later registration or update.
    func watchRuntimes() -> AsyncStream<RuntimeDescriptor>

    /// The roothash state of a runtime at a height (`0` = latest). Unknown or non-compute
    /// runtimes fail with `roothash: invalid runtime`.
    func runtimeState(id: Namespace, height: Int64) async throws -> RuntimeState

    /// The latest block of a runtime at a height (`0` = latest).
    func latestBlock(id: Namespace, height: Int64) async throws -> AnnotatedBlock

    /// Blocks of a runtime: the latest on subscription, then each block with a strictly higher
    /// round.
    func watchBlocks(id: Namespace) -> AsyncStream<AnnotatedBlock>

    /// Starts filling `history` with the runtime's blocks, catching up from its last consensus
    /// height first. Returns once tracking is set up.
    func trackRuntime(history: any RoothashHistory) async throws

    /// Stops filling the histories of runtime `id`; no block reaches them once it returns.
    /// The registry calls it before it closes a runtime's history.
    func untrackRuntime(id: Namespace) async

    /// Backend name, protocol version and current height.
    func status() async throws -> ConsensusStatus

    /// The chain domain-separation context (hex).
    func chainContext() async throws -> String
}

extension ConsensusBackend {
    /// Nothing to stop, for a backend that tracks no history.
    public func untrackRuntime(id: Namespace) async {}
}

/// The part of a runtime's block history that consensus tracking writes to.
public protocol RoothashHistory: Sendable {
    /// The runtime whose blocks go here.
    var runtimeID: Namespace { get }
    /// The consensus height of the last commit or checkpoint (0 when none).
    func lastConsensusHeight() async throws -> Int64
    /// Commits a block with its round results (one atomic step).
    func commit(_ block: AnnotatedBlock, roundResults: RoundResults?) async throws
    /// Commits several rounds in order in one atomic step (catching up after downtime).
    func commit(rounds: [FinalizedRound]) async throws
    /// Records that everything up to `height` has been seen, without a block.
    func consensusCheckpoint(_ height: Int64) async throws
}

/// A finalized runtime block with the round's results, as consensus hands it to a history.
public struct FinalizedRound: Hashable, Sendable {
    /// The block with the consensus height that finalized it.
    public var block: AnnotatedBlock
    /// What consensus recorded about the round; `nil` when unknown.
    public var roundResults: RoundResults?

    /// A finalized round.
    public init(block: AnnotatedBlock, roundResults: RoundResults?) {
        self.block = block
        self.roundResults = roundResults
    }
}

/// `consensus.Status`, the fields the registry reads.
public struct ConsensusStatus: Hashable, Sendable, Codable {
    /// `"local"` for the embedded consensus, `"tendermint"` on a real network.
    public var backend: String
    /// The consensus protocol version.
    public var version: Version
    /// The latest height.
    public var latestHeight: Int64
    /// The current epoch.
    public var latestEpoch: EpochTime

    /// A status.
    public init(backend: String, version: Version, latestHeight: Int64, latestEpoch: EpochTime) {
        self.backend = backend
        self.version = version
        self.latestHeight = latestHeight
        self.latestEpoch = latestEpoch
    }
}
