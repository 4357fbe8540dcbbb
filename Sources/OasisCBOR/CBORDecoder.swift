#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// Decodes oasis-core CBOR into `Decodable` values.
///
/// The default (strict) options are those oasis-core applies to untrusted input: duplicate
/// map keys, indefinite lengths, tags, trailing bytes and **unknown fields** are errors;
/// nesting is limited to 32 levels and arrays and maps to 131,072 elements. ``Options/trusted``
/// lifts the unknown-field rule and the size limits, for reading back our own stored data
/// that a newer version may have written.
///
/// Like Go, a struct field whose key is absent keeps its zero value: types decode with
/// `decodeIfPresent(...) ?? zero`. `null` reads as an empty `[UInt8]`.
public struct CBORDecoder: Sendable {
    /// Limits and leniency.
    public struct Options: Sendable, Hashable {
        /// Maximum nesting of arrays and maps (oasis-core: 32).
        public var maxDepth: Int
        /// Maximum elements of one array (oasis-core: 131,072).
        public var maxArrayElements: Int
        /// Maximum pairs of one map (oasis-core: 131,072).
        public var maxMapPairs: Int
        /// Whether map keys that name no field are ignored rather than refused.
        public var allowsUnknownFields: Bool

        public init(maxDepth: Int = 32, maxArrayElements: Int = 131_072, maxMapPairs: Int = 131_072,
                    allowsUnknownFields: Bool = false) {
            self.maxDepth = maxDepth
            self.maxArrayElements = maxArrayElements
            self.maxMapPairs = maxMapPairs
            self.allowsUnknownFields = allowsUnknownFields
        }

        /// For untrusted input (the default).
        public static let strict = Options()
        /// For data we wrote ourselves (`UnmarshalTrusted`).
        public static let trusted = Options(
            maxArrayElements: Int(Int32.max), maxMapPairs: Int(Int32.max), allowsUnknownFields: true)
    }

    public var options: Options

    public init() {
        self.options = .strict
    }

    public init(options: Options) {
        self.options = options
    }

    /// Decodes exactly one item of type `T` from `bytes`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let value = try CBORReader.parse(bytes, options: options)
        return try decode(type, from: value)
    }

    /// Decodes a `T` from an already parsed item.
    public func decode<T: Decodable>(_ type: T.Type, from value: CBORValue) throws -> T {
        try _CBORDecoderImpl.decodeValue(type, from: value, parent: nil, key: nil, options: options)
    }
}

extension Decoder {
    /// True when this decoder reads oasis-core CBOR (rather than JSON, say).
    public var isCBOR: Bool { self is _CBORDecoderImpl }
}

/// Dictionaries with ``CBORMapKey`` keys, read from native CBOR maps.
protocol _CBORDictionaryDecodable {
    static func _fromCBOR(_ entries: [CBORMapEntry], decoder: _CBORDecoderImpl) throws -> Self
}

extension Dictionary: _CBORDictionaryDecodable where Key: CBORMapKey, Value: Decodable {
    static func _fromCBOR(_ entries: [CBORMapEntry], decoder: _CBORDecoderImpl) throws -> Self {
        var result: [Key: Value] = [:]
        result.reserveCapacity(entries.count)
        for entry in entries {
            let path = AnyCodingKey(describeKey(entry.key))
            let key: Key
            do {
                key = try Key(cborMapKey: entry.key)
            } catch var error as CBORError {
                error.path = renderPath(decoder.codingPath + [path])
                throw error
            }
            result[key] = try _CBORDecoderImpl.decodeValue(
                Value.self, from: entry.value, parent: decoder, key: path, options: decoder.options)
        }
        return result
    }
}

/// The `Decoder` handed to `init(from:)`. Internal; public only through ``Swift/Decoder/isCBOR``.
final class _CBORDecoderImpl: Decoder {
    let value: CBORValue
    let options: CBORDecoder.Options
    private let parent: _CBORDecoderImpl?
    private let key: (any CodingKey)?

