public import OasisCBOR

// The fast CBOR paths of the common types (see ``CBORFastDecodable``). Each accepts what its
// Codable conformance accepts and gives the same value; the fixed-size byte types read their
// bytes in place instead of through an array.

extension Hash: CBORFastDecodable {
    /// Exactly 32 bytes.
    @inlinable
    public init(cbor reader: inout CBORFastReader) throws {
        self = try reader.decodeBytes { Bytes32($0).map(Hash.init(raw:)) }
    }
}

extension PublicKey: CBORFastDecodable {
    /// Exactly 32 bytes.
    @inlinable
    public init(cbor reader: inout CBORFastReader) throws {
        self = try reader.decodeBytes { Bytes32($0).map(PublicKey.init(raw:)) }
    }
}

extension Namespace: CBORFastDecodable {
    /// Exactly 32 bytes with no reserved flag bit set.
    @inlinable
    public init(cbor reader: inout CBORFastReader) throws {
        self = try reader.decodeBytes { bytes -> Namespace? in
            guard let raw = Bytes32(bytes) else { return nil }
            let namespace = Namespace(unchecked: raw)
            return namespace.isValid ? namespace : nil
        }
    }
}

extension RawSignature: CBORFastDecodable {
    /// Exactly 64 bytes.
    public init(cbor reader: inout CBORFastReader) throws {
        self = try reader.decodeBytes { try? RawSignature(bytes: Array($0)) }
    }
}

extension Signature: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "public_key": publicKey = try reader.decodeField() ?? PublicKey(raw: .zero)
            case "signature": signature = try reader.decodeField() ?? .zero
            default: try reader.unknownField()
            }
        }
    }
}

extension Quantity: CBORFastDecodable {
    /// Big-endian magnitude bytes without a leading zero byte.
    public init(cbor reader: inout CBORFastReader) throws {
        self = try reader.decodeBytes { bytes in bytes.first == 0 ? nil : Quantity(bigEndian: Array(bytes)) }
    }
}

extension Version: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "major": major = try reader.decodeField() ?? 0
            case "minor": minor = try reader.decodeField() ?? 0
            case "patch": patch = try reader.decodeField() ?? 0
            default: try reader.unknownField()
            }
        }
    }
}

extension TEEHardware: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init(rawValue: try reader.decodeInteger(UInt8.self))
    }
}

extension EpochTime: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init(rawValue: try reader.decodeInteger(UInt64.self))
    }
}
