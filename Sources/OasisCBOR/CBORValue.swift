/// A decoded CBOR data item, kept as it is.
///
/// Used for fields whose shape the node does not know (query arguments and results,
/// check-tx metadata), and as the intermediate form of ``CBORDecoder``. Encoding a
/// `CBORValue` through ``CBOREncoder`` writes it canonically (map keys sorted
/// length-first, then bytewise; shortest integer and float heads).
public enum CBORValue: Sendable, Hashable {
    /// Major type 0: an unsigned integer.
    case unsignedInt(UInt64)
    /// Major type 1: the integer `-1 - n`.
    case negativeInt(UInt64)
    /// Major type 2.
    case byteString([UInt8])
    /// Major type 3 (valid UTF-8).
    case textString(String)
    /// Major type 4.
    case array([CBORValue])
    /// Major type 5, entries in the order they were read or built.
    case map([CBORMapEntry])
    /// `false` / `true` (simple values 20 and 21).
    case bool(Bool)
    /// `null` (simple value 22).
    case null
    /// `undefined` (simple value 23).
    case undefined
    /// Any other simple value (0–19, 32–255).
    case simple(UInt8)
    /// A float of any width; re-encoded in its shortest exact form.
    case float(Double)
}

extension CBORValue {
    /// Equality as CBOR data items: text strings compare by their UTF-8 bytes, not by Swift's
    /// canonical equivalence, so NFC "é" (`c3 a9`) and NFD "é" (`65 cc 81`) are different
    /// values and different map keys, as they are for Go's and Python's decoders. Floats compare
    /// as their canonical encodings do: by their bits, except that every NaN is one value (it
    /// is written as `f97e00`). So 0.0 and -0.0 are two values, and any two NaNs are equal.
    public static func == (lhs: CBORValue, rhs: CBORValue) -> Bool {
        switch (lhs, rhs) {
        case (.unsignedInt(let a), .unsignedInt(let b)): a == b
        case (.negativeInt(let a), .negativeInt(let b)): a == b
        case (.byteString(let a), .byteString(let b)): a == b
        case (.textString(let a), .textString(let b)): a.utf8.elementsEqual(b.utf8)
        case (.array(let a), .array(let b)): a == b
        case (.map(let a), .map(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null), (.undefined, .undefined): true
        case (.simple(let a), .simple(let b)): a == b
        case (.float(let a), .float(let b)): a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)
        default: false
        }
    }

    /// Hashes what ``==(_:_:)`` compares: text strings by their UTF-8 bytes, floats by their bits
    /// (every NaN alike).
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .unsignedInt(let u):
            hasher.combine(0 as UInt8)
            hasher.combine(u)
        case .negativeInt(let n):
            hasher.combine(1 as UInt8)
            hasher.combine(n)
        case .byteString(let b):
            hasher.combine(2 as UInt8)
            hasher.combine(b)
        case .textString(var s):
            hasher.combine(3 as UInt8)
            s.withUTF8 { utf8 in
                hasher.combine(utf8.count)
                hasher.combine(bytes: UnsafeRawBufferPointer(utf8))
            }
        case .array(let items):
            hasher.combine(4 as UInt8)
            hasher.combine(items)
        case .map(let entries):
            hasher.combine(5 as UInt8)
            hasher.combine(entries)
        case .bool(let b):
            hasher.combine(6 as UInt8)
            hasher.combine(b)
        case .null:
            hasher.combine(7 as UInt8)
        case .undefined:
            hasher.combine(8 as UInt8)
        case .simple(let s):
            hasher.combine(9 as UInt8)
            hasher.combine(s)
        case .float(let d):
            hasher.combine(10 as UInt8)
            hasher.combine(d.isNaN ? Double.nan.bitPattern : d.bitPattern)
        }
    }
}

/// One key/value pair of a ``CBORValue/map(_:)``.
public struct CBORMapEntry: Sendable, Hashable {
    public var key: CBORValue
    public var value: CBORValue

    public init(key: CBORValue, value: CBORValue) {
        self.key = key
        self.value = value
    }
}