    init(value: CBORValue, options: CBORDecoder.Options, parent: _CBORDecoderImpl?, key: (any CodingKey)?) {
        self.value = value
        self.options = options
        self.parent = parent
        self.key = key
    }

    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var current: _CBORDecoderImpl? = self
        while let c = current {
            if let k = c.key { path.append(k) }
            current = c.parent
        }
        return path.reversed()
    }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func error(_ kind: CBORError.Kind, _ detail: String, extra: (any CodingKey)? = nil) -> CBORError {
        var path = codingPath
        if let extra { path.append(extra) }
        return CBORError(kind, path: renderPath(path), detail)
    }

    func mismatch(_ expected: String, _ found: CBORValue, key: (any CodingKey)? = nil) -> CBORError {
        error(.typeMismatch, "expected \(expected), found \(found.kindName)", extra: key)
    }

    /// Decodes any `T`, with the CBOR special cases first.
    static func decodeValue<T: Decodable>(
        _ type: T.Type, from value: CBORValue, parent: _CBORDecoderImpl?, key: (any CodingKey)?,
        options: CBORDecoder.Options
    ) throws -> T {
        if T.self == [UInt8].self {
            switch value {
            case .byteString(let b): return b as! T
            case .null: return [UInt8]() as! T
            default: break
            }
        } else if T.self == CBORValue.self {
            return value as! T
        } else if T.self == Data.self {
            switch value {
            case .byteString(let b): return Data(b) as! T
            case .null: return Data() as! T
            default: break
            }
        } else if TypeTraits.isCBORDictionary(T.self), let dictionaryType = T.self as? any _CBORDictionaryDecodable.Type {
            let decoder = _CBORDecoderImpl(value: value, options: options, parent: parent, key: key)
            guard case .map(let entries) = value else { throw decoder.mismatch("map", value) }
            return try dictionaryType._fromCBOR(entries, decoder: decoder) as! T
        }
        let decoder = _CBORDecoderImpl(value: value, options: options, parent: parent, key: key)
        if T.self == [UInt8].self || T.self == Data.self {
            throw decoder.mismatch("byte string", value)
        }
        return try T(from: decoder)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .map(let entries) = value else { throw mismatch("map", value) }
        if !options.allowsUnknownFields {
            for entry in entries {
                let known: Bool
                switch entry.key {
                case .textString(let s): known = Key(stringValue: s) != nil
                case .unsignedInt(let u): known = u <= UInt64(Int.max) && Key(intValue: Int(u)) != nil
                default: known = false
                }
                if !known {
                    throw error(.unknownField, "key \(describeKey(entry.key)) names no field of \(Key.self)")
                }
            }
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, entries: entries))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw mismatch("array", value) }
        return UnkeyedContainer(decoder: self, items: items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(decoder: self)
    }

    // MARK: Scalars

    func decodeInteger<I: FixedWidthInteger>(_ type: I.Type, from value: CBORValue, key: (any CodingKey)?) throws -> I {
        switch value {
        case .unsignedInt(let u):
            guard let v = I(exactly: u) else {
                throw error(.invalidValue, "\(u) does not fit \(I.self)", extra: key)
            }
            return v
        case .negativeInt(let n):
            // value = -1 - n
            guard I.isSigned, n <= UInt64(Int64.max), let v = I(exactly: -1 - Int64(n)) else {
                throw error(.invalidValue, "-\(n &+ 1) does not fit \(I.self)", extra: key)
            }
            return v
        default:
            throw mismatch("integer", value, key: key)
        }
    }

    func decodeBool(_ value: CBORValue, key: (any CodingKey)?) throws -> Bool {
        guard case .bool(let b) = value else { throw mismatch("bool", value, key: key) }
        return b
    }

    func decodeString(_ value: CBORValue, key: (any CodingKey)?) throws -> String {
        guard case .textString(let s) = value else { throw mismatch("text string", value, key: key) }
        return s
    }

    func decodeDouble(_ value: CBORValue, key: (any CodingKey)?) throws -> Double {
        switch value {
        case .float(let d): return d
        case .unsignedInt(let u): return Double(u)
        case .negativeInt(let n): return -1 - Double(n)
        default: throw mismatch("float", value, key: key)
        }
    }

    // MARK: Containers

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: _CBORDecoderImpl
        let entries: [CBORMapEntry]

        var codingPath: [any CodingKey] { decoder.codingPath }

        var allKeys: [Key] {
            entries.compactMap { entry in
                switch entry.key {
                case .textString(let s): return Key(stringValue: s)
                case .unsignedInt(let u): return u <= UInt64(Int.max) ? Key(intValue: Int(u)) : nil
                default: return nil
                }
            }
        }

        private func find(_ key: Key) -> CBORValue? {
            let name = key.stringValue
            for entry in entries {
                switch entry.key {
                case .textString(let s) where s == name: return entry.value
                case .unsignedInt(let u) where key.intValue.map({ UInt64(exactly: $0) == u }) == true:
                    return entry.value
                default: continue
                }
            }
            return nil
        }

        private func require(_ key: Key) throws -> CBORValue {
            guard let v = find(key) else {
                throw decoder.error(.missingField, "no key \"\(key.stringValue)\"", extra: key)
            }
            return v
        }

        func contains(_ key: Key) -> Bool { find(key) != nil }

        func decodeNil(forKey key: Key) throws -> Bool {
            switch try require(key) {
            case .null, .undefined: return true
            default: return false
            }
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
            try decoder.decodeBool(require(key), key: key)
        }
        func decode(_ type: String.Type, forKey key: Key) throws -> String {
            try decoder.decodeString(require(key), key: key)
        }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
            try decoder.decodeDouble(require(key), key: key)
        }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
            Float(try decoder.decodeDouble(require(key), key: key))
        }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try int(key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try int(key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try int(key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try int(key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try int(key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try int(key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try int(key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try int(key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try int(key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try int(key) }

        private func int<I: FixedWidthInteger>(_ key: Key) throws -> I {
            try decoder.decodeInteger(I.self, from: require(key), key: key)
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try _CBORDecoderImpl.decodeValue(
                type, from: require(key), parent: decoder, key: key, options: decoder.options)
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let value = find(key) else { return nil }
            switch value {
            case .null, .undefined: return nil
            default:
                return try _CBORDecoderImpl.decodeValue(
                    type, from: value, parent: decoder, key: key, options: decoder.options)
            }
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try _CBORDecoderImpl(value: require(key), options: decoder.options, parent: decoder, key: key)
                .container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try _CBORDecoderImpl(value: require(key), options: decoder.options, parent: decoder, key: key)
                .unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder {
            _CBORDecoderImpl(
                value: find(Key(stringValue: "super")!) ?? .null, options: decoder.options, parent: decoder,
                key: AnyCodingKey("super"))
        }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            _CBORDecoderImpl(value: find(key) ?? .null, options: decoder.options, parent: decoder, key: key)
        }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let decoder: _CBORDecoderImpl
        let items: [CBORValue]
        var currentIndex: Int = 0

        init(decoder: _CBORDecoderImpl, items: [CBORValue]) {
            self.decoder = decoder
            self.items = items
        }

        var codingPath: [any CodingKey] { decoder.codingPath }
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        private mutating func next() throws -> (CBORValue, IndexKey) {
            guard currentIndex < items.count else {
                throw decoder.error(.missingField, "array has only \(items.count) element(s)", extra: IndexKey(currentIndex))
            }
            defer { currentIndex += 1 }
            return (items[currentIndex], IndexKey(currentIndex))
        }

        mutating func decodeNil() throws -> Bool {
            guard currentIndex < items.count else { return false }
            switch items[currentIndex] {
            case .null, .undefined:
                currentIndex += 1
                return true
            default:
                return false
            }
        }

        mutating func decode(_ type: Bool.Type) throws -> Bool {
            let (v, k) = try next()
            return try decoder.decodeBool(v, key: k)
        }
        mutating func decode(_ type: String.Type) throws -> String {
            let (v, k) = try next()
            return try decoder.decodeString(v, key: k)
        }
        mutating func decode(_ type: Double.Type) throws -> Double {
            let (v, k) = try next()
            return try decoder.decodeDouble(v, key: k)
        }
        mutating func decode(_ type: Float.Type) throws -> Float {
            let (v, k) = try next()
            return Float(try decoder.decodeDouble(v, key: k))
        }
        mutating func decode(_ type: Int.Type) throws -> Int { try int() }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try int() }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try int() }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try int() }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try int() }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try int() }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try int() }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try int() }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try int() }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try int() }

        private mutating func int<I: FixedWidthInteger>() throws -> I {
            let (v, k) = try next()
            return try decoder.decodeInteger(I.self, from: v, key: k)
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let (v, k) = try next()
            return try _CBORDecoderImpl.decodeValue(type, from: v, parent: decoder, key: k, options: decoder.options)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            let (v, k) = try next()
            return try _CBORDecoderImpl(value: v, options: decoder.options, parent: decoder, key: k)
                .container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let (v, k) = try next()
            return try _CBORDecoderImpl(value: v, options: decoder.options, parent: decoder, key: k)
                .unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            let (v, k) = try next()
            return _CBORDecoderImpl(value: v, options: decoder.options, parent: decoder, key: k)
        }
    }

    struct SingleContainer: SingleValueDecodingContainer {
        let decoder: _CBORDecoderImpl

        var codingPath: [any CodingKey] { decoder.codingPath }
        private var value: CBORValue { decoder.value }

        func decodeNil() -> Bool {
            switch value {
            case .null, .undefined: return true
            default: return false
            }
        }

        func decode(_ type: Bool.Type) throws -> Bool { try decoder.decodeBool(value, key: nil) }
        func decode(_ type: String.Type) throws -> String { try decoder.decodeString(value, key: nil) }
        func decode(_ type: Double.Type) throws -> Double { try decoder.decodeDouble(value, key: nil) }
        func decode(_ type: Float.Type) throws -> Float { Float(try decoder.decodeDouble(value, key: nil)) }
        func decode(_ type: Int.Type) throws -> Int { try int() }
        func decode(_ type: Int8.Type) throws -> Int8 { try int() }
        func decode(_ type: Int16.Type) throws -> Int16 { try int() }
        func decode(_ type: Int32.Type) throws -> Int32 { try int() }
        func decode(_ type: Int64.Type) throws -> Int64 { try int() }
        func decode(_ type: UInt.Type) throws -> UInt { try int() }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try int() }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try int() }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try int() }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try int() }

        private func int<I: FixedWidthInteger>() throws -> I {
            try decoder.decodeInteger(I.self, from: value, key: nil)
        }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            // The same item seen as another type: same path, no new key.
            try _CBORDecoderImpl.decodeValue(type, from: value, parent: decoder, key: nil, options: decoder.options)
        }
    }
}
