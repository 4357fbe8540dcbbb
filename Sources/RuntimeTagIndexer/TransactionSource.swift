public import ConsensusAPI
public import RuntimeStorage

/// The transactions of one round and the tags they emitted.
public struct RoundTransactions: Hashable, Sendable {
    /// Ordered as the index should number them (by hash, as the I/O tree lists them).
    public var transactions: [TransactionArtifacts]
    /// The tags they emitted, in I/O-tree key order.
    public var tags: [TransactionTag]

    /// A round's transactions and tags.
    public init(transactions: [TransactionArtifacts] = [], tags: [TransactionTag] = []) {
        self.transactions = transactions
        self.tags = tags
    }
}

/// Where the indexer reads a round's transactions and tags: the node wires it to the storage
/// backend (the round's I/O tree, read with `IOTreeLayout.parse`).
public protocol TransactionSource: Sendable {
    /// The transactions and tags of the round of `header`. Only called when `header.ioRoot`
    /// is not the empty hash; an empty I/O root means the round had no transactions.
    func transactions(for header: BlockHeader) async throws -> RoundTransactions
}
