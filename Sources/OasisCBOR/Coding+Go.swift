/// Go's notion of an "empty" value, which `omitempty` leaves out of a struct's map.
public protocol GoEmptyCheckable {
    /// Whether Go's `omitempty` would leave this value out.
    var isGoEmpty: Bool { get }
}

extension Bool: GoEmptyCheckable { public var isGoEmpty: Bool { !self } }
extension String: GoEmptyCheckable { public var isGoEmpty: Bool { isEmpty } }
extension Int: GoEmptyCheckable { public var isGoEmpty: Bool { self == 0 } }
extension Int8: GoEmptyCheckable { public var isGoEmpty: Bool { self == 0 } }
extension Int16: GoEmptyCheckable { public var isGoEmpty: Bool { self == 0 } }
extension Int32: GoEmptyCheckable { public var isGoEmpty: Bool { self == 0 } }
extension Int64: GoEmptyCheckable { public var isGoEmpty: Bool { self == 0 } }
extension UInt: GoEmptyCheckable { public var isGoEmpty: Bool { self == 0 } }
extension UInt8: GoEmptyCheckable { public var isGoEmpty: Bool { self == 0 } }
extension UInt16: GoEmptyCheckable { public var isGoEmpty: Bool { self == 0 } }
extension UInt32: GoEmptyCheckable { public var isGoEmpty: Bool { self == 0 } }
extension UInt64: GoEmptyCheckable { public var isGoEmpty: Bool { self == 0 } }
extension Array: GoEmptyCheckable { public var isGoEmpty: Bool { isEmpty } }
extension Dictionary: GoEmptyCheckable { public var isGoEmpty: Bool { isEmpty } }
extension Optional: GoEmptyCheckable { public var isGoEmpty: Bool { self == nil } }

extension KeyedEncodingContainer {
    /// Go's `omitempty`: writes `value` only when it is not empty.
    public mutating func encodeOmitEmpty<T: Encodable & GoEmptyCheckable>(_ value: T, forKey key: Key) throws {
        if !value.isGoEmpty { try encode(value, forKey: key) }
    }

    /// A Go pointer, slice or map without `omitempty`: `nil` writes CBOR `null`.
    public mutating func encodeOrNull<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    /// A Go `[]byte`: a byte string in CBOR, base64 text in JSON.
    public mutating func encodeBytes(_ bytes: [UInt8], forKey key: Key, omitEmpty: Bool = false) throws {
        if omitEmpty && bytes.isEmpty { return }
        try encode(GoBytes(bytes), forKey: key)
    }
}

extension KeyedDecodingContainer {
    /// A field that takes `zero` when its key is absent or `null`, as Go leaves zero values.
    public func decode<T: Decodable>(_ type: T.Type, forKey key: Key, orZero zero: @autoclosure () -> T) throws -> T {
        try decodeIfPresent(type, forKey: key) ?? zero()
    }

    /// A Go `[]byte` field (byte string in CBOR, base64 in JSON); absent or `null` reads as empty.
    public func decodeBytes(forKey key: Key) throws -> [UInt8] {
        try decodeIfPresent(GoBytes.self, forKey: key)?.bytes ?? []
    }
}

/// A Go `[]byte`: written as a CBOR byte string, or as standard base64 text in JSON
/// (what Go's `encoding/json` does).
public struct GoBytes: Codable, Sendable, Hashable {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if decoder.isCBOR {
            bytes = try container.decode([UInt8].self)
        } else if container.decodeNil() {
            bytes = []
        } else {
            let text = try container.decode(String.self)
            guard let decoded = Base64.decode(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "not standard base64 with padding: \(text.prefix(40))")
            }
            bytes = decoded
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if encoder.isCBOR {
            try container.encode(bytes)
        } else {
            try container.encode(Base64.encode(bytes))
        }
    }
}

