/// A type that reads itself straight from validated CBOR, without Codable's containers.
///
/// ``CBORDecoder/decode(_:from:)-(_,[UInt8])`` uses this path first for conforming types; the
/// `Decodable` conformance stays the reference. A conforming type must accept exactly the inputs
/// its `init(from:)` accepts and produce the same value: unknown keys refused unless
/// ``CBORFastReader/allowsUnknownFields``, absent or `null` fields taking their Go zero value,
/// the same item kinds per field. When the fast path throws, the decoder runs the Codable path
/// on the same bytes, so callers always see the Codable path's error (kind, path and detail).
/// Only the success case needs to be fast.
public protocol CBORFastDecodable {
    /// Reads one item at the reader's position and leaves the reader just past it.
    init(cbor reader: inout CBORFastReader) throws
}

/// A cursor over input that the validating scan has accepted: every head, length and nesting
/// level is known to be in bounds and within the decoder's limits, so nothing is checked again
/// here except what the target type requires (item kinds, value ranges, known keys).
///
/// Created only by ``CBORDecoder`` while the input's storage is pinned; it cannot be copied,
/// so it cannot outlive that scope.
public struct CBORFastReader: ~Copyable {
    @usableFromInline let base: UnsafeBufferPointer<UInt8>
    @usableFromInline var position: Int
    @usableFromInline let options: CBORDecoder.Options

    init(base: UnsafeBufferPointer<UInt8>, at position: Int = 0, options: CBORDecoder.Options) {
        self.base = base
        self.position = position
        self.options = options
    }

    /// Whether map keys that name no field are skipped (``CBORDecoder/Options/trusted``) rather
    /// than refused.
    @inlinable
    public var allowsUnknownFields: Bool { options.allowsUnknownFields }

    // MARK: Heads

    /// Reads the head at the position: major type, additional information and argument.
    @inlinable @inline(__always)
    mutating func head() -> (major: UInt8, info: UInt8, argument: UInt64) {
        let initial = base[position]
        position += 1
        let info = initial & 0x1f
        var argument = UInt64(info)
        if info >= 24 && info <= 27 {
            let count = 1 << Int(info - 24)
            argument = 0
            for i in 0..<count { argument = argument << 8 | UInt64(base[position + i]) }
            position += count
        }
        return (initial >> 5, info, argument)
    }

    @usableFromInline
    func mismatch(_ expected: String) -> CBORError {
        CBORError(.typeMismatch, offset: position, "expected \(expected)")
    }

    /// Moves past the item at the position, whatever it is.
    @inlinable
    public mutating func skipItem() {
        let (major, _, argument) = head()
        switch major {
        case 2, 3: position += Int(argument)
        case 4: for _ in 0..<argument { skipItem() }
        case 5: for _ in 0..<(argument * 2) { skipItem() }
        default: break
        }
    }

    // MARK: Scalars

    /// Consumes a `null` or `undefined` and returns true; otherwise leaves the reader as it is.
    /// Codable's `decodeIfPresent` treats both as absent.
    @inlinable @inline(__always)
    public mutating func decodeNil() -> Bool {
        let b = base[position]
        guard b == 0xf6 || b == 0xf7 else { return false }
        position += 1
        return true
    }

    /// An integer that must fit `I` exactly, as the Codable path reads integers.
    @inlinable
    public mutating func decodeInteger<I: FixedWidthInteger>(_ type: I.Type = I.self) throws -> I {
        let (major, _, argument) = head()
        switch major {
        case 0:
            guard let v = I(exactly: argument) else { throw CBORError(.invalidValue, offset: position) }
            return v
        case 1:
            guard I.isSigned, argument <= UInt64(Int64.max), let v = I(exactly: -1 - Int64(argument)) else {
                throw CBORError(.invalidValue, offset: position)
            }
            return v
        default:
            throw mismatch("integer")
        }
    }

    /// `true` or `false`.
    @inlinable
    public mutating func decodeBool() throws -> Bool {
        switch base[position] {
        case 0xf4: position += 1; return false
        case 0xf5: position += 1; return true
        default: throw mismatch("bool")
        }
    }

