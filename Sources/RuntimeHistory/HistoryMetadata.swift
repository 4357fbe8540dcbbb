public import OasisCommon
import OasisCBOR

/// The history's bookkeeping (oasis-core's `dbMetadata`): which runtime it belongs to, its
/// schema version and how far it got. Its CBOR form is the one v21.1 stored under key `0x01`.
public struct HistoryMetadata: Hashable, Sendable, Codable {
    /// The schema version (v21.1's `dbVersion`, 1).
    public var version: UInt64
    /// The runtime the history belongs to.
    public var runtimeID: Namespace
    /// The last consensus height recorded by a commit or a checkpoint.
    public var lastConsensusHeight: Int64
    /// The round of the latest block; 0 for an empty history (which has no block 0).
    public var lastRound: UInt64

    /// A metadata record.
    public init(version: UInt64, runtimeID: Namespace, lastConsensusHeight: Int64, lastRound: UInt64) {
        self.version = version
        self.runtimeID = runtimeID
        self.lastConsensusHeight = lastConsensusHeight
        self.lastRound = lastRound
    }

    enum CodingKeys: String, CodingKey {
        case version
        case runtimeID = "runtime_id"
        case lastConsensusHeight = "last_consensus_height"
        case lastRound = "last_round"
    }
}
