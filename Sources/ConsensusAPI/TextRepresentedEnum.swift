public import OasisCBOR

/// An integer enumeration that oasis-core gives a text form (`MarshalText`/`UnmarshalText`).
///
/// The CBOR library ignores text marshalers, so CBOR carries the integer; Go's `encoding/json`
/// uses them, so JSON carries the text. Maps keyed by such a value follow suit: integer keys in
/// CBOR, text keys in JSON. Conforming types only supply the two text functions; the coding is
/// shared here.
public protocol TextRepresentedEnum: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    CBORMapKey, CodingKeyRepresentable where RawValue: FixedWidthInteger & Codable & Sendable
{
    /// Any raw value: like Go's, these enumerations are open, and unknown values survive decoding.
    init(rawValue: RawValue)

    /// Go's `MarshalText`: the text form, or the error Go gives for values it will not write.
    func marshalText() throws -> String

    /// Go's `UnmarshalText` (or `FromString`): parses the text form, with that type's rules.
    init(string: String) throws
}

extension TextRepresentedEnum {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if decoder.isCBOR {
            self.init(rawValue: try container.decode(RawValue.self))
            return
        }
        let text = try container.decode(String.self)
        do {
            try self.init(string: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if encoder.isCBOR {
            try container.encode(rawValue)
        } else {
            try container.encode(try jsonText(codingPath: encoder.codingPath))
        }
    }

    /// ``marshalText()`` with its failure turned into an `EncodingError`.
    func jsonText(codingPath: [any CodingKey]) throws -> String {
        do {
            return try marshalText()
        } catch {
            throw EncodingError.invalidValue(
                self, EncodingError.Context(codingPath: codingPath, debugDescription: "\(error)"))
        }
    }

    public var cborMapKey: CBORValue {
        rawValue < 0 ? .negativeInt(UInt64(-1 - Int64(rawValue))) : .unsignedInt(UInt64(rawValue))
    }

    public init(cborMapKey: CBORValue) throws {
        let value: RawValue?
        switch cborMapKey {
        case .unsignedInt(let u): value = RawValue(exactly: u)
        case .negativeInt(let n): value = n <= UInt64(Int64.max) ? RawValue(exactly: -1 - Int64(n)) : nil
        default: value = nil
        }
        guard let value else {
            throw CBORError(.typeMismatch, "expected a \(Self.self) map key, found \(cborMapKey)")
        }
        self.init(rawValue: value)
    }

    /// The text form. A value Go refuses to write gets its description here; the containers that
    /// hold such maps check their keys with ``marshalText()`` before writing JSON, so it never
    /// reaches a document.
    public var codingKey: any CodingKey {
        AnyCodingKey((try? marshalText()) ?? description)
    }

    public init?<T: CodingKey>(codingKey: T) {
        guard let value = try? Self(string: codingKey.stringValue) else { return nil }
        self = value
    }
}

extension Dictionary where Key: TextRepresentedEnum {
    /// Go's `encoding/json` fails when a map key's `MarshalText` does; `Dictionary`'s own coding
    /// cannot fail on a key, so JSON encoders call this first.
    func checkJSONKeys(codingPath: [any CodingKey]) throws {
        for key in keys { _ = try key.jsonText(codingPath: codingPath) }
    }
}
