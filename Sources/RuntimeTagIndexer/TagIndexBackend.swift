public import OasisCommon
public import RuntimeStorage

/// Where a transaction sits: its round, its hash and its index in the round.
public struct TransactionLocation: Hashable, Sendable {
    /// The round the transaction is in.
    public var round: UInt64
    /// `SHA-512/256` of the transaction's input.
    public var txHash: Hash
    /// The transaction's position in the round.
    public var txIndex: UInt32

    /// A location.
    public init(round: UInt64, txHash: Hash, txIndex: UInt32) {
        self.round = round
        self.txHash = txHash
        self.txIndex = txIndex
    }
}

/// One hit of ``TagIndexQueries/queryTxns(_:)`` (`tagindexer.Result`).
public struct TagQueryResult: Hashable, Sendable {
    /// `SHA-512/256` of the transaction's input.
    public var txHash: Hash
    /// The transaction's position in its round.
    public var txIndex: UInt32

    /// A hit.
    public init(txHash: Hash, txIndex: UInt32) {
        self.txHash = txHash
        self.txIndex = txIndex
    }
}

/// One condition of a query: the tag `key` has one of `values`. A condition with no values is
/// ignored (it does not make the query match nothing).
public struct TagQueryCondition: Hashable, Sendable {
    /// The tag key.
    public var key: [UInt8]
    /// The accepted values; any one matches.
    public var values: [[UInt8]]

    public init(key: [UInt8], values: [[UInt8]]) {
        self.key = key
        self.values = values
    }
}

/// A transaction query (`tagindexer.Query`): all conditions must hold (AND); within one
/// condition any value matches (OR).
public struct TagQuery: Hashable, Sendable {
    /// The largest number of hits a query returns.
    public static let maxLimit: UInt64 = 1000

    /// Inclusive lower round bound; 0 means none.
    public var roundMin: UInt64
    /// Inclusive upper round bound; 0 means none.
    public var roundMax: UInt64
    /// The conditions, all of which must hold.
    public var conditions: [TagQueryCondition]
    /// The most hits to return; 0 or anything above ``maxLimit`` means ``maxLimit``.
    public var limit: UInt64

    /// A query; the defaults match every transaction, up to the limit.
    public init(roundMin: UInt64 = 0, roundMax: UInt64 = 0, conditions: [TagQueryCondition] = [], limit: UInt64 = 0) {
        self.roundMin = roundMin
        self.roundMax = roundMax
        self.conditions = conditions
        self.limit = limit
    }

    /// The limit actually applied, in 1...1000.
    public var effectiveLimit: Int {
        limit == 0 || limit > Self.maxLimit ? Int(Self.maxLimit) : Int(limit)
    }
}

/// What the index records for one round: the block hash, and the transactions and their tags.
public struct IndexedRound: Hashable, Sendable {
    /// The round indexed.
    public var round: UInt64
    /// The encoded hash of the round's block header.
    public var blockHash: Hash
    /// The round's transactions; a transaction's index is its position here.
    public var transactions: [TransactionArtifacts]
    /// The tags the transactions emitted.
    public var tags: [TransactionTag]

    /// What to index for one round.
    public init(round: UInt64, blockHash: Hash, transactions: [TransactionArtifacts] = [], tags: [TransactionTag] = []) {
        self.round = round
        self.blockHash = blockHash
        self.transactions = transactions
        self.tags = tags
    }
}

/// The read side of a tag index (`tagindexer.QueryableBackend`). Not-found answers
/// `TagIndexerErrors.notFound` (module `client`, code 1, `client: not found`).
public protocol TagIndexQueries: Sendable {
    /// The round of the block with `blockHash`.
    func queryBlock(hash blockHash: Hash) async throws -> UInt64

    /// A transaction that emitted tag `key` = `value`; when several did, the earliest indexed.
    func queryTxn(key: [UInt8], value: [UInt8]) async throws -> TransactionLocation

