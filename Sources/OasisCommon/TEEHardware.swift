public import OasisCBOR

/// The trusted execution environment a runtime needs (`node.TEEHardware`, a u8).
///
/// An open set: values that oasis-core does not know survive decoding and are refused by
/// validation, as in Go. CBOR and JSON both carry the integer.
public struct TEEHardware: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// No TEE.
    public static let invalid = TEEHardware(rawValue: 0)
    /// Intel SGX.
    public static let intelSGX = TEEHardware(rawValue: 1)
    /// This value and above are reserved.
    public static let reserved = TEEHardware(rawValue: 2)

    /// `invalid`, `intel-sgx`, or `[unsupported TEEHardware]`.
    public var description: String {
        switch self {
        case .invalid: "invalid"
        case .intelSGX: "intel-sgx"
        default: "[unsupported TEEHardware]"
        }
    }

    /// Case-insensitive: `""` and `invalid` give ``invalid``, `intel-sgx` gives ``intelSGX``.
    public init(string: String) throws(TEEHardwareError) {
        switch string.lowercased() {
        case "", "invalid": self = .invalid
        case "intel-sgx": self = .intelSGX
        default: throw .invalid(string)
        }
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt8.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// `node: invalid TEE implementation`.
public enum TEEHardwareError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid(String)

    public var description: String { "node: invalid TEE implementation" }
}

/// A beacon epoch number (`beacon.EpochTime`, a u64).
public struct EpochTime: RawRepresentable, Hashable, Sendable, Comparable, Codable,
    ExpressibleByIntegerLiteral, CustomStringConvertible
{
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public init(_ value: UInt64) {
        self.rawValue = value
    }

    public init(integerLiteral value: UInt64) {
        self.rawValue = value
    }

    /// `EpochInvalid` = 2^64 - 1.
    public static let invalid = EpochTime(UInt64.max)

    /// `|a - b|`.
    public func absDiff(_ other: EpochTime) -> UInt64 {
        rawValue > other.rawValue ? rawValue - other.rawValue : other.rawValue - rawValue
    }

    public var description: String { String(rawValue) }

    public static func < (a: EpochTime, b: EpochTime) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

extension EpochTime: GoEmptyCheckable {
    public var isGoEmpty: Bool { rawValue == 0 }
}