    /// A text string (already checked to be valid UTF-8 by the scan).
    @inlinable
    public mutating func decodeString() throws -> String {
        let (major, _, argument) = head()
        guard major == 3 else { throw mismatch("text string") }
        let start = position
        position += Int(argument)
        return String(decoding: UnsafeBufferPointer(rebasing: base[start..<position]), as: UTF8.self)
    }

    /// A byte string read in place by `body`; `null` reads as no bytes, as for `[UInt8]` in the
    /// Codable path. `body` returns nil for bytes the type refuses (a wrong length, say).
    @inlinable
    public mutating func decodeBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R?) throws -> R {
        let bytes: UnsafeBufferPointer<UInt8>
        if base[position] == 0xf6 {
            position += 1
            bytes = UnsafeBufferPointer(rebasing: base[position..<position])
        } else {
            let (major, _, argument) = head()
            guard major == 2 else { throw mismatch("byte string") }
            let start = position
            position += Int(argument)
            bytes = UnsafeBufferPointer(rebasing: base[start..<position])
        }
        guard let value = body(bytes) else { throw CBORError(.invalidValue, offset: position) }
        return value
    }

    /// A byte string as an array (`null` reads as empty).
    @inlinable
    public mutating func decodeBytes() throws -> [UInt8] {
        try decodeBytes { Array($0) }
    }

    // MARK: Containers

    /// The number of pairs of the map at the position; the reader moves to the first key.
    @inlinable
    public mutating func decodeMapCount() throws -> Int {
        let (major, _, argument) = head()
        guard major == 5 else { throw mismatch("map") }
        return Int(argument)
    }

    /// The number of elements of the array at the position; the reader moves to the first.
    @inlinable
    public mutating func decodeArrayCount() throws -> Int {
        let (major, _, argument) = head()
        guard major == 4 else { throw mismatch("array") }
        return Int(argument)
    }

    /// Reads a map key and moves to its value. Keys that are not text strings never name a
    /// field (struct keys are text), so they match no pattern.
    @inlinable
    public mutating func decodeFieldName() -> CBORFieldName {
        if base[position] >> 5 == 3 {
            let (_, _, argument) = head()
            let start = position
            position += Int(argument)
            return CBORFieldName(text: UnsafeBufferPointer(rebasing: base[start..<position]), isText: true)
        }
        skipItem()
        return CBORFieldName(text: UnsafeBufferPointer(rebasing: base[position..<position]), isText: false)
    }

    /// Handles the value of a key that names no field: skipped when unknown fields are
    /// allowed, refused otherwise.
    @inlinable
    public mutating func unknownField() throws {
        guard options.allowsUnknownFields else { throw CBORError(.unknownField, offset: position) }
        skipItem()
    }

    /// The map of a type without fields: every key is unknown, so strict decoding refuses any.
    public mutating func decodeMapWithoutFields() throws {
        for _ in 0..<(try decodeMapCount()) {
            _ = decodeFieldName()
            try unknownField()
        }
    }

    /// A map key as a ``CBORMapKey`` (the keys of dictionaries keyed by integers or bytes).
    public mutating func decodeMapKey<K: CBORMapKey>(_ type: K.Type = K.self) throws -> K {
        // Integer and byte-string keys (enumerations, public keys) without the general parser.
        switch base[position] >> 5 {
        case 0:
            return try K(cborMapKey: .unsignedInt(head().argument))
        case 2:
            let count = Int(head().argument)
            let start = position
            position += count
            return try K(cborMapKey: .byteString(Array(base[start..<position])))
        default:
            let (value, used) = try CBORReader.parsePrefix(
                UnsafeBufferPointer(rebasing: base[position...]), options: .trusted)
            position += used
            return try K(cborMapKey: value)
        }
    }

    // MARK: Nested values

    /// A nested fast type.
    @inlinable @inline(__always)
    public mutating func decode<T: CBORFastDecodable>(_ type: T.Type = T.self) throws -> T {
        try T(cbor: &self)
    }

    /// A struct field read like `decodeIfPresent`: `null` or `undefined` give nil, as an absent
    /// key does; the caller supplies the Go zero value.
    @inlinable @inline(__always)
    public mutating func decodeField<T: CBORFastDecodable>(_ type: T.Type = T.self) throws -> T? {
        if decodeNil() { return nil }
        return try T(cbor: &self)
    }
}

