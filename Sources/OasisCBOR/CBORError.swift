/// Why encoding or decoding CBOR failed, and where.
///
/// `offset` is the byte offset in the input for errors found while reading bytes;
/// `path` is the field path (e.g. `body.RuntimeInfoRequest.runtime_id`) for errors found
/// while mapping items onto Swift types.
public struct CBORError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of failure, so callers and tests can tell them apart.
    public enum Kind: String, Sendable, Hashable {
        /// The input ended inside an item (or was empty).
        case unexpectedEnd = "unexpected end of input"
        /// Bytes follow the single top-level item.
        case trailingBytes = "trailing bytes after the item"
        /// A map has the same key twice.
        case duplicateKey = "duplicate map key"
        /// An indefinite-length string, array or map.
        case indefiniteLength = "indefinite-length item"
        /// A tagged item (major type 6).
        case tag = "tags are not allowed"
        /// A reserved additional-information value (28–30) or a malformed simple value.
        case malformed = "malformed item"
        /// A text string that is not valid UTF-8.
        case invalidUTF8 = "text string is not valid UTF-8"
        /// Containers nested deeper than the limit.
        case depthExceeded = "nesting too deep"
        /// An array or map longer than the limit.
        case tooManyElements = "too many elements"
        /// A map key that names no field of the target type.
        case unknownField = "unknown field"
        /// The item's kind does not fit the Swift type.
        case typeMismatch = "type mismatch"
        /// The item fits the kind but not the value range or rules of the Swift type.
        case invalidValue = "invalid value"
        /// A required field is missing.
        case missingField = "missing field"
        /// The value cannot be encoded (e.g. duplicate keys produced by a type).
        case unencodable = "cannot encode"
    }

    public var kind: Kind
    /// Byte offset in the input, when the error came from reading bytes.
    public var offset: Int?
    /// The coding path, when the error came from mapping onto a type.
    public var path: String?
    /// What exactly was wrong.
    public var detail: String

    public init(_ kind: Kind, offset: Int? = nil, path: String? = nil, _ detail: String = "") {
        self.kind = kind
        self.offset = offset
        self.path = path
        self.detail = detail
    }

    public var description: String {
        var text = "cbor: \(kind.rawValue)"
        if !detail.isEmpty { text += ": \(detail)" }
        if let path, !path.isEmpty { text += " (at \(path))" }
        if let offset { text += " (at byte \(offset))" }
        return text
    }
}

/// Renders a coding path the way field names appear on the wire: `a.b[3].c`.
func renderPath(_ path: [any CodingKey]) -> String {
    var out = ""
    for key in path {
        if let index = key as? IndexKey {
            out += "[\(index.index)]"
        } else {
            if !out.isEmpty { out += "." }
            out += key.stringValue
        }
    }
    return out
}

/// The coding key of an array element.
struct IndexKey: CodingKey {
    var stringValue: String { "Index \(index)" }
    var intValue: Int? { index }
    let index: Int

    init(_ index: Int) { self.index = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.index = intValue }
}
