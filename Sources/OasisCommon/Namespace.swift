public import OasisCBOR

/// A runtime's 32-byte identifier: an 8-byte big-endian flag word followed by a 24-byte id.
///
/// The top bit of the flag word marks a test runtime, the next one a key-manager runtime;
/// every other flag bit is reserved and makes the namespace malformed. CBOR carries it as a
/// 32-byte byte string, JSON as standard base64, and people read it as 64 lowercase hex
/// characters (``description``).
public struct Namespace: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Size in bytes.
    public static let size = 32
    /// Size of the hex form.
    public static let hexSize = 64
    /// Size of the identifier part.
    public static let idSize = 24
    /// The test-runtime flag.
    public static let flagTest: UInt64 = 1 << 63
    /// The key-manager flag.
    public static let flagKeyManager: UInt64 = 1 << 62
    /// Every flag bit that must be clear.
    public static let reservedFlags: UInt64 = ~(flagTest | flagKeyManager)

    public private(set) var raw: Bytes32

    /// Parses 64 hex characters (either case) and checks the flag rules.
    public init(hex: String) throws(NamespaceError) {
        let bytes: [UInt8]
        do {
            bytes = try Hex.decode(hex)
        } catch {
            throw .invalidHex(error)
        }
        try self.init(bytes: bytes)
    }

    /// Exactly 32 bytes with no reserved flag bit set.
    public init(bytes: [UInt8]) throws(NamespaceError) {
        guard let raw = Bytes32(bytes) else { throw .malformed }
        self.raw = raw
        guard isValid else { throw .malformed }
    }

    /// Any 32 bytes, reserved bits or not. Go keeps such a value after a failed
    /// `UnmarshalBinary`; test vectors (e.g. block headers whose namespace is the empty hash)
    /// need it. Use ``init(bytes:)`` for anything that came from outside.
    public init(unchecked raw: Bytes32) {
        self.raw = raw
    }

    /// `NewNamespace`: the flags followed by the 24-byte id; throws when reserved bits are set
    /// (``init(uncheckedID:flags:)`` gives the value anyway).
    public init(id: [UInt8], flags: UInt64) throws(NamespaceError) {
        self = try Self.build(id: id, flags: flags)
        guard isValid else { throw .malformed }
    }

    /// `NewNamespace` without the flag check.
    public init(uncheckedID id: [UInt8], flags: UInt64) throws(NamespaceError) {
        self = try Self.build(id: id, flags: flags)
    }

    private static func build(id: [UInt8], flags: UInt64) throws(NamespaceError) -> Namespace {
        guard id.count == idSize else { throw .malformed }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: flags >> UInt64(shift)))
        }
        bytes.append(contentsOf: id)
        return Namespace(unchecked: Bytes32(bytes)!)
    }

    /// `NewTestNamespaceFromSeed`: id = first 24 bytes of SHA-512/256(seed), test flag set.
    public static func test(seed: String, keyManager: Bool = false) -> Namespace {
        test(seed: Array(seed.utf8), flags: keyManager ? flagKeyManager : 0)
    }

    /// `NewTestNamespaceFromSeed` with raw flags. Like Go it does not check them, so reserved
    /// bits in `flags` give an invalid namespace.
    public static func test(seed: [UInt8], flags: UInt64) -> Namespace {
        let id = Array(Hash.digest(seed).bytes.prefix(idSize))
        return try! Namespace(uncheckedID: id, flags: flagTest | flags)
    }

    /// The 32 bytes.
    public var bytes: [UInt8] { raw.bytes }
    /// The flag word.
    public var flags: UInt64 { raw.firstWord }
    /// The 24-byte identifier.
    public var id: [UInt8] { Array(raw.bytes[8...]) }
    /// No reserved flag bit is set.
    public var isValid: Bool { flags & Self.reservedFlags == 0 }
    /// The test flag is set.
    public var isTest: Bool { flags & Self.flagTest != 0 }
    /// The key-manager flag is set.
    public var isKeyManager: Bool { flags & Self.flagKeyManager != 0 }

    /// 64 lowercase hex characters.
    public var description: String { Hex.encode(bytes) }

    /// Standard base64 with padding (Go's `MarshalText`).
    public var base64: String { Base64.encode(bytes) }

    /// Parses the base64 text form.
    public init(base64 text: String) throws(NamespaceError) {
        guard let bytes = Base64.decode(text) else { throw .invalidBase64 }
        try self.init(bytes: bytes)
    }

    public static func < (a: Namespace, b: Namespace) -> Bool { a.raw < b.raw }
}

/// Why a namespace could not be made.
public enum NamespaceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Wrong length or reserved flag bits (`ErrMalformedNamespace`).
    case malformed
    /// The hex form did not decode.
    case invalidHex(Hex.DecodeError)
    /// The base64 form did not decode.
    case invalidBase64

    public var description: String {
        switch self {
        case .malformed: "malformed namespace"
        case .invalidHex(let e): e.description
        case .invalidBase64: "illegal base64 data in namespace"
        }
    }
}

extension Namespace: GoBinaryCodable {}

extension Namespace: CBORMapKey {
    public var cborMapKey: CBORValue { .byteString(bytes) }
    public init(cborMapKey: CBORValue) throws {
        guard case .byteString(let b) = cborMapKey else { throw NamespaceError.malformed }
        try self.init(bytes: b)
    }
}

extension Namespace: CodingKeyRepresentable {
    public var codingKey: any CodingKey { AnyCodingKey(base64) }
    public init?<T: CodingKey>(codingKey: T) {
        guard let ns = try? Namespace(base64: codingKey.stringValue) else { return nil }
        self = ns
    }
}
