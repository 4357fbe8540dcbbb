/// What a runtime does (`registry.RuntimeKind`, a u32). An open set, as in Go.
///
/// There is no text marshaler in oasis-core, so CBOR and JSON both carry the integer.
public struct RuntimeKind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The value Go stores.
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Never valid in a descriptor.
    public static let invalid = RuntimeKind(rawValue: 0)
    /// A generic compute runtime.
    public static let compute = RuntimeKind(rawValue: 1)
    /// A key manager runtime.
    public static let keyManager = RuntimeKind(rawValue: 2)

    /// `invalid`, `compute`, `keymanager`, or `[unsupported runtime kind]`.
    public var description: String {
        switch self {
        case .invalid: "invalid"
        case .compute: "compute"
        case .keyManager: "keymanager"
        default: "[unsupported runtime kind]"
        }
    }

    /// Go's `FromString`: case-insensitive, and only `compute` and `keymanager` are accepted
    /// (`invalid` is not), otherwise `runtime: unsupported runtime kind`.
    public init(string: String) throws(DescriptorError) {
        switch string.lowercased() {
        case "compute": self = .compute
        case "keymanager": self = .keyManager
        default: throw DescriptorError("runtime: unsupported runtime kind")
        }
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt32.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Who may update a runtime's descriptor (`registry.RuntimeGovernanceModel`, a u8).
///
/// CBOR carries the integer, JSON the text (`entity`, `runtime`, `consensus`).
public struct RuntimeGovernanceModel: TextRepresentedEnum, Comparable {
    /// The value Go stores.
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Never valid in a descriptor.
    public static let invalid = RuntimeGovernanceModel(rawValue: 0)
    /// The owning entity updates the descriptor.
    public static let entity = RuntimeGovernanceModel(rawValue: 1)
    /// The runtime updates its own descriptor through runtime messages.
    public static let runtime = RuntimeGovernanceModel(rawValue: 2)
    /// Consensus governance updates the descriptor.
    public static let consensus = RuntimeGovernanceModel(rawValue: 3)
    /// The highest defined model (`GovernanceMax`).
    public static let highest = consensus

    /// The text form for 0 to 3, `[unsupported runtime governance model]` otherwise.
    public var description: String {
        (try? marshalText()) ?? "[unsupported runtime governance model]"
    }

    /// Fails with `runtime: unsupported governance model` above 3.
    public func marshalText() throws -> String {
        switch self {
        case .invalid: "invalid"
        case .entity: "entity"
        case .runtime: "runtime"
        case .consensus: "consensus"
        default: throw DescriptorError("runtime: unsupported governance model")
        }
    }

    /// Case-sensitive; only `entity`, `runtime` and `consensus` (not `invalid`), otherwise
    /// `runtime: unsupported governance model: '<text>'`.
    public init(string: String) throws(DescriptorError) {
        switch string {
        case "entity": self = .entity
        case "runtime": self = .runtime
        case "consensus": self = .consensus
        default: throw DescriptorError("runtime: unsupported governance model: '\(string)'")
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}
