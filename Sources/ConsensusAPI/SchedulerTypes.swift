/// The job a committee does (`scheduler.CommitteeKind`, a u8): a key of a descriptor's
/// `constraints`.
public struct CommitteeKind: TextRepresentedEnum, Comparable {
    /// The value Go stores.
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Never valid.
    public static let invalid = CommitteeKind(rawValue: 0)
    /// The executor committee.
    public static let executor = CommitteeKind(rawValue: 1)
    /// The storage committee.
    public static let storage = CommitteeKind(rawValue: 2)
    /// One past the last kind (`MaxCommitteeKind`), for iterating.
    public static let end = CommitteeKind(rawValue: 3)

    /// `invalid`, `executor`, `storage`, or `[unknown kind: <n>]`.
    public var description: String {
        (try? marshalText()) ?? "[unknown kind: \(rawValue)]"
    }

    /// Fails for unknown values with `invalid role: <n>` (sic: Go reuses the role message).
    public func marshalText() throws -> String {
        switch self {
        case .invalid: "invalid"
        case .executor: "executor"
        case .storage: "storage"
        default: throw DescriptorError("invalid role: \(rawValue)")
        }
    }

    /// Case-sensitive; only `executor` and `storage`, otherwise `invalid role: <text>`.
    public init(string: String) throws(DescriptorError) {
        switch string {
        case "executor": self = .executor
        case "storage": self = .storage
        default: throw DescriptorError("invalid role: \(string)")
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// A node's role in a committee (`scheduler.Role`, a u8): the inner key of `constraints`.
public struct Role: TextRepresentedEnum, Comparable {
    /// The value Go stores.
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Never valid.
    public static let invalid = Role(rawValue: 0)
    /// A worker.
    public static let worker = Role(rawValue: 1)
    /// A backup worker (discrepancy resolution).
    public static let backupWorker = Role(rawValue: 2)

    /// `invalid`, `worker`, `backup-worker`, or `[unknown role: <n>]`.
    public var description: String {
        (try? marshalText()) ?? "[unknown role: \(rawValue)]"
    }

    /// Fails for unknown values with `invalid role: <n>`.
    public func marshalText() throws -> String {
        switch self {
        case .invalid: "invalid"
        case .worker: "worker"
        case .backupWorker: "backup-worker"
        default: throw DescriptorError("invalid role: \(rawValue)")
        }
    }

    /// Case-sensitive; only `worker` and `backup-worker`, otherwise `invalid role: <text>`.
    public init(string: String) throws(DescriptorError) {
        switch string {
        case "worker": self = .worker
        case "backup-worker": self = .backupWorker
        default: throw DescriptorError("invalid role: \(string)")
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}
