public import OasisCommon

/// The backend of a node that does not index tags (v21.1's nop backend): indexing and pruning
/// succeed and do nothing; every query fails with `tagindexer: tag indexer is disabled`.
public struct DisabledTagIndexBackend: TagIndexBackend {
    /// The disabled backend.
    public init() {}

    public var isEnabled: Bool { false }

    public func index(_ rounds: [IndexedRound]) async throws {}

    public func index(_ rounds: [IndexedRound], through round: UInt64) async throws {}

    public func prune(rounds: [UInt64]) async throws {}

    public func lastIndexedRound() async throws -> UInt64? { nil }

    public func indexedThrough() async throws -> UInt64? { nil }

    public func close() {}

    public func queryBlock(hash blockHash: Hash) async throws -> UInt64 {
        throw TagIndexerError.disabled
    }

    public func queryTxn(key: [UInt8], value: [UInt8]) async throws -> TransactionLocation {
        throw TagIndexerError.disabled
    }

    public func queryTxnByIndex(round: UInt64, index: UInt32) async throws -> Hash {
        throw TagIndexerError.disabled
    }

    public func queryTxns(_ query: TagQuery) async throws -> [UInt64: [TagQueryResult]] {
        throw TagIndexerError.disabled
    }

    public func waitBlockIndexed(round: UInt64) async throws {
        throw TagIndexerError.disabled
    }
}
