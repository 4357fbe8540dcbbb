public import OasisCBOR
internal import Crypto
internal import CryptoExtras

/// A 32-byte SHA-512/256 digest (FIPS 180-4; not SHA-512 cut short).
///
/// CBOR carries it as a 32-byte byte string, JSON as standard base64; ``description`` is
/// lowercase hex.
public struct Hash: Hashable, Sendable, Comparable, CustomStringConvertible {
    public private(set) var raw: Bytes32

    /// The digest of no bytes, `c672b8d1…0967a`. Not the same as the all-zero hash.
    public static let empty = Hash.digest([UInt8]())

    /// All zero bytes (Go's zero value).
    public static let zero = Hash(raw: .zero)

    public init(raw: Bytes32) {
        self.raw = raw
    }

    /// Exactly 32 bytes.
    public init(bytes: [UInt8]) throws(HashError) {
        guard let raw = Bytes32(bytes) else { throw .malformed }
        self.raw = raw
    }

    /// 64 hex characters, either case.
    public init(hex: String) throws(HashError) {
        let bytes: [UInt8]
        do {
            bytes = try Hex.decode(hex)
        } catch {
            throw .invalidHex(error)
        }
        try self.init(bytes: bytes)
    }

    /// SHA-512/256 of `bytes`.
    public static func digest(_ bytes: some Sequence<UInt8>) -> Hash {
        var hasher = SHA512256()
        hasher.update(data: Array(bytes))
        return Hash(raw: Bytes32(Array(hasher.finalize()))!)
    }

    /// SHA-512/256 of the concatenation of `parts` (`hash.NewFromBytes`).
    public static func digest(parts: [[UInt8]]) -> Hash {
        var hasher = SHA512256()
        for part in parts { hasher.update(data: part) }
        return Hash(raw: Bytes32(Array(hasher.finalize()))!)
    }

    /// SHA-512/256 of the canonical CBOR of `value` (`hash.NewFrom`).
    public static func digest<T: Encodable>(cborOf value: T) throws -> Hash {
        digest(try CBOREncoder().encode(value))
    }

    /// The 32 bytes.
    public var bytes: [UInt8] { raw.bytes }
    /// Whether this is the digest of no bytes (Go's `IsEmpty`).
    public var isEmpty: Bool { self == .empty }
    /// Lowercase hex.
    public var description: String { Hex.encode(bytes) }
    /// Standard base64 with padding (the JSON form).
    public var base64: String { Base64.encode(bytes) }

    public static func < (a: Hash, b: Hash) -> Bool { a.raw < b.raw }
}

/// Why a hash could not be made.
public enum HashError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformed
    case invalidHex(Hex.DecodeError)

    public var description: String {
        switch self {
        case .malformed: "hash: malformed hash"
        case .invalidHex(let e): e.description
        }
    }
}

extension Hash: GoBinaryCodable {}
