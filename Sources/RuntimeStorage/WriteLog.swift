import OasisCBOR
import OasisCommon

/// One change to a tree: set `key` to `value` (an empty value deletes the key).
///
/// On the wire (RHP and storage requests) an entry is a 2-element CBOR array
/// `[key bytes, value bytes]`, not a map.
public struct WriteLogEntry: Hashable, Sendable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// An ordered list of changes to a tree.
public typealias WriteLog = [WriteLogEntry]

extension WriteLogEntry: Codable {
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        guard c.count == 2 else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "a write log entry is a [key, value] array, got \(c.count ?? 0) element(s)")
        }
        key = try c.decode(GoBytes.self).bytes
        value = try c.decode(GoBytes.self).bytes
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(GoBytes(key))
        try c.encode(GoBytes(value))
    }
}