extension CBORValue {
    /// Parses exactly one CBOR item from `bytes` with the given limits.
    public init(decoding bytes: [UInt8], options: CBORDecoder.Options = .strict) throws(CBORError) {
        self = try CBORReader.parse(bytes, options: options)
    }

    /// The canonical encoding of this value.
    public func encoded() throws(CBORError) -> [UInt8] {
        var writer = CBORWriter()
        try writer.write(self)
        return writer.bytes
    }

    /// A short name of the item's kind, for error messages.
    var kindName: String {
        switch self {
        case .unsignedInt: "unsigned integer"
        case .negativeInt: "negative integer"
        case .byteString: "byte string"
        case .textString: "text string"
        case .array: "array"
        case .map: "map"
        case .bool: "bool"
        case .null: "null"
        case .undefined: "undefined"
        case .simple: "simple value"
        case .float: "float"
        }
    }

    /// Looks a text key up in a map value, comparing UTF-8 bytes; `nil` for other kinds or a
    /// missing key.
    public subscript(key: String) -> CBORValue? {
        guard case .map(let entries) = self else { return nil }
        for entry in entries {
            if case .textString(let k) = entry.key, k.utf8.elementsEqual(key.utf8) { return entry.value }
        }
        return nil
    }
}

extension CBORValue: Codable {
    // Through CBOREncoder/CBORDecoder a CBORValue passes through untouched (they special-case
    // it). Other coders, such as JSON, get a natural mapping: maps with text keys become
    // objects, byte strings become base64 text, and so on.
    public init(from decoder: any Decoder) throws {
        if let cbor = decoder as? _CBORDecoderImpl {
            self = try cbor.value
            return
        }
        if let keyed = try? decoder.container(keyedBy: AnyCodingKey.self) {
            var entries: [CBORMapEntry] = []
            for key in keyed.allKeys {
                let value = try keyed.decode(CBORValue.self, forKey: key)
                entries.append(CBORMapEntry(key: .textString(key.stringValue), value: value))
            }
            self = .map(entries)
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var items: [CBORValue] = []
            while !unkeyed.isAtEnd { items.append(try unkeyed.decode(CBORValue.self)) }
            self = .array(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let b = try? single.decode(Bool.self) {
            self = .bool(b)
        } else if let u = try? single.decode(UInt64.self) {
            self = .unsignedInt(u)
        } else if let i = try? single.decode(Int64.self) {
            self = .negativeInt(UInt64(-(i + 1)))
        } else if let d = try? single.decode(Double.self) {
            self = .float(d)
        } else {
            self = .textString(try single.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        if let cbor = encoder as? _CBOREncoderImpl {
            cbor.store(.value(self))
            return
        }
        switch self {
        case .unsignedInt(let u):
            var c = encoder.singleValueContainer()
            try c.encode(u)
        case .negativeInt(let n):
            var c = encoder.singleValueContainer()
            if n <= UInt64(Int64.max) {
                try c.encode(-1 - Int64(n))
            } else {
                try c.encode(-1 - Double(n))
            }
        case .byteString(let b):
            var c = encoder.singleValueContainer()
            try c.encode(Base64.encode(b))
        case .textString(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .map(let entries):
            var c = encoder.container(keyedBy: AnyCodingKey.self)
            for entry in entries {
                let name: String
                switch entry.key {
                case .textString(let s): name = s
                case .unsignedInt(let u): name = String(u)
                case .negativeInt(let n): name = negativeIntegerText(n)
                case .byteString(let b): name = Base64.encode(b)
                default: name = "\(entry.key)"
                }
                try c.encode(entry.value, forKey: AnyCodingKey(stringValue: name))
            }
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .null, .undefined:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .simple(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .float(let d):
            var c = encoder.singleValueContainer()
            try c.encode(d)
        }
    }
}

/// A coding key made from any string or integer.
public struct AnyCodingKey: CodingKey, Sendable, Hashable {
    public var stringValue: String
    public var intValue: Int?

    public init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    public init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }

    public init(_ string: String) { self.init(stringValue: string) }
}