/// Standard base64 with padding (RFC 4648 §4), strict on input like Go's `StdEncoding`.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = input.count - i
        if rest == 1 {
            let n = UInt32(input[i]) << 16
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(contentsOf: "==".utf8)
        } else if rest == 2 {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `nil` unless `text` is canonical padded base64 (no whitespace, zero pad bits).
    public static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 4 * 3)
        var i = 0
        while i < input.count {
            let isLast = i + 4 == input.count
            var values: [UInt32] = [0, 0, 0, 0]
            var padding = 0
            for j in 0..<4 {
                let c = input[i + j]
                if c == UInt8(ascii: "=") && isLast && j >= 2 {
                    padding += 1
                    continue
                }
                guard padding == 0 else { return nil }
                let v = reverse[Int(c)]
                guard v != 0xff else { return nil }
                values[j] = UInt32(v)
            }
            let n = values[0] << 18 | values[1] << 12 | values[2] << 6 | values[3]
            out.append(UInt8(n >> 16 & 0xff))
            if padding < 2 { out.append(UInt8(n >> 8 & 0xff)) }
            if padding < 1 { out.append(UInt8(n & 0xff)) }
            // Go rejects non-zero bits in the padding.
            if padding == 1 && n & 0xff != 0 { return nil }
            if padding == 2 && n & 0xffff != 0 { return nil }
            i += 4
        }
        return out
    }
}

/// Lowercase hex encoding and strict decoding.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String { hexString(bytes) }

    /// Why a hex string could not be decoded, in the words of Go's `encoding/hex`.
    public enum DecodeError: Error, Sendable, Hashable, CustomStringConvertible {
        case oddLength
        case invalidByte(UInt8)

        public var description: String {
            switch self {
            case .oddLength: "encoding/hex: odd length hex string"
            case .invalidByte(let b): "encoding/hex: invalid byte: U+\(String(b, radix: 16, uppercase: true).leftPadded(to: 4))\(quoted(b))"
            }
        }

        /// Go's `%#U` of the byte as a rune: ` 'c'` when `strconv.IsPrint` holds for it, nothing
        /// otherwise. Among U+0000–U+00FF that is ASCII 0x20–0x7E and Latin-1 0xA1–0xFF except
        /// the soft hyphen U+00AD.
        private func quoted(_ b: UInt8) -> String {
            let printable = (0x20...0x7e).contains(b) || ((0xa1...0xff).contains(b) && b != 0xad)
            return printable ? " '\(Character(Unicode.Scalar(b)))'" : ""
        }
    }

    /// Decodes upper- or lower-case hex.
    public static func decode(_ text: String) throws(DecodeError) -> [UInt8] {
        let input = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 2)
        var i = 0
        // Go reports an invalid byte before an odd length when both apply.
        while i + 1 < input.count {
            out.append(try nibble(input[i]) << 4 | nibble(input[i + 1]))
            i += 2
        }
        if input.count % 2 == 1 {
            _ = try nibble(input[input.count - 1])
            throw .oddLength
        }
        return out
    }

    private static func nibble(_ c: UInt8) throws(DecodeError) -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: throw .invalidByte(c)
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// A value that travels as a Go byte array (`MarshalBinary`): a CBOR byte string, base64 text
/// in JSON. Conforming types get `Codable` from their bytes; decoding runs `init(bytes:)`, so a
/// wrong size or an invalid value fails there, with the field's path.
public protocol GoBinaryCodable: Codable {
    /// The binary form.
    var bytes: [UInt8] { get }
    /// Rebuilds the value from its binary form, refusing malformed input.
    init(bytes: [UInt8]) throws
}

extension GoBinaryCodable {
    public init(from decoder: any Decoder) throws {
        let bytes = try GoBytes(from: decoder).bytes
        do {
            try self.init(bytes: bytes)
        } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "\(error) (\(bytes.count) bytes)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try GoBytes(bytes).encode(to: encoder)
    }
}
