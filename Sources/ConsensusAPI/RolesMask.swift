public import OasisCBOR

/// A node's roles as a bit mask (`node.RolesMask`, a u32), as of oasis-core v21.1.
///
/// Bits 0–5 are compute, storage, key-manager, validator, consensus-rpc and storage-rpc; bits 6
/// to 31 are reserved. v21.1 gives the mask no text marshaler, so CBOR and JSON carry the integer,
/// and JSON map keys (an entity whitelist's `max_nodes`) are decimal strings.
public struct RolesMask: OptionSet, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The value Go stores.
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// The compute worker role.
    public static let computeWorker = RolesMask(rawValue: 1 << 0)
    /// The storage worker role.
    public static let storageWorker = RolesMask(rawValue: 1 << 1)
    /// The key manager role.
    public static let keyManager = RolesMask(rawValue: 1 << 2)
    /// The validator role.
    public static let validator = RolesMask(rawValue: 1 << 3)
    /// The public consensus RPC role.
    public static let consensusRPC = RolesMask(rawValue: 1 << 4)
    /// The public storage RPC role.
    public static let storageRPC = RolesMask(rawValue: 1 << 5)
    /// Every bit that must stay clear.
    public static let reserved = RolesMask(rawValue: ~((storageRPC.rawValue << 1) - 1))

    /// The roles in bit order with their names.
    private static let named: [(RolesMask, String)] = [
        (.computeWorker, "compute"), (.storageWorker, "storage"), (.keyManager, "key-manager"),
        (.validator, "validator"), (.consensusRPC, "consensus-rpc"), (.storageRPC, "storage-rpc"),
    ]

    /// Exactly one bit is set and it is not reserved.
    public var isSingleRole: Bool {
        rawValue != 0 && rawValue & (rawValue - 1) == 0 && intersection(.reserved).isEmpty
    }

    /// The role names joined by commas in bit order; `[invalid roles]` when a reserved bit is set.
    public var description: String {
        guard intersection(.reserved).isEmpty else { return "[invalid roles]" }
        return Self.named.filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }

    /// Parses comma-joined role names, the form ``description`` writes. v21.1 has no parser;
    /// this follows the one later oasis-core versions added: case-sensitive, every name must be
    /// known (`node: invalid role: '<name>'`) and appear once (`node: duplicate role: '<name>'`).
    public init(string: String) throws(DescriptorError) {
        var mask = RolesMask()
        for name in string.split(separator: ",", omittingEmptySubsequences: false) {
            guard let role = Self.named.first(where: { $0.1 == name })?.0 else {
                throw DescriptorError("node: invalid role: '\(name)'")
            }
            guard !mask.contains(role) else { throw DescriptorError("node: duplicate role: '\(name)'") }
            mask.insert(role)
        }
        self = mask
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt32.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

extension RolesMask: CBORMapKey {
    public var cborMapKey: CBORValue { .unsignedInt(UInt64(rawValue)) }

    public init(cborMapKey: CBORValue) throws {
        guard case .unsignedInt(let u) = cborMapKey, let value = UInt32(exactly: u) else {
            throw CBORError(.typeMismatch, "expected a u32 roles mask map key, found \(cborMapKey)")
        }
        self.init(rawValue: value)
    }
}

extension RolesMask: CodingKeyRepresentable {
    /// The decimal integer, as Go writes integer map keys without a text marshaler.
    public var codingKey: any CodingKey { AnyCodingKey(String(rawValue)) }

    public init?<T: CodingKey>(codingKey: T) {
        // Plain digits only, as Go's strconv.ParseUint (Swift's parser would also take a "+").
        let text = codingKey.stringValue
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let value = UInt32(text)
        else { return nil }
        self.init(rawValue: value)
    }
}
