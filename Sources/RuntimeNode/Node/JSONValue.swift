public import OasisCBOR
import OasisCommon

/// A JSON document as a value: how the control API carries a runtime's opaque arguments and
/// results (`--args '{"key":"a"}'` in, the query's CBOR answer out).
///
/// To CBOR: objects become maps with text keys, whole numbers integers, other numbers floats.
/// From CBOR: byte strings become standard base64 text (as Go writes `[]byte` in JSON), maps
/// with non-text keys become arrays of `[key, value]` pairs, `undefined` becomes `null`.
public indirect enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .unsigned(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .unsigned(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The CBOR form; map keys in canonical order come from the encoder, not from here.
    public var cbor: CBORValue {
        switch self {
        case .null: .null
        case .bool(let value): .bool(value)
        case .integer(let value): value >= 0 ? .unsignedInt(UInt64(value)) : .negativeInt(UInt64(-(value + 1)))
        case .unsigned(let value): .unsignedInt(value)
        case .double(let value): .float(value)
        case .string(let value): .textString(value)
        case .array(let values): .array(values.map(\.cbor))
        case .object(let members):
            .map(members.sorted { canonicalOrder($0.key, $1.key) }.map {
                CBORMapEntry(key: .textString($0.key), value: $0.value.cbor)
            })
        }
    }

    /// The JSON form of a CBOR value.
    public init(_ value: CBORValue) {
        switch value {
        case .unsignedInt(let u): self = .unsigned(u)
        case .negativeInt(let n): self = n < UInt64(Int64.max) ? .integer(-Int64(n) - 1) : .double(-Double(n) - 1)
        case .byteString(let bytes): self = .string(Base64.encode(bytes))
        case .textString(let text): self = .string(text)
        case .array(let values): self = .array(values.map(JSONValue.init))
        case .map(let entries):
            var members: [String: JSONValue] = [:]
            var textKeys = true
            for entry in entries {
                guard case .textString(let key) = entry.key else {
                    textKeys = false
                    break
                }
                members[key] = JSONValue(entry.value)
            }
            self = textKeys ? .object(members) : .array(entries.map { .array([JSONValue($0.key), JSONValue($0.value)]) })
        case .bool(let b): self = .bool(b)
        case .null, .undefined: self = .null
        case .simple(let s): self = .unsigned(UInt64(s))
        case .float(let d): self = .double(d)
        }
    }
}

/// Canonical CBOR map-key order for text keys: shorter first, then bytewise.
func canonicalOrder(_ a: String, _ b: String) -> Bool {
    let (x, y) = (a.utf8, b.utf8)
    if x.count != y.count { return x.count < y.count }
    return x.lexicographicallyPrecedes(y)
}
