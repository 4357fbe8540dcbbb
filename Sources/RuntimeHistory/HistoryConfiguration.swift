/// Which rounds a history pruner removes.
public enum PrunerStrategy: Sendable, Hashable, CustomStringConvertible {
    /// Keep everything (`none`).
    case none
    /// Keep the latest `numKept` rounds after the latest one (`keep_last`): with latest round
    /// `L`, rounds `≤ L − numKept` are pruned. The latest block itself is never pruned, even
    /// with `numKept` 0.
    case keepLast(UInt64)

    /// The configuration names, `none` and `keep_last`.
    public static let noneName = "none"
    /// The configuration name of ``keepLast(_:)``.
    public static let keepLastName = "keep_last"

    /// Parses `runtime.history.pruner.strategy` (case-insensitive).
    public init(name: String, numKept: UInt64) throws(HistoryError) {
        switch name.lowercased() {
        case Self.noneName: self = .none
        case Self.keepLastName: self = .keepLast(numKept)
        default:
            throw .invalidConfiguration(
                "unknown history pruner strategy: \(name) (want \(Self.noneName) or \(Self.keepLastName))")
        }
    }

    public var description: String {
        switch self {
        case .none: Self.noneName
        case .keepLast(let n): "\(Self.keepLastName)(\(n))"
        }
    }
}

/// How a history prunes (`history.Config`).
public struct HistoryConfiguration: Sendable, Hashable {
    /// The default interval, as oasis-core's `NewDefaultConfig` (the node flag default is 2m).
    public static let defaultPruneInterval = Duration.seconds(10)

    /// Which rounds the pruner removes; `none` keeps everything.
    public var pruner: PrunerStrategy
    /// How often the pruner service runs a pass. Must be positive.
    public var pruneInterval: Duration
    /// At most this many rounds are pruned per pass, so a large backlog is worked off over
    /// several ticks instead of in one long pass.
    public var maxRoundsPerPass: Int
    /// Rounds deleted per write transaction; a commit waits for at most one such batch.
    public var deleteBatchSize: Int

    /// The defaults are v21.1's `NewDefaultConfig` (keep everything, 10s) plus our pass bounds.
    public init(
        pruner: PrunerStrategy = .none, pruneInterval: Duration = Self.defaultPruneInterval,
        maxRoundsPerPass: Int = 10_000, deleteBatchSize: Int = 1_000
    ) {
        self.pruner = pruner
        self.pruneInterval = pruneInterval
        self.maxRoundsPerPass = maxRoundsPerPass
        self.deleteBatchSize = deleteBatchSize
    }

    func validate() throws(HistoryError) {
        guard pruneInterval > .zero else {
            throw .invalidConfiguration("runtime.history.pruner.interval must be positive (got \(pruneInterval))")
        }
        guard maxRoundsPerPass >= 1 else {
            throw .invalidConfiguration("maxRoundsPerPass must be at least 1 (got \(maxRoundsPerPass))")
        }
        guard deleteBatchSize >= 1 else {
            throw .invalidConfiguration("deleteBatchSize must be at least 1 (got \(deleteBatchSize))")
        }
    }
}
