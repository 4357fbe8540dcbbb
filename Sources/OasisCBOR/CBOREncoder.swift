#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// Encodes `Encodable` values as oasis-core's canonical CBOR.
///
/// Map keys are sorted length-first, then bytewise; integers and lengths take their shortest
/// form; lengths are definite; no tags are written. `[UInt8]` and `Data` become byte strings,
/// `CBORValue` is written as it is, and dictionaries whose keys conform to ``CBORMapKey``
/// become maps keyed by the keys' CBOR form (integers, byte strings or text).
///
/// `omitempty` and Go's "nil writes null" are the types' own business: they choose
/// `encodeIfPresent`, ``Swift/KeyedEncodingContainer/encodeOmitEmpty(_:forKey:)`` or
/// `encodeNil(forKey:)` in `encode(to:)`.
public struct CBOREncoder: Sendable {
    public init() {}

    /// The canonical CBOR encoding of `value`.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let node = try _CBOREncoderImpl.node(for: value, parent: nil, key: nil)
        var writer = CBORWriter(capacity: 256)
        try node.serialize(into: &writer)
        return writer.bytes
    }

    /// `value` as a raw ``CBORValue`` (the same item ``encode(_:)`` would write).
    public func encodeValue<T: Encodable>(_ value: T) throws -> CBORValue {
        try CBORValue(decoding: encode(value), options: .trusted)
    }
}

/// A key type that a CBOR map can be keyed by, in its own CBOR form.
///
/// oasis-core keys maps by integers (committee kinds, roles, threshold kinds) and by byte
/// strings (public keys). Swift's `Dictionary` coding would turn such keys into text or into
/// a flat array, so the CBOR coders handle dictionaries with these keys themselves.
public protocol CBORMapKey: Hashable {
    /// The key as a CBOR item.
    var cborMapKey: CBORValue { get }
    /// Rebuilds the key from a CBOR item; throws for items that name no key.
    init(cborMapKey: CBORValue) throws
}

extension String: CBORMapKey {
    public var cborMapKey: CBORValue { .textString(self) }
    public init(cborMapKey: CBORValue) throws {
        guard case .textString(let s) = cborMapKey else {
            throw CBORError(.typeMismatch, "expected a text map key, found \(cborMapKey.kindName)")
        }
        self = s
    }
}

extension CBORMapKey where Self: FixedWidthInteger & UnsignedInteger {
    public var cborMapKey: CBORValue { .unsignedInt(UInt64(self)) }
    public init(cborMapKey: CBORValue) throws {
        guard case .unsignedInt(let u) = cborMapKey, let v = Self(exactly: u) else {
            throw CBORError(.typeMismatch, "expected a \(Self.self) map key, found \(cborMapKey.kindName)")
        }
        self = v
    }
}

extension UInt8: CBORMapKey {}
extension UInt16: CBORMapKey {}
extension UInt32: CBORMapKey {}
extension UInt64: CBORMapKey {}

/// Dictionaries with ``CBORMapKey`` keys, which the coders write as native CBOR maps.
protocol _CBORDictionaryEncodable {
    func _cborEntries(parent: _CBOREncoderImpl) throws -> [MapStorage.Entry]
}

extension Dictionary: _CBORDictionaryEncodable where Key: CBORMapKey, Value: Encodable {
    func _cborEntries(parent: _CBOREncoderImpl) throws -> [MapStorage.Entry] {
        var entries: [MapStorage.Entry] = []
        entries.reserveCapacity(count)
        for (key, value) in self {
            let cborKey = key.cborMapKey
            let mapKey: MapKey
            if case .textString(let s) = cborKey {
                mapKey = .text(s)
            } else {
                mapKey = .encoded(try cborKey.encoded())
            }
            let node = try _CBOREncoderImpl.node(
                for: value, parent: parent, key: AnyCodingKey(describeKey(cborKey)))
            entries.append(MapStorage.Entry(key: mapKey, node: node))
        }
        return entries
    }
}

extension Encoder {
    /// True when this encoder writes oasis-core canonical CBOR (rather than JSON, say).
    /// Types whose CBOR and JSON forms differ (enums written as integers in CBOR and as
    /// text in JSON) check it.
    public var isCBOR: Bool { self is _CBOREncoderImpl }
}

// MARK: - The encoded tree

/// A map key: text keys are kept as strings (struct fields), others pre-encoded.
enum MapKey {
    case text(String)
    case encoded([UInt8])

    var bytes: [UInt8] {
        switch self {
        case .encoded(let b): return b
        case .text(let s):
            var w = CBORWriter(capacity: s.utf8.count + 2)
            w.writeText(s)
            return w.bytes
        }
    }

    /// Canonical order: shorter encoding first, then bytewise.
    static func precedes(_ a: MapKey, _ b: MapKey) -> Bool {
        if case .text(let x) = a, case .text(let y) = b {
            let (nx, ny) = (x.utf8.count, y.utf8.count)
            if nx != ny { return nx < ny }
            return x.utf8.lexicographicallyPrecedes(y.utf8)
        }
        return canonicalKeyOrder(a.bytes, b.bytes)
    }

