public import OasisCBOR

/// A non-negative arbitrary-precision integer (`quantity.Quantity`): token amounts.
///
/// CBOR: a byte string with the big-endian magnitude and no leading zeros (zero is the empty
/// string, so `omitempty` leaves a zero quantity out). JSON: a decimal string.
public struct Quantity: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Big-endian magnitude without leading zero bytes.
    public private(set) var magnitude: [UInt8]

    public static let zero = Quantity(magnitude: [])

    public init(_ value: UInt64 = 0) {
        var bytes: [UInt8] = []
        var v = value
        while v > 0 {
            bytes.insert(UInt8(truncatingIfNeeded: v), at: 0)
            v >>= 8
        }
        magnitude = bytes
    }

    /// From big-endian bytes; leading zeros are dropped.
    public init(bigEndian bytes: [UInt8]) {
        magnitude = Array(bytes.drop(while: { $0 == 0 }))
    }

    private init(magnitude: [UInt8]) {
        self.magnitude = magnitude
    }

    /// Parses a decimal string of any length.
    public init(decimal text: String) throws(QuantityError) {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw .invalidDecimal(text)
        }
        self.init(bigEndian: Self.magnitude(digits: text.utf8.map { UInt32($0 - 0x30) }, base: 10))
    }

    /// The big-endian bytes of the number written with `digits` (most significant first, each
    /// below `base`).
    private static func magnitude(digits: [UInt32], base: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []  // little-endian while building
        for digit in digits {
            var carry = digit
            for i in bytes.indices {
                let v = UInt32(bytes[i]) * base + carry
                bytes[i] = UInt8(truncatingIfNeeded: v)
                carry = v >> 8
            }
            while carry > 0 {
                bytes.append(UInt8(truncatingIfNeeded: carry))
                carry >>= 8
            }
        }
        return bytes.reversed()
    }

    /// Parses the text form the way Go's `Quantity.UnmarshalText` does, through
    /// `big.Int.UnmarshalText`, which reads with base 0: an optional sign, then a `0x`, `0o`,
    /// `0b` or bare `0` (octal) prefix picks the base, and `_` may separate digits. So `"010"` is
    /// 8 and `"1_000"` is 1000. Negative values are invalid quantities, as in Go (`-0` is zero).
    init(goText text: String) throws(QuantityError) {
        var input = Array(text.utf8)[...]
        var negative = false
        if let sign = input.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            input = input.dropFirst()
        }
        // `prev` is what came last: a digit ("0"), a separator ("_") or nothing yet (".").
        var base: UInt32 = 10
        var prev = UInt8(ascii: ".")
        var digits: [UInt32] = []
        var octalPrefixOnly = false
        if input.first == UInt8(ascii: "0") {
            prev = UInt8(ascii: "0")
            input = input.dropFirst()
            if let next = input.first {
                switch next | 0x20 {  // ASCII lower case
                case UInt8(ascii: "b"): base = 2
                case UInt8(ascii: "o"): base = 8
                case UInt8(ascii: "x"): base = 16
                default:
                    // A bare "0" prefix: octal, and what follows is read as digits.
                    base = 8
                    octalPrefixOnly = true
                }
                if !octalPrefixOnly { input = input.dropFirst() }
            } else {
                digits = [0]
            }
        }
        var badSeparator = false
        for c in input {
            if c == UInt8(ascii: "_") {
                if prev != UInt8(ascii: "0") { badSeparator = true }
                prev = c
                continue
            }
            let value: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(c - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(c - UInt8(ascii: "A")) + 10
            default: throw .invalidDecimal(text)
            }
            // A character that is no digit of the base ends the number; Go then refuses the rest.
            guard value < base else { throw .invalidDecimal(text) }
            prev = UInt8(ascii: "0")
            digits.append(value)
        }
        if badSeparator || prev == UInt8(ascii: "_") { throw .invalidDecimal(text) }
        if digits.isEmpty {
            // A lone octal prefix "0" is zero; a sign alone or `0x` with no digits is nothing.
            guard octalPrefixOnly else { throw .invalidDecimal(text) }
            digits = [0]
        }
        self.init(bigEndian: Self.magnitude(digits: digits, base: base))
        if negative && !isZero { throw .invalidDecimal(text) }
    }

    public var isZero: Bool { magnitude.isEmpty }

    /// The value when it fits in 64 bits.
    public var uint64: UInt64? {
        guard magnitude.count <= 8 else { return nil }
        return magnitude.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Decimal digits.
    public var description: String {
        if magnitude.isEmpty { return "0" }
        var digits: [UInt8] = []
        var number = magnitude
        while !number.isEmpty {
            var remainder: UInt32 = 0
            var quotient: [UInt8] = []
            for byte in number {
                let v = remainder << 8 | UInt32(byte)
                let q = UInt8(v / 10)
                remainder = v % 10
                if !(quotient.isEmpty && q == 0) { quotient.append(q) }
            }
            digits.append(UInt8(remainder) + 0x30)
            number = quotient
        }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }

    public static func < (a: Quantity, b: Quantity) -> Bool {
        if a.magnitude.count != b.magnitude.count { return a.magnitude.count < b.magnitude.count }
        return a.magnitude.lexicographicallyPrecedes(b.magnitude)
    }
}

extension Quantity: GoEmptyCheckable {
    /// A zero quantity's binary form is empty, so `omitempty` leaves it out.
    public var isGoEmpty: Bool { isZero }
}

/// Why a quantity could not be read.
public enum QuantityError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidDecimal(String)

    public var description: String {
        switch self {
        case .invalidDecimal(let t): "quantity: invalid decimal '\(t)' (expected non-negative digits)"
        }
    }
}

extension Quantity: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if decoder.isCBOR {
            let bytes = try c.decode([UInt8].self)
            guard bytes.first != 0 else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "quantity: leading zero byte")
            }
            self.init(bigEndian: bytes)
        } else {
            let text = try c.decode(String.self)
            do {
                try self.init(goText: text)
            } catch {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: error.description)
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if encoder.isCBOR {
            try c.encode(magnitude)
        } else {
            try c.encode(description)
        }
    }
}