/// A map key as seen by a fast decoder: the key's UTF-8 bytes in place, matched against field
/// names with `switch`/`case "name":`. Valid only while the reader that returned it is.
public struct CBORFieldName {
    @usableFromInline let text: UnsafeBufferPointer<UInt8>
    @usableFromInline let isText: Bool

    @inlinable
    init(text: UnsafeBufferPointer<UInt8>, isText: Bool) {
        self.text = text
        self.isText = isText
    }

    /// Whether the key is the text `pattern`, compared as bytes.
    @inlinable
    public static func ~= (pattern: StaticString, name: CBORFieldName) -> Bool {
        let count = pattern.utf8CodeUnitCount
        guard name.isText, name.text.count == count else { return false }
        let expected = pattern.utf8Start
        for i in 0..<count where name.text[i] != expected[i] { return false }
        return true
    }

    /// Whether the key is the text whose UTF-8 bytes are `utf8` (for names known only at run
    /// time, such as an enumeration's raw values).
    @inlinable
    public func isText(_ utf8: [UInt8]) -> Bool {
        isText && text.elementsEqual(utf8)
    }
}

// MARK: Standard types

extension Bool: CBORFastDecodable {
    /// Reads the item as the Codable path does.
    @inlinable public init(cbor reader: inout CBORFastReader) throws { self = try reader.decodeBool() }
}

extension String: CBORFastDecodable {
    /// Reads the item as the Codable path does.
    @inlinable public init(cbor reader: inout CBORFastReader) throws { self = try reader.decodeString() }
}

extension CBORFastDecodable where Self: FixedWidthInteger {
    /// Reads the item as the Codable path does.
    @inlinable public init(cbor reader: inout CBORFastReader) throws { self = try reader.decodeInteger() }
}

extension UInt8: CBORFastDecodable {}
extension UInt16: CBORFastDecodable {}
extension UInt32: CBORFastDecodable {}
extension UInt64: CBORFastDecodable {}
extension Int: CBORFastDecodable {}
extension Int64: CBORFastDecodable {}

extension CBORValue: CBORFastDecodable {
    /// The item as a value, parsed as the Codable path parses it (`null` is ``CBORValue/null``).
    public init(cbor reader: inout CBORFastReader) throws {
        let (value, used) = try CBORReader.parsePrefix(
            UnsafeBufferPointer(rebasing: reader.base[reader.position...]), options: .trusted)
        reader.position += used
        self = value
    }
}

extension Array: CBORFastDecodable where Element: CBORFastDecodable {
    /// An array of fast elements; `[UInt8]` is a byte string, as in the Codable path.
    @inlinable
    public init(cbor reader: inout CBORFastReader) throws {
        if Element.self == UInt8.self {
            self = try reader.decodeBytes() as! [Element]
            return
        }
        let count = try reader.decodeArrayCount()
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try Element(cbor: &reader)) }
        self = elements
    }
}

extension Dictionary: CBORFastDecodable where Key: CBORMapKey, Value: CBORFastDecodable {
    /// A native CBOR map; keys distinct in CBOR but equal as `Key`s (canonically equivalent
    /// text) are refused as duplicates, as in the Codable path.
    @inlinable
    public init(cbor reader: inout CBORFastReader) throws {
        let count = try reader.decodeMapCount()
        var result: [Key: Value] = [:]
        result.reserveCapacity(count)
        for _ in 0..<count {
            let keyStart = reader.position
            let key = try reader.decodeMapKey(Key.self)
            guard result.updateValue(try Value(cbor: &reader), forKey: key) == nil else {
                throw CBORError(.duplicateKey, offset: keyStart, "key equal to an earlier one as a \(Key.self)")
            }
        }
        self = result
    }
}