    static func equal(_ a: MapKey, _ b: MapKey) -> Bool {
        if case .text(let x) = a, case .text(let y) = b { return x.utf8.elementsEqual(y.utf8) }
        return a.bytes == b.bytes
    }
}

/// The entries of a map being encoded; a class because nested containers fill it later.
final class MapStorage {
    struct Entry {
        var key: MapKey
        var node: EncodedNode
    }

    var entries: [Entry] = []

    init(entries: [Entry] = []) {
        self.entries = entries
    }
}

/// The items of an array being encoded.
final class ArrayStorage {
    var items: [EncodedNode] = []
}

/// An item on its way to bytes.
enum EncodedNode {
    case unsigned(UInt64)
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case bool(Bool)
    case null
    case float(Double)
    case value(CBORValue)
    case map(MapStorage)
    case array(ArrayStorage)
    /// A `superEncoder()` whose content is known only at the end.
    case deferred(_CBOREncoderImpl)

    static func int<I: FixedWidthInteger & SignedInteger>(_ v: I) -> EncodedNode {
        if v >= 0 {
            return .unsigned(UInt64(v))
        }
        // -1 - v, computed without overflow for the most negative value.
        return .negative(UInt64(~v))
    }

    func serialize(into w: inout CBORWriter) throws {
        switch self {
        case .unsigned(let u): w.writeHead(0, u)
        case .negative(let n): w.writeHead(1, n)
        case .bytes(let b): w.writeBytes(b)
        case .text(let s): w.writeText(s)
        case .bool(let b): w.bytes.append(b ? 0xf5 : 0xf4)
        case .null: w.bytes.append(0xf6)
        case .float(let d): w.writeFloat(d)
        case .value(let v): try w.write(v)
        case .array(let storage):
            w.writeHead(4, UInt64(storage.items.count))
            for item in storage.items { try item.serialize(into: &w) }
        case .map(let storage):
            var entries = storage.entries
            if entries.count > 1 {
                entries.sort { MapKey.precedes($0.key, $1.key) }
                for i in 1..<entries.count where MapKey.equal(entries[i - 1].key, entries[i].key) {
                    throw CBORError(.unencodable, "the same map key is written twice: \(entries[i].key.bytes)")
                }
            }
            w.writeHead(5, UInt64(entries.count))
            for entry in entries {
                switch entry.key {
                case .text(let s): w.writeText(s)
                case .encoded(let b): w.bytes.append(contentsOf: b)
                }
                try entry.node.serialize(into: &w)
            }
        case .deferred(let encoder):
            try (encoder.node ?? .map(MapStorage())).serialize(into: &w)
        }
    }
}

// MARK: - Encoder implementation

/// The `Encoder` handed to `encode(to:)`. Internal; public only through ``Swift/Encoder/isCBOR``.
final class _CBOREncoderImpl: Encoder {
    private let parent: _CBOREncoderImpl?
    private let key: (any CodingKey)?
    var node: EncodedNode?