    /// The hash of the transaction at `index` in `round` that emitted at least one tag.
    /// Transactions without tags are not indexed, so they are not found.
    func queryTxnByIndex(round: UInt64, index: UInt32) async throws -> Hash

    /// The transactions matching `query`, grouped by round, ascending by index within a
    /// round; at most `query.effectiveLimit` of them, lowest rounds first. No hit is an empty
    /// map, not an error.
    func queryTxns(_ query: TagQuery) async throws -> [UInt64: [TagQueryResult]]

    /// Returns once `round` or a later round is indexed; throws `CancellationError` when the
    /// calling task is cancelled first.
    func waitBlockIndexed(round: UInt64) async throws
}

/// A tag index (`tagindexer.Backend`): the queries plus writing, pruning and closing.
public protocol TagIndexBackend: TagIndexQueries {
    /// Whether this backend indexes anything; the disabled one does not.
    var isEnabled: Bool { get }

    /// Records `rounds` in one transaction. Indexing a round again replaces what it had. The
    /// watermark (``indexedThrough()``) does not move.
    func index(_ rounds: [IndexedRound]) async throws

    /// Records `rounds` and moves the watermark up to `round` in one transaction: every round
    /// the history holds up to `round` has now been handled (indexed, or skipped because its
    /// transactions could not be read). The watermark never moves down.
    func index(_ rounds: [IndexedRound], through round: UInt64) async throws

    /// Removes everything recorded for `rounds`.
    func prune(rounds: [UInt64]) async throws

    /// The highest indexed round, if any. Rounds below it may be missing; the watermark
    /// (``indexedThrough()``) is what says which rounds are done.
    func lastIndexedRound() async throws -> UInt64?

    /// The watermark: the indexer has handled every round the history holds up to this one
    /// (nil: none yet). It only advances contiguously, so no round below it is left behind;
    /// catch-up resumes above it and the history is not pruned past it.
    func indexedThrough() async throws -> UInt64?

    /// Closes the index. Idempotent.
    func close()
}

extension TagIndexBackend {
    /// Records one round (v21.1 `Index`).
    public func index(round: UInt64, blockHash: Hash, transactions: [TransactionArtifacts], tags: [TransactionTag])
        async throws
    {
        try await index([IndexedRound(round: round, blockHash: blockHash, transactions: transactions, tags: tags)])
    }
}

/// The registered errors of the tag indexer.
public enum TagIndexerErrors {
    /// `runtime/client/api.ErrNotFound`, which the indexer answers for a missing hit.
    public static let notFound = CodedError.register(module: "client", code: 1, message: "client: not found")
    /// The tag indexer module.
    public static let module = "tagindexer"
    /// Declared by v21.1 but never used.
    public static let tagTooLong = CodedError.register(
        module: module, code: 1, message: "tagindexer: tag too long to process")
    /// A stored record could not be read.
    public static let corrupted = CodedError.register(module: module, code: 2, message: "tagindexer: index corrupted")
}

/// Why the tag indexer failed, apart from its coded errors.
public enum TagIndexerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Every query of the disabled backend.
    case disabled
    /// An unknown `runtime.history.tag_indexer.backend` value.
    case unknownBackend(String)
    /// The index was closed.
    case closed
    /// The history pruner offered `round`, which the indexer has not reached yet (its watermark
    /// is `indexedThrough`, or it has handled nothing): the prune waits, as the round's
    /// transactions would be gone before they are indexed.
    case notIndexedYet(round: UInt64, indexedThrough: UInt64?)

    public var description: String {
        switch self {
        case .disabled:
            "tagindexer: tag indexer is disabled"
        case .unknownBackend(let name):
            "runtime/registry: unknown tag indexer backend: \(name) (want \"\", \"sqlite\" or \"bleve\")"
        case .closed:
            "tagindexer: the tag index is closed"
        case .notIndexedYet(let round, let indexedThrough):
            "tagindexer: round \(round) is not indexed yet (indexed through "
                + "\(indexedThrough.map { "round \($0)" } ?? "no round yet")); pruning waits until the indexer catches up"
        }
    }
}
