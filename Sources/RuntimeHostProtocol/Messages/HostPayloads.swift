import OasisCBOR
import OasisCommon
public import RuntimeStorage

// Payloads of the requests the runtime sends to the host and of the host's answers
// (host.md §3.5 rows 27–34).

/// `HostRPCCallRequest`: the runtime asks the host to forward `request` to `endpoint`
/// (at v21.1 only `key-manager` exists).
public struct HostRPCCallRequest: Hashable, Sendable {
    /// Where to forward (`key-manager`).
    public var endpoint: String
    /// The opaque request.
    public var request: [UInt8]

    /// A host RPC request.
    public init(endpoint: String, request: [UInt8] = []) {
        self.endpoint = endpoint
        self.request = request
    }
}

extension HostRPCCallRequest: Codable {
    enum CodingKeys: String, CodingKey { case endpoint, request }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        endpoint = try c.decode(String.self, forKey: .endpoint, orZero: "")
        request = try c.decodeBytes(forKey: .request)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(endpoint, forKey: .endpoint)
        try c.encodeBytes(request, forKey: .request)
    }
}

/// `HostRPCCallResponse`.
public struct HostRPCCallResponse: Hashable, Sendable {
    /// The endpoint's answer.
    public var response: [UInt8]

    /// A host RPC answer.
    public init(response: [UInt8] = []) {
        self.response = response
    }
}

extension HostRPCCallResponse: Codable {
    enum CodingKeys: String, CodingKey { case response }

    public init(from decoder: any Decoder) throws {
        response = try decoder.container(keyedBy: CodingKeys.self).decodeBytes(forKey: .response)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeBytes(response, forKey: .response)
    }
}

/// Which state a storage sync request reads (a u8 on the wire; an open set).
public struct StorageEndpoint: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The wire value.
    public var rawValue: UInt8

    /// Any u8; unknown endpoints are refused by the host.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// The runtime's own state.
    public static let runtime = StorageEndpoint(rawValue: 0)
    /// The consensus layer's state, served by the host's light client.
    public static let consensus = StorageEndpoint(rawValue: 1)

    public var description: String {
        switch rawValue {
        case 0: "runtime"
        case 1: "consensus"
        default: "[unknown storage endpoint \(rawValue)]"
        }
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt8.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// One read of the MKVS read-syncer.
public enum StorageSyncOperation: Hashable, Sendable {
    case get(SyncGetRequest)
    case getPrefixes(SyncGetPrefixesRequest)
    case iterate(SyncIterateRequest)
}

/// `HostStorageSyncRequest`: the runtime reads state through the host.
///
/// On the wire the operation is one of the keys `SyncGet`, `SyncGetPrefixes`, `SyncIterate`, at
/// the same level as `endpoint`. None of them decodes as `operation == nil` (the host answers
/// `method not supported`); more than one is malformed (v21.1's Go host would silently take the
/// first).
public struct HostStorageSyncRequest: Hashable, Sendable {
    /// Which state to read.
    public var endpoint: StorageEndpoint
    /// The read; `nil` when the request named none.
    public var operation: StorageSyncOperation?

    /// A sync read.
    public init(endpoint: StorageEndpoint = .runtime, operation: StorageSyncOperation?) {
        self.endpoint = endpoint
        self.operation = operation
    }
}

extension HostStorageSyncRequest: Codable {
    enum CodingKeys: String, CodingKey {
        case endpoint
        case syncGet = "SyncGet"
        case syncGetPrefixes = "SyncGetPrefixes"
        case syncIterate = "SyncIterate"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        endpoint = try c.decode(StorageEndpoint.self, forKey: .endpoint, orZero: .runtime)
        var operations: [StorageSyncOperation] = []
        if let get = try c.decodeIfPresent(SyncGetRequest.self, forKey: .syncGet) {
            operations.append(.get(get))
        }
        if let prefixes = try c.decodeIfPresent(SyncGetPrefixesRequest.self, forKey: .syncGetPrefixes) {
            operations.append(.getPrefixes(prefixes))
        }
        if let iterate = try c.decodeIfPresent(SyncIterateRequest.self, forKey: .syncIterate) {
            operations.append(.iterate(iterate))
        }
        guard operations.count <= 1 else {
            throw DecodingError.dataCorruptedError(
                forKey: .syncGet, in: c,
                debugDescription: "a storage sync request carries at most one operation, found \(operations.count)")
        }
        operation = operations.first
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOmitEmpty(endpoint.rawValue, forKey: .endpoint)
        switch operation {
        case .get(let request): try c.encode(request, forKey: .syncGet)
        case .getPrefixes(let request): try c.encode(request, forKey: .syncGetPrefixes)
        case .iterate(let request): try c.encode(request, forKey: .syncIterate)
        case nil: break
        }
    }
}

/// `HostStorageSyncResponse`: the proof answering a sync read.
public struct HostStorageSyncResponse: Hashable, Sendable {
    /// The proof of the values read.
    public var proofResponse: ProofResponse

    /// A sync answer.
    public init(proofResponse: ProofResponse = ProofResponse()) {
        self.proofResponse = proofResponse
    }
}

extension HostStorageSyncResponse: Codable {
    enum CodingKeys: String, CodingKey { case proofResponse = "ProofResponse" }

    public init(from decoder: any Decoder) throws {
        proofResponse = try decoder.container(keyedBy: CodingKeys.self)
            .decode(ProofResponse.self, forKey: .proofResponse, orZero: ProofResponse())
    }
}

/// `HostLocalStorageGetRequest`: read the runtime's key in the node's local storage.
public struct HostLocalStorageGetRequest: Hashable, Sendable {
    /// The key; an empty key is refused by the host.
    public var key: [UInt8]

    /// A local-storage read.
    public init(key: [UInt8]) {
        self.key = key
    }
}

extension HostLocalStorageGetRequest: Codable {
    enum CodingKeys: String, CodingKey { case key }

    public init(from decoder: any Decoder) throws {
        key = try decoder.container(keyedBy: CodingKeys.self).decodeBytes(forKey: .key)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeBytes(key, forKey: .key)
    }
}

/// `HostLocalStorageGetResponse`: the value, empty when the key is absent.
public struct HostLocalStorageGetResponse: Hashable, Sendable {
    /// The value; empty when the key is absent.
    public var value: [UInt8]

    /// A local-storage answer.
    public init(value: [UInt8] = []) {
        self.value = value
    }
}

extension HostLocalStorageGetResponse: Codable {
    enum CodingKeys: String, CodingKey { case value }

    public init(from decoder: any Decoder) throws {
        value = try decoder.container(keyedBy: CodingKeys.self).decodeBytes(forKey: .value)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeBytes(value, forKey: .value)
    }
}

/// `HostLocalStorageSetRequest`: write a key of the runtime's local storage.
public struct HostLocalStorageSetRequest: Hashable, Sendable {
    /// The key; an empty key is refused by the host.
    public var key: [UInt8]
    /// The value to store.
    public var value: [UInt8]

    /// A local-storage write.
    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

extension HostLocalStorageSetRequest: Codable {
    enum CodingKeys: String, CodingKey { case key, value }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decodeBytes(forKey: .key)
        value = try c.decodeBytes(forKey: .value)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeBytes(key, forKey: .key)
        try c.encodeBytes(value, forKey: .value)
    }
}
