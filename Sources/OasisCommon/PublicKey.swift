public import OasisCBOR

/// A 32-byte Ed25519 public key (entities, nodes, signers).
public struct PublicKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public private(set) var raw: Bytes32

    public init(raw: Bytes32) {
        self.raw = raw
    }

    /// Exactly 32 bytes.
    public init(bytes: [UInt8]) throws(KeyError) {
        guard let raw = Bytes32(bytes) else { throw .malformedPublicKey }
        self.raw = raw
    }

    /// The standard base64 text form (Go's `MarshalText`).
    public init(base64 text: String) throws(KeyError) {
        guard let bytes = Base64.decode(text) else { throw .malformedPublicKey }
        try self.init(bytes: bytes)
    }

    /// A key whose last byte is `n` and every other byte zero (handy in tests).
    public static func filled(lastByte n: UInt8) -> PublicKey {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes[31] = n
        return try! PublicKey(bytes: bytes)
    }

    public var bytes: [UInt8] { raw.bytes }
    /// Standard base64: the text form used in JSON and as a JSON map key.
    public var base64: String { Base64.encode(bytes) }
    /// The base64 text form, as oasis-core prints keys.
    public var description: String { base64 }

    public static func < (a: PublicKey, b: PublicKey) -> Bool { a.raw < b.raw }
}

/// Why a key or signature could not be made: Go's `signature.ErrMalformedPublicKey` and
/// `signature.ErrMalformedSignature`.
public enum KeyError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformedPublicKey
    case malformedSignature

    public var description: String {
        switch self {
        case .malformedPublicKey: "signature: malformed public key"
        case .malformedSignature: "signature: malformed signature"
        }
    }
}

extension PublicKey: GoBinaryCodable {}

extension PublicKey: CBORMapKey {
    public var cborMapKey: CBORValue { .byteString(bytes) }
    public init(cborMapKey: CBORValue) throws {
        guard case .byteString(let b) = cborMapKey else { throw KeyError.malformedPublicKey }
        try self.init(bytes: b)
    }
}

extension PublicKey: CodingKeyRepresentable {
    public var codingKey: any CodingKey { AnyCodingKey(base64) }
    public init?<T: CodingKey>(codingKey: T) {
        guard let key = try? PublicKey(base64: codingKey.stringValue) else { return nil }
        self = key
    }
}

/// A 64-byte Ed25519 signature.
public struct RawSignature: Hashable, Sendable, CustomStringConvertible {
    public private(set) var bytes: [UInt8]

    /// All zero bytes (what a runtime outside a TEE puts in `rak_sig`).
    public static let zero = RawSignature(checked: [UInt8](repeating: 0, count: 64))

    public init(bytes: [UInt8]) throws(KeyError) {
        guard bytes.count == 64 else { throw .malformedSignature }
        self.bytes = bytes
    }

    private init(checked bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var description: String { Base64.encode(bytes) }
}

extension RawSignature: GoBinaryCodable {}

/// A public key with a signature over some message (`signature.Signature`).
public struct Signature: Hashable, Sendable, Codable {
    public var publicKey: PublicKey
    public var signature: RawSignature

    public init(publicKey: PublicKey = PublicKey(raw: .zero), signature: RawSignature = .zero) {
        self.publicKey = publicKey
        self.signature = signature
    }

    enum CodingKeys: String, CodingKey {
        case publicKey = "public_key"
        case signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        publicKey = try c.decode(PublicKey.self, forKey: .publicKey, orZero: PublicKey(raw: .zero))
        signature = try c.decode(RawSignature.self, forKey: .signature, orZero: .zero)
    }
}