    init(parent: _CBOREncoderImpl?, key: (any CodingKey)?) {
        self.parent = parent
        self.key = key
    }

    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var current: _CBOREncoderImpl? = self
        while let c = current {
            if let k = c.key { path.append(k) }
            current = c.parent
        }
        return path.reversed()
    }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func store(_ node: EncodedNode) {
        self.node = node
    }

    /// The encoded form of any value, with the CBOR special cases first.
    static func node<T: Encodable>(for value: T, parent: _CBOREncoderImpl?, key: (any CodingKey)?) throws
        -> EncodedNode
    {
        if T.self == [UInt8].self { return .bytes(value as! [UInt8]) }
        if T.self == String.self { return .text(value as! String) }
        if T.self == CBORValue.self { return .value(value as! CBORValue) }
        if T.self == Data.self { return .bytes(Array(value as! Data)) }
        if T.self == UInt64.self { return .unsigned(value as! UInt64) }
        if T.self == Int64.self { return .int(value as! Int64) }
        if T.self == Int.self { return .int(value as! Int) }
        if T.self == Bool.self { return .bool(value as! Bool) }
        if TypeTraits.isCBORDictionary(T.self), let dictionary = value as? any _CBORDictionaryEncodable {
            let host = _CBOREncoderImpl(parent: parent, key: key)
            return .map(MapStorage(entries: try dictionary._cborEntries(parent: host)))
        }
        let child = _CBOREncoderImpl(parent: parent, key: key)
        try value.encode(to: child)
        // A type that encodes nothing is written as an empty map, as JSONEncoder writes `{}`.
        return child.node ?? .map(MapStorage())
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let storage: MapStorage
        if case .map(let existing) = node {
            storage = existing
        } else {
            storage = MapStorage()
            node = .map(storage)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(encoder: self, storage: storage))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let storage: ArrayStorage
        if case .array(let existing) = node {
            storage = existing
        } else {
            storage = ArrayStorage()
            node = .array(storage)
        }
        return UnkeyedContainer(encoder: self, storage: storage)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(encoder: self)
    }

    // MARK: Containers

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: _CBOREncoderImpl
        let storage: MapStorage

        var codingPath: [any CodingKey] { encoder.codingPath }

        private func put(_ key: Key, _ node: EncodedNode) {
            storage.entries.append(MapStorage.Entry(key: .text(key.stringValue), node: node))
        }

        mutating func encodeNil(forKey key: Key) throws { put(key, .null) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { put(key, .bool(value)) }
        mutating func encode(_ value: String, forKey key: Key) throws { put(key, .text(value)) }
        mutating func encode(_ value: Double, forKey key: Key) throws { put(key, .float(value)) }
        mutating func encode(_ value: Float, forKey key: Key) throws { put(key, .float(Double(value))) }
        mutating func encode(_ value: Int, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { put(key, .unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { put(key, .unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { put(key, .unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { put(key, .unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { put(key, .unsigned(value)) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            put(key, try _CBOREncoderImpl.node(for: value, parent: encoder, key: key))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            let child = _CBOREncoderImpl(parent: encoder, key: key)
            let nested = MapStorage()
            child.node = .map(nested)
            put(key, .map(nested))
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(encoder: child, storage: nested))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = _CBOREncoderImpl(parent: encoder, key: key)
            let nested = ArrayStorage()
            child.node = .array(nested)
            put(key, .array(nested))
            return UnkeyedContainer(encoder: child, storage: nested)
        }

        mutating func superEncoder() -> any Encoder {
            let child = _CBOREncoderImpl(parent: encoder, key: AnyCodingKey("super"))
            storage.entries.append(MapStorage.Entry(key: .text("super"), node: .deferred(child)))
            return child
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let child = _CBOREncoderImpl(parent: encoder, key: key)
            put(key, .deferred(child))
            return child
        }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let encoder: _CBOREncoderImpl
        let storage: ArrayStorage

        var codingPath: [any CodingKey] { encoder.codingPath }
        var count: Int { storage.items.count }

        private func put(_ node: EncodedNode) { storage.items.append(node) }

        mutating func encodeNil() throws { put(.null) }
        mutating func encode(_ value: Bool) throws { put(.bool(value)) }
        mutating func encode(_ value: String) throws { put(.text(value)) }
        mutating func encode(_ value: Double) throws { put(.float(value)) }
        mutating func encode(_ value: Float) throws { put(.float(Double(value))) }
        mutating func encode(_ value: Int) throws { put(.int(value)) }
        mutating func encode(_ value: Int8) throws { put(.int(value)) }
        mutating func encode(_ value: Int16) throws { put(.int(value)) }
        mutating func encode(_ value: Int32) throws { put(.int(value)) }
        mutating func encode(_ value: Int64) throws { put(.int(value)) }
        mutating func encode(_ value: UInt) throws { put(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt8) throws { put(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt16) throws { put(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt32) throws { put(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt64) throws { put(.unsigned(value)) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            put(try _CBOREncoderImpl.node(for: value, parent: encoder, key: IndexKey(count)))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
            -> KeyedEncodingContainer<NestedKey>
        {
            let child = _CBOREncoderImpl(parent: encoder, key: IndexKey(count))
            let nested = MapStorage()
            child.node = .map(nested)
            put(.map(nested))
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(encoder: child, storage: nested))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = _CBOREncoderImpl(parent: encoder, key: IndexKey(count))
            let nested = ArrayStorage()
            child.node = .array(nested)
            put(.array(nested))
            return UnkeyedContainer(encoder: child, storage: nested)
        }

        mutating func superEncoder() -> any Encoder {
            let child = _CBOREncoderImpl(parent: encoder, key: IndexKey(count))
            put(.deferred(child))
            return child
        }
    }

    struct SingleContainer: SingleValueEncodingContainer {
        let encoder: _CBOREncoderImpl

        var codingPath: [any CodingKey] { encoder.codingPath }

        private func put(_ node: EncodedNode) { encoder.node = node }

        mutating func encodeNil() throws { put(.null) }
        mutating func encode(_ value: Bool) throws { put(.bool(value)) }
        mutating func encode(_ value: String) throws { put(.text(value)) }
        mutating func encode(_ value: Double) throws { put(.float(value)) }
        mutating func encode(_ value: Float) throws { put(.float(Double(value))) }
        mutating func encode(_ value: Int) throws { put(.int(value)) }
        mutating func encode(_ value: Int8) throws { put(.int(value)) }
        mutating func encode(_ value: Int16) throws { put(.int(value)) }
        mutating func encode(_ value: Int32) throws { put(.int(value)) }
        mutating func encode(_ value: Int64) throws { put(.int(value)) }
        mutating func encode(_ value: UInt) throws { put(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt8) throws { put(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt16) throws { put(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt32) throws { put(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt64) throws { put(.unsigned(value)) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            // The value replaces this encoder's content; its own key path stays the same.
            put(try _CBOREncoderImpl.node(for: value, parent: encoder, key: nil))
        }
    }
}
