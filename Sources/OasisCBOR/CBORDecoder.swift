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
        /// Whether ``CBORFastDecodable`` types, at the top or nested anywhere, take their fast
        /// path. Tests and benchmarks turn it off to compare with the Codable path alone.
        public var usesFastDecoding = true

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
    ///
    /// The bytes are validated once against every strict rule, then read in place: no
    /// intermediate tree is built.
    ///
    /// ``CBORFastDecodable`` types are read by their fast path first. Should it fail, the
    /// Codable path runs on the same bytes and reports the error, so errors are the Codable
    /// path's whichever path found them.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try CBORScanner.validate(bytes, options: options)
        if options.usesFastDecoding, let fast = T.self as? any CBORFastDecodable.Type,
            let value = try? decodeValidatedFast(fast, from: bytes)
        {
            return value as! T
        }
        return try _CBORDecoderImpl.decodeValue(type, input: bytes, at: 0, parent: nil, key: nil, options: options)
    }

    /// The fast path alone, with its own error: for tests that compare it with the Codable path.
    func decodeFastOnly<T: CBORFastDecodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try CBORScanner.validate(bytes, options: options)
        return try decodeValidatedFast(type, from: bytes)
    }

    /// Reads a `T` from bytes the scan has accepted; trailing bytes were refused by the scan.
    private func decodeValidatedFast<T: CBORFastDecodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBufferPointer { buffer in
            var reader = CBORFastReader(base: buffer, options: options)
            return try T(cbor: &reader)
        }
    }

    /// Decodes a `T` from an already parsed item.
    public func decode<T: Decodable>(_ type: T.Type, from value: CBORValue) throws -> T {
        try decode(type, from: value.encoded())
    }
}

extension Decoder {
    /// True when this decoder reads oasis-core CBOR (rather than JSON, say).
    public var isCBOR: Bool { self is _CBORDecoderImpl }

    /// The number of pairs of the CBOR map this decoder reads, known keys or not; `nil` when
    /// the item is not a map or the decoder is not a CBOR one. For a type that must count keys
    /// it does not know even where unknown fields are allowed: an enum with exactly one
    /// variant key.
    public var cborMapPairCount: Int? {
        guard let decoder = self as? _CBORDecoderImpl else { return nil }
        let head = CBORNavigation.head(decoder.input, at: decoder.offset)
        return head.major == 5 ? Int(head.argument) : nil
    }
}

/// Dictionaries with ``CBORMapKey`` keys, read from native CBOR maps.
protocol _CBORDictionaryDecodable {
    static func _fromCBOR(map offset: Int, decoder: _CBORDecoderImpl) throws -> Self
}

extension Dictionary: _CBORDictionaryDecodable where Key: CBORMapKey, Value: Decodable {
    static func _fromCBOR(map offset: Int, decoder: _CBORDecoderImpl) throws -> Self {
        let input = decoder.input
        let head = CBORNavigation.head(input, at: offset)
        var result: [Key: Value] = [:]
        result.reserveCapacity(Int(head.argument))
        var position = head.contentStart
        for _ in 0..<head.argument {
            let keyValue = try decoder.materialize(at: position)
            let valueOffset = CBORNavigation.end(input, at: position)
            let path = AnyCodingKey(describeKey(keyValue))
            let key: Key
            do {
                key = try Key(cborMapKey: keyValue)
            } catch var error as CBORError {
                error.path = renderPath(decoder.codingPath + [path])
                throw error
            }
            let value = try _CBORDecoderImpl.decodeValue(
                Value.self, input: input, at: valueOffset, parent: decoder, key: path, options: decoder.options)
            // Keys the scan found distinct can still be one Swift key: text keys that differ in
            // bytes but are canonically equivalent. Refused rather than one value dropped.
            guard result.updateValue(value, forKey: key) == nil else {
                throw CBORError(
                    .duplicateKey, offset: position, path: renderPath(decoder.codingPath + [path]),
                    "key \(describeKey(keyValue)) is equal to an earlier one as a \(Key.self)")
            }
            position = CBORNavigation.end(input, at: valueOffset)
        }
        return result
    }
}

/// The `Decoder` handed to `init(from:)`: one validated item of the input, read in place.
/// Internal; public only through ``Swift/Decoder/isCBOR``.
final class _CBORDecoderImpl: Decoder {
    /// The whole validated input.
    let input: [UInt8]
    /// Where this decoder's item starts.
    let offset: Int
    let options: CBORDecoder.Options
    private let parent: _CBORDecoderImpl?
    private let key: (any CodingKey)?

    init(input: [UInt8], offset: Int, options: CBORDecoder.Options, parent: _CBORDecoderImpl?, key: (any CodingKey)?) {
        self.input = input
        self.offset = offset
        self.options = options
        self.parent = parent
        self.key = key
    }

