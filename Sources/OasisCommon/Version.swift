import OasisCBOR

/// A semantic version (`version.Version`). Each component is omitted from CBOR when zero,
/// so `Version()` encodes as the empty map `a0`.
public struct Version: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: UInt16
    public var minor: UInt16
    public var patch: UInt16

    public init(major: UInt16 = 0, minor: UInt16 = 0, patch: UInt16 = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// The Runtime Host Protocol version of oasis-core v21.1 (2.0.0).
    public static let runtimeHostProtocol = Version(major: 2)
    /// The runtime committee protocol version of v21.1 (2.0.0).
    public static let runtimeCommitteeProtocol = Version(major: 2)
    /// The consensus protocol version of v21.1 (4.0.0).
    public static let consensusProtocol = Version(major: 4)

    /// `major << 32 | minor << 16 | patch`.
    public var packed: UInt64 {
        UInt64(major) << 32 | UInt64(minor) << 16 | UInt64(patch)
    }

    /// Unpacks a u64 the way oasis-core v21.1 does: **each component keeps only its low 8
    /// bits**, so components above 255 do not survive a round trip. Kept for wire
    /// compatibility (RHP `RuntimeInfoResponse`).
    public init(packed value: UInt64) {
        self.init(
            major: UInt16(value >> 32 & 0xff),
            minor: UInt16(value >> 16 & 0xff),
            patch: UInt16(value & 0xff))
    }

    /// `{major, 0, 0}`.
    public var maskingNonMajor: Version { Version(major: major) }

    /// `"<major>.<minor>.<patch>"`.
    public var description: String { "\(major).\(minor).\(patch)" }

    /// Fails for 0.0.0.
    public func validateBasic() throws(VersionError) {
        if self == Version() { throw .zero }
    }

    /// Parses `"1.2.3"`, `"1.2"` or `"1"`.
    public init(parsing text: String) throws(VersionError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { throw .unparsable(text) }
        var components: [UInt16] = []
        for part in parts {
            guard let v = UInt16(part) else { throw .unparsable(text) }
            components.append(v)
        }
        while components.count < 3 { components.append(0) }
        self.init(major: components[0], minor: components[1], patch: components[2])
    }

    /// Only the major components must match (`ProtocolVersions.Compatible`).
    public func isCompatible(with other: Version) -> Bool { major == other.major }

    public static func < (a: Version, b: Version) -> Bool { a.packed < b.packed }
}

/// Why a version is not acceptable.
public enum VersionError: Error, Sendable, Hashable, CustomStringConvertible {
    case zero
    case unparsable(String)

    public var description: String {
        switch self {
        case .zero: "invalid version: 0.0.0"
        case .unparsable(let t): "invalid version: '\(t)' (expected MAJOR.MINOR.PATCH)"
        }
    }
}

extension Version: Codable {
    enum CodingKeys: String, CodingKey { case major, minor, patch }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        major = try c.decode(UInt16.self, forKey: .major, orZero: 0)
        minor = try c.decode(UInt16.self, forKey: .minor, orZero: 0)
        patch = try c.decode(UInt16.self, forKey: .patch, orZero: 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOmitEmpty(major, forKey: .major)
        try c.encodeOmitEmpty(minor, forKey: .minor)
        try c.encodeOmitEmpty(patch, forKey: .patch)
    }
}