    /// This decoder's item as a raw value.
    var value: CBORValue {
        get throws { try materialize(at: offset) }
    }

    func materialize(at position: Int) throws(CBORError) -> CBORValue {
        try input.withUnsafeBufferPointer { buffer throws(CBORError) in
            try CBORReader.parsePrefix(UnsafeBufferPointer(rebasing: buffer[position...]), options: .trusted).0
        }
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

    func mismatch(_ expected: String, at position: Int, key: (any CodingKey)? = nil) -> CBORError {
        error(.typeMismatch, "expected \(expected), found \(CBORNavigation.kindName(input, at: position))", extra: key)
    }

    /// Decodes any `T` from the item at `position`, with the CBOR special cases first.
    static func decodeValue<T: Decodable>(
        _ type: T.Type, input: [UInt8], at position: Int, parent: _CBORDecoderImpl?, key: (any CodingKey)?,
        options: CBORDecoder.Options
    ) throws -> T {
        if T.self == [UInt8].self || T.self == Data.self {
            let head = CBORNavigation.head(input, at: position)
            let bytes: [UInt8]
            if head.major == 2 {
                bytes = Array(input[head.contentStart..<(head.contentStart + Int(head.argument))])
            } else if head.major == 7 && head.info == 22 {
                bytes = []
            } else {
                let decoder = _CBORDecoderImpl(input: input, offset: position, options: options, parent: parent, key: key)
                throw decoder.mismatch("byte string", at: position)
            }
            return T.self == Data.self ? Data(bytes) as! T : bytes as! T
        }
        // A nested ``CBORFastDecodable`` value (a block header inside a request, say) is read by
        // its fast path too: the input was validated as a whole before decoding began. Should
        // the fast path fail, the Codable path below reads the item and reports the error.
        if options.usesFastDecoding, let fast = T.self as? any CBORFastDecodable.Type,
            let value = try? decodeFastItem(fast, input: input, at: position, options: options)
        {
            return value as! T
        }
        let decoder = _CBORDecoderImpl(input: input, offset: position, options: options, parent: parent, key: key)
        if T.self == CBORValue.self {
            return try decoder.value as! T
        }
        if TypeTraits.isCBORDictionary(T.self), let dictionaryType = T.self as? any _CBORDictionaryDecodable.Type {
            guard CBORNavigation.head(input, at: position).major == 5 else { throw decoder.mismatch("map", at: position) }
            return try dictionaryType._fromCBOR(map: position, decoder: decoder) as! T
        }
        return try T(from: decoder)
    }

    /// The fast path for one item of validated input, starting at `position`.
    private static func decodeFastItem<T: CBORFastDecodable>(
        _ type: T.Type, input: [UInt8], at position: Int, options: CBORDecoder.Options
    ) throws -> T {
        try input.withUnsafeBufferPointer { buffer in
            var reader = CBORFastReader(base: buffer, at: position, options: options)
            return try T(cbor: &reader)
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let head = CBORNavigation.head(input, at: offset)
        guard head.major == 5 else { throw mismatch("map", at: offset) }
        var entries: [MapEntry] = []
        entries.reserveCapacity(Int(head.argument))
        var position = head.contentStart
        for _ in 0..<head.argument {
            let keyHead = CBORNavigation.head(input, at: position)
            let valueOffset: Int
            switch keyHead.major {
            case 2, 3:
                valueOffset = keyHead.contentStart + Int(keyHead.argument)
            case 0, 1:
                valueOffset = keyHead.contentStart
            default:
                valueOffset = CBORNavigation.end(input, at: position)
            }
            entries.append(MapEntry(
                keyOffset: position, keyMajor: keyHead.major, keyArgument: keyHead.argument,
                keyContent: keyHead.contentStart, valueOffset: valueOffset))
            position = CBORNavigation.end(input, at: valueOffset)
        }
        if !options.allowsUnknownFields {
            for entry in entries {
                let known: Bool
                switch entry.keyMajor {
                case 3:
                    let name = input.withUnsafeBufferPointer { buffer in
                        String(decoding: buffer[entry.keyContent..<(entry.keyContent + Int(entry.keyArgument))], as: UTF8.self)
                    }
                    known = Key(stringValue: name) != nil
                case 0:
                    known = entry.keyArgument <= UInt64(Int.max) && Key(intValue: Int(entry.keyArgument)) != nil
                default:
                    known = false
                }
                if !known {
                    let keyValue = try materialize(at: entry.keyOffset)
                    throw error(.unknownField, "key \(describeKey(keyValue)) names no field of \(Key.self)")
                }
            }
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, entries: entries))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let head = CBORNavigation.head(input, at: offset)
        guard head.major == 4 else { throw mismatch("array", at: offset) }
        return UnkeyedContainer(decoder: self, count: Int(head.argument), cursor: head.contentStart)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(decoder: self)
    }

    /// One pair of a map: where its key and value are.
    struct MapEntry {
        var keyOffset: Int
        var keyMajor: UInt8
        var keyArgument: UInt64
        var keyContent: Int
        var valueOffset: Int
    }

    // MARK: Scalars

    func isNil(at position: Int) -> Bool {
        let b = input[position]
        return b == 0xf6 || b == 0xf7
    }

    func decodeInteger<I: FixedWidthInteger>(_ type: I.Type, at position: Int, key: (any CodingKey)?) throws -> I {
        let head = CBORNavigation.head(input, at: position)
        switch head.major {
        case 0:
            guard let v = I(exactly: head.argument) else {
                throw error(.invalidValue, "\(head.argument) does not fit \(I.self)", extra: key)
            }
            return v
        case 1:
            // value = -1 - n
            let n = head.argument
            guard I.isSigned, n <= UInt64(Int64.max), let v = I(exactly: -1 - Int64(n)) else {
                throw error(.invalidValue, "\(negativeIntegerText(n)) does not fit \(I.self)", extra: key)
            }
            return v
        default:
            throw mismatch("integer", at: position, key: key)
        }
    }

    func decodeBool(at position: Int, key: (any CodingKey)?) throws -> Bool {
        switch input[position] {
        case 0xf4: return false
        case 0xf5: return true
        default: throw mismatch("bool", at: position, key: key)
        }
    }

    func decodeString(at position: Int, key: (any CodingKey)?) throws -> String {
        let head = CBORNavigation.head(input, at: position)
        guard head.major == 3 else { throw mismatch("text string", at: position, key: key) }
        return input.withUnsafeBufferPointer { buffer in
            String(decoding: buffer[head.contentStart..<(head.contentStart + Int(head.argument))], as: UTF8.self)
        }
    }

    func decodeDouble(at position: Int, key: (any CodingKey)?) throws -> Double {
        let head = CBORNavigation.head(input, at: position)
        switch (head.major, head.info) {
        case (7, 25): return Double(Float16(bitPattern: UInt16(head.argument)))
        case (7, 26): return Double(Float(bitPattern: UInt32(head.argument)))
        case (7, 27): return Double(bitPattern: head.argument)
        case (0, _): return Double(head.argument)
        case (1, _): return -1 - Double(head.argument)
        default: throw mismatch("float", at: position, key: key)
        }
    }

    // MARK: Containers

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: _CBORDecoderImpl
        let entries: [MapEntry]

        var codingPath: [any CodingKey] { decoder.codingPath }

        var allKeys: [Key] {
            entries.compactMap { entry in
                switch entry.keyMajor {
                case 3:
                    let name = decoder.input.withUnsafeBufferPointer { buffer in
                        String(decoding: buffer[entry.keyContent..<(entry.keyContent + Int(entry.keyArgument))], as: UTF8.self)
                    }
                    return Key(stringValue: name)
                case 0:
                    return entry.keyArgument <= UInt64(Int.max) ? Key(intValue: Int(entry.keyArgument)) : nil
                default:
                    return nil
                }
            }
        }

        /// The offset of the value under `key`: text keys compare as UTF-8 bytes in place.
        private func find(_ key: Key) -> Int? {
            var name = key.stringValue
            let found: Int? = name.withUTF8 { utf8 in
                decoder.input.withUnsafeBufferPointer { buffer in
                    for entry in entries where entry.keyMajor == 3 && Int(entry.keyArgument) == utf8.count {
                        if utf8.count == 0
                            || memcmp(buffer.baseAddress! + entry.keyContent, utf8.baseAddress!, utf8.count) == 0
                        {
                            return entry.valueOffset
                        }
                    }
                    return nil
                }
            }
            if let found { return found }
            if let int = key.intValue, int >= 0 {
                for entry in entries where entry.keyMajor == 0 && entry.keyArgument == UInt64(int) {
                    return entry.valueOffset
                }
            }
            return nil
        }

        private func require(_ key: Key) throws -> Int {
            guard let position = find(key) else {
                throw decoder.error(.missingField, "no key \"\(key.stringValue)\"", extra: key)
            }
            return position
        }

        func contains(_ key: Key) -> Bool { find(key) != nil }

        func decodeNil(forKey key: Key) throws -> Bool { decoder.isNil(at: try require(key)) }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
            try decoder.decodeBool(at: require(key), key: key)
        }
        func decode(_ type: String.Type, forKey key: Key) throws -> String {
            try decoder.decodeString(at: require(key), key: key)
        }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
            try decoder.decodeDouble(at: require(key), key: key)
        }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
            Float(try decoder.decodeDouble(at: require(key), key: key))
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
            try decoder.decodeInteger(I.self, at: require(key), key: key)
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try _CBORDecoderImpl.decodeValue(
                type, input: decoder.input, at: require(key), parent: decoder, key: key, options: decoder.options)
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let position = find(key), !decoder.isNil(at: position) else { return nil }
            return try _CBORDecoderImpl.decodeValue(
                type, input: decoder.input, at: position, parent: decoder, key: key, options: decoder.options)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try _CBORDecoderImpl(input: decoder.input, offset: require(key), options: decoder.options,
                                 parent: decoder, key: key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try _CBORDecoderImpl(input: decoder.input, offset: require(key), options: decoder.options,
                                 parent: decoder, key: key).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder {
            try superDecoder(forKey: Key(stringValue: "super")!)
        }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            guard let position = find(key) else {
                // An absent super value reads as null, as JSONDecoder treats it.
                return _CBORDecoderImpl(input: [0xf6], offset: 0, options: decoder.options, parent: decoder, key: key)
            }
            return _CBORDecoderImpl(input: decoder.input, offset: position, options: decoder.options,
                                    parent: decoder, key: key)
        }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let decoder: _CBORDecoderImpl
        let itemCount: Int
        /// Offset of the next element.
        var cursor: Int
        var currentIndex: Int = 0

        init(decoder: _CBORDecoderImpl, count: Int, cursor: Int) {
            self.decoder = decoder
            self.itemCount = count
            self.cursor = cursor
        }

        var codingPath: [any CodingKey] { decoder.codingPath }
        var count: Int? { itemCount }
        var isAtEnd: Bool { currentIndex >= itemCount }

        private mutating func next() throws -> (Int, IndexKey) {
            guard currentIndex < itemCount else {
                throw decoder.error(
                    .missingField, "array has only \(itemCount) element(s)", extra: IndexKey(currentIndex))
            }
            let position = cursor
            let key = IndexKey(currentIndex)
            cursor = CBORNavigation.end(decoder.input, at: position)
            currentIndex += 1
            return (position, key)
        }

        mutating func decodeNil() throws -> Bool {
            guard currentIndex < itemCount, decoder.isNil(at: cursor) else { return false }
            _ = try next()
            return true
        }

        mutating func decode(_ type: Bool.Type) throws -> Bool {
            let (p, k) = try next()
            return try decoder.decodeBool(at: p, key: k)
        }
        mutating func decode(_ type: String.Type) throws -> String {
            let (p, k) = try next()
            return try decoder.decodeString(at: p, key: k)
        }
        mutating func decode(_ type: Double.Type) throws -> Double {
            let (p, k) = try next()
            return try decoder.decodeDouble(at: p, key: k)
        }
        mutating func decode(_ type: Float.Type) throws -> Float {
            let (p, k) = try next()
            return Float(try decoder.decodeDouble(at: p, key: k))
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
            let (p, k) = try next()
            return try decoder.decodeInteger(I.self, at: p, key: k)
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let (p, k) = try next()
            return try _CBORDecoderImpl.decodeValue(
                type, input: decoder.input, at: p, parent: decoder, key: k, options: decoder.options)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            let (p, k) = try next()
            return try _CBORDecoderImpl(input: decoder.input, offset: p, options: decoder.options, parent: decoder, key: k)
                .container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let (p, k) = try next()
            return try _CBORDecoderImpl(input: decoder.input, offset: p, options: decoder.options, parent: decoder, key: k)
                .unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            let (p, k) = try next()
            return _CBORDecoderImpl(input: decoder.input, offset: p, options: decoder.options, parent: decoder, key: k)
        }
    }

    struct SingleContainer: SingleValueDecodingContainer {
        let decoder: _CBORDecoderImpl

        var codingPath: [any CodingKey] { decoder.codingPath }
        private var position: Int { decoder.offset }

        func decodeNil() -> Bool { decoder.isNil(at: position) }

        func decode(_ type: Bool.Type) throws -> Bool { try decoder.decodeBool(at: position, key: nil) }
        func decode(_ type: String.Type) throws -> String { try decoder.decodeString(at: position, key: nil) }
        func decode(_ type: Double.Type) throws -> Double { try decoder.decodeDouble(at: position, key: nil) }
        func decode(_ type: Float.Type) throws -> Float { Float(try decoder.decodeDouble(at: position, key: nil)) }
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
            try decoder.decodeInteger(I.self, at: position, key: nil)
        }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            // The same item seen as another type: same path, no new key.
            try _CBORDecoderImpl.decodeValue(
                type, input: decoder.input, at: position, parent: decoder, key: nil, options: decoder.options)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
