import OasisCBOR

/// The `Body` union of an RHP message: exactly one of the 34 variants oasis-core v21.1 knows
/// (host.md §3.5).
///
/// On the wire a body is a CBOR map with **one** key, the variant name (``Kind/rawValue``),
/// mapped to the payload (`{}` for variants without one). Decoding refuses zero keys, several
/// keys and unknown names, so malformed input cannot reach a handler.
///
/// `indirect`: payloads live in a box, so a `Body` is a pointer wide and moving one through
/// the connection (results, continuations, messages) copies no payload.
public indirect enum Body: Hashable, Sendable {
    /// Generic success answer (payload `{}`).
    case empty
    /// Generic failure answer.
    case error(ErrorBody)
    /// H→R handshake request.
    case runtimeInfoRequest(RuntimeInfoRequest)
    /// R→H answer to the handshake.
    case runtimeInfoResponse(RuntimeInfoResponse)
    /// H→R liveness check; the answer is `Empty`.
    case runtimePingRequest
    /// H→R; unused at v21.1 (the Rust runtime answers with an error).
    case runtimeShutdownRequest
    /// H→R: start RAK initialisation with the quoting enclave's target info.
    case runtimeCapabilityTEERakInitRequest(RuntimeCapabilityTEERakInitRequest)
    /// R→H answer to the RAK init request.
    case runtimeCapabilityTEERakInitResponse
    /// H→R: ask for the RAK and its SGX report.
    case runtimeCapabilityTEERakReportRequest
    /// R→H: the RAK and its report.
    case runtimeCapabilityTEERakReportResponse(RuntimeCapabilityTEERakReportResponse)
    /// H→R: hand over the attestation verification report.
    case runtimeCapabilityTEERakAvrRequest(RuntimeCapabilityTEERakAvrRequest)
    /// R→H answer to the AVR request.
    case runtimeCapabilityTEERakAvrResponse
    /// H→R: an EnclaveRPC frame.
    case runtimeRPCCallRequest(RuntimeRPCCallRequest)
    /// R→H: the EnclaveRPC answer.
    case runtimeRPCCallResponse(RuntimeRPCCallResponse)
    /// H→R: a local RPC call.
    case runtimeLocalRPCCallRequest(RuntimeLocalRPCCallRequest)
    /// R→H: the local RPC answer.
    case runtimeLocalRPCCallResponse(RuntimeLocalRPCCallResponse)
    /// H→R: check a batch of transactions.
    case runtimeCheckTxBatchRequest(RuntimeCheckTxBatchRequest)
    /// R→H: one check result per transaction.
    case runtimeCheckTxBatchResponse(RuntimeCheckTxBatchResponse)
    /// H→R: execute a batch.
    case runtimeExecuteTxBatchRequest(RuntimeExecuteTxBatchRequest)
    /// R→H: the computed batch.
    case runtimeExecuteTxBatchResponse(RuntimeExecuteTxBatchResponse)
    /// H→R: abort the batch in progress.
    case runtimeAbortRequest
    /// R→H answer to the abort request.
    case runtimeAbortResponse
    /// H→R: a new signed key-manager policy.
    case runtimeKeyManagerPolicyUpdateRequest(RuntimeKeyManagerPolicyUpdateRequest)
    /// R→H answer to the policy update.
    case runtimeKeyManagerPolicyUpdateResponse
    /// H→R: a read-only query.
    case runtimeQueryRequest(RuntimeQueryRequest)
    /// R→H: the query result.
    case runtimeQueryResponse(RuntimeQueryResponse)
    /// R→H: forward an RPC to an endpoint (the key manager).
    case hostRPCCallRequest(HostRPCCallRequest)
    /// H→R: the forwarded RPC's answer.
    case hostRPCCallResponse(HostRPCCallResponse)
    /// R→H: a state read through the host's read-syncer.
    case hostStorageSyncRequest(HostStorageSyncRequest)
    /// H→R: the proof answering a sync read.
    case hostStorageSyncResponse(HostStorageSyncResponse)
    /// R→H: read a local-storage key.
    case hostLocalStorageGetRequest(HostLocalStorageGetRequest)
    /// H→R: the local-storage value.
    case hostLocalStorageGetResponse(HostLocalStorageGetResponse)
    /// R→H: write a local-storage key.
    case hostLocalStorageSetRequest(HostLocalStorageSetRequest)
    /// H→R answer to the local-storage write.
    case hostLocalStorageSetResponse
}

extension Body {
    /// The variant names, in the declaration order of v21.1's Go `Body` (which is also the
    /// order its `Type()` reports them in). The raw value is the wire key and the metrics label.
    public enum Kind: String, CaseIterable, CodingKey, Hashable, Sendable, CustomStringConvertible {
        case empty = "Empty"
        case error = "Error"
        case runtimeInfoRequest = "RuntimeInfoRequest"
        case runtimeInfoResponse = "RuntimeInfoResponse"
        case runtimePingRequest = "RuntimePingRequest"
        case runtimeShutdownRequest = "RuntimeShutdownRequest"
        case runtimeCapabilityTEERakInitRequest = "RuntimeCapabilityTEERakInitRequest"
        case runtimeCapabilityTEERakInitResponse = "RuntimeCapabilityTEERakInitResponse"
        case runtimeCapabilityTEERakReportRequest = "RuntimeCapabilityTEERakReportRequest"
        case runtimeCapabilityTEERakReportResponse = "RuntimeCapabilityTEERakReportResponse"
        case runtimeCapabilityTEERakAvrRequest = "RuntimeCapabilityTEERakAvrRequest"
        case runtimeCapabilityTEERakAvrResponse = "RuntimeCapabilityTEERakAvrResponse"
        case runtimeRPCCallRequest = "RuntimeRPCCallRequest"
        case runtimeRPCCallResponse = "RuntimeRPCCallResponse"
        case runtimeLocalRPCCallRequest = "RuntimeLocalRPCCallRequest"
        case runtimeLocalRPCCallResponse = "RuntimeLocalRPCCallResponse"
        case runtimeCheckTxBatchRequest = "RuntimeCheckTxBatchRequest"
        case runtimeCheckTxBatchResponse = "RuntimeCheckTxBatchResponse"
        case runtimeExecuteTxBatchRequest = "RuntimeExecuteTxBatchRequest"
        case runtimeExecuteTxBatchResponse = "RuntimeExecuteTxBatchResponse"
        case runtimeAbortRequest = "RuntimeAbortRequest"
        case runtimeAbortResponse = "RuntimeAbortResponse"
        case runtimeKeyManagerPolicyUpdateRequest = "RuntimeKeyManagerPolicyUpdateRequest"
        case runtimeKeyManagerPolicyUpdateResponse = "RuntimeKeyManagerPolicyUpdateResponse"
        case runtimeQueryRequest = "RuntimeQueryRequest"
        case runtimeQueryResponse = "RuntimeQueryResponse"
        case hostRPCCallRequest = "HostRPCCallRequest"
        case hostRPCCallResponse = "HostRPCCallResponse"
        case hostStorageSyncRequest = "HostStorageSyncRequest"
        case hostStorageSyncResponse = "HostStorageSyncResponse"
        case hostLocalStorageGetRequest = "HostLocalStorageGetRequest"
        case hostLocalStorageGetResponse = "HostLocalStorageGetResponse"
        case hostLocalStorageSetRequest = "HostLocalStorageSetRequest"
        case hostLocalStorageSetResponse = "HostLocalStorageSetResponse"

        public var description: String { rawValue }
    }

    /// Which variant this is.
    public var kind: Kind {
        switch self {
        case .empty: .empty
        case .error: .error
        case .runtimeInfoRequest: .runtimeInfoRequest
        case .runtimeInfoResponse: .runtimeInfoResponse
        case .runtimePingRequest: .runtimePingRequest
        case .runtimeShutdownRequest: .runtimeShutdownRequest
        case .runtimeCapabilityTEERakInitRequest: .runtimeCapabilityTEERakInitRequest
        case .runtimeCapabilityTEERakInitResponse: .runtimeCapabilityTEERakInitResponse
        case .runtimeCapabilityTEERakReportRequest: .runtimeCapabilityTEERakReportRequest
        case .runtimeCapabilityTEERakReportResponse: .runtimeCapabilityTEERakReportResponse
        case .runtimeCapabilityTEERakAvrRequest: .runtimeCapabilityTEERakAvrRequest
        case .runtimeCapabilityTEERakAvrResponse: .runtimeCapabilityTEERakAvrResponse
        case .runtimeRPCCallRequest: .runtimeRPCCallRequest
        case .runtimeRPCCallResponse: .runtimeRPCCallResponse
        case .runtimeLocalRPCCallRequest: .runtimeLocalRPCCallRequest
        case .runtimeLocalRPCCallResponse: .runtimeLocalRPCCallResponse
        case .runtimeCheckTxBatchRequest: .runtimeCheckTxBatchRequest
        case .runtimeCheckTxBatchResponse: .runtimeCheckTxBatchResponse
        case .runtimeExecuteTxBatchRequest: .runtimeExecuteTxBatchRequest
        case .runtimeExecuteTxBatchResponse: .runtimeExecuteTxBatchResponse
        case .runtimeAbortRequest: .runtimeAbortRequest
        case .runtimeAbortResponse: .runtimeAbortResponse
        case .runtimeKeyManagerPolicyUpdateRequest: .runtimeKeyManagerPolicyUpdateRequest
        case .runtimeKeyManagerPolicyUpdateResponse: .runtimeKeyManagerPolicyUpdateResponse
        case .runtimeQueryRequest: .runtimeQueryRequest
        case .runtimeQueryResponse: .runtimeQueryResponse
        case .hostRPCCallRequest: .hostRPCCallRequest
        case .hostRPCCallResponse: .hostRPCCallResponse
        case .hostStorageSyncRequest: .hostStorageSyncRequest
        case .hostStorageSyncResponse: .hostStorageSyncResponse
        case .hostLocalStorageGetRequest: .hostLocalStorageGetRequest
        case .hostLocalStorageGetResponse: .hostLocalStorageGetResponse
        case .hostLocalStorageSetRequest: .hostLocalStorageSetRequest
        case .hostLocalStorageSetResponse: .hostLocalStorageSetResponse
        }
    }
}

/// The payload of variants that carry none: the empty map, and only the empty map.
private struct EmptyPayload: Codable {
    /// A key type no key converts to.
    private struct CodingKeys: CodingKey {
        var stringValue: String { "" }
        var intValue: Int? { nil }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { nil }
    }

    init() {}

    init(from decoder: any Decoder) throws {
        // Any key is an unknown field under strict decoding; `null` or a non-map is a mismatch.
        _ = try decoder.container(keyedBy: CodingKeys.self)
    }

    func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: CodingKeys.self)
    }
}

extension Body: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Kind.self)
        let keys = c.allKeys
        guard keys.count == 1, let kind = keys.first else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "a body has exactly one variant key, found \(keys.count)"
                    + (keys.isEmpty ? "" : " (\(keys.map(\.rawValue).joined(separator: ", ")))")))
        }
        // Where unknown fields are allowed, `allKeys` leaves them out; a body still has one key.
        if let pairs = decoder.cborMapPairCount, pairs != 1 {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "a body has exactly one variant key, found \(pairs) (\(kind.rawValue) and unknown ones)"))
        }
        switch kind {
        case .empty:
            _ = try c.decode(EmptyPayload.self, forKey: kind)
            self = .empty
        case .error: self = .error(try c.decode(ErrorBody.self, forKey: kind))
        case .runtimeInfoRequest: self = .runtimeInfoRequest(try c.decode(RuntimeInfoRequest.self, forKey: kind))
        case .runtimeInfoResponse: self = .runtimeInfoResponse(try c.decode(RuntimeInfoResponse.self, forKey: kind))
        case .runtimePingRequest:
            _ = try c.decode(EmptyPayload.self, forKey: kind)
            self = .runtimePingRequest
        case .runtimeShutdownRequest:
            _ = try c.decode(EmptyPayload.self, forKey: kind)
            self = .runtimeShutdownRequest
        case .runtimeCapabilityTEERakInitRequest: self = .runtimeCapabilityTEERakInitRequest(try c.decode(RuntimeCapabilityTEERakInitRequest.self, forKey: kind))
        case .runtimeCapabilityTEERakInitResponse:
            _ = try c.decode(EmptyPayload.self, forKey: kind)
            self = .runtimeCapabilityTEERakInitResponse
        case .runtimeCapabilityTEERakReportRequest:
            _ = try c.decode(EmptyPayload.self, forKey: kind)
            self = .runtimeCapabilityTEERakReportRequest
        case .runtimeCapabilityTEERakReportResponse: self = .runtimeCapabilityTEERakReportResponse(try c.decode(RuntimeCapabilityTEERakReportResponse.self, forKey: kind))
        case .runtimeCapabilityTEERakAvrRequest: self = .runtimeCapabilityTEERakAvrRequest(try c.decode(RuntimeCapabilityTEERakAvrRequest.self, forKey: kind))
        case .runtimeCapabilityTEERakAvrResponse:
            _ = try c.decode(EmptyPayload.self, forKey: kind)
            self = .runtimeCapabilityTEERakAvrResponse
        case .runtimeRPCCallRequest: self = .runtimeRPCCallRequest(try c.decode(RuntimeRPCCallRequest.self, forKey: kind))
        case .runtimeRPCCallResponse: self = .runtimeRPCCallResponse(try c.decode(RuntimeRPCCallResponse.self, forKey: kind))
        case .runtimeLocalRPCCallRequest: self = .runtimeLocalRPCCallRequest(try c.decode(RuntimeLocalRPCCallRequest.self, forKey: kind))
        case .runtimeLocalRPCCallResponse: self = .runtimeLocalRPCCallResponse(try c.decode(RuntimeLocalRPCCallResponse.self, forKey: kind))
        case .runtimeCheckTxBatchRequest: self = .runtimeCheckTxBatchRequest(try c.decode(RuntimeCheckTxBatchRequest.self, forKey: kind))
        case .runtimeCheckTxBatchResponse: self = .runtimeCheckTxBatchResponse(try c.decode(RuntimeCheckTxBatchResponse.self, forKey: kind))
        case .runtimeExecuteTxBatchRequest: self = .runtimeExecuteTxBatchRequest(try c.decode(RuntimeExecuteTxBatchRequest.self, forKey: kind))
        case .runtimeExecuteTxBatchResponse: self = .runtimeExecuteTxBatchResponse(try c.decode(RuntimeExecuteTxBatchResponse.self, forKey: kind))
        case .runtimeAbortRequest:
            _ = try c.decode(EmptyPayload.self, forKey: kind)
            self = .runtimeAbortRequest
        case .runtimeAbortResponse:
            _ = try c.decode(EmptyPayload.self, forKey: kind)
            self = .runtimeAbortResponse
        case .runtimeKeyManagerPolicyUpdateRequest: self = .runtimeKeyManagerPolicyUpdateRequest(try c.decode(RuntimeKeyManagerPolicyUpdateRequest.self, forKey: kind))
        case .runtimeKeyManagerPolicyUpdateResponse:
            _ = try c.decode(EmptyPayload.self, forKey: kind)
            self = .runtimeKeyManagerPolicyUpdateResponse
        case .runtimeQueryRequest: self = .runtimeQueryRequest(try c.decode(RuntimeQueryRequest.self, forKey: kind))
        case .runtimeQueryResponse: self = .runtimeQueryResponse(try c.decode(RuntimeQueryResponse.self, forKey: kind))
        case .hostRPCCallRequest: self = .hostRPCCallRequest(try c.decode(HostRPCCallRequest.self, forKey: kind))
        case .hostRPCCallResponse: self = .hostRPCCallResponse(try c.decode(HostRPCCallResponse.self, forKey: kind))
        case .hostStorageSyncRequest: self = .hostStorageSyncRequest(try c.decode(HostStorageSyncRequest.self, forKey: kind))
        case .hostStorageSyncResponse: self = .hostStorageSyncResponse(try c.decode(HostStorageSyncResponse.self, forKey: kind))
        case .hostLocalStorageGetRequest: self = .hostLocalStorageGetRequest(try c.decode(HostLocalStorageGetRequest.self, forKey: kind))
        case .hostLocalStorageGetResponse: self = .hostLocalStorageGetResponse(try c.decode(HostLocalStorageGetResponse.self, forKey: kind))
        case .hostLocalStorageSetRequest: self = .hostLocalStorageSetRequest(try c.decode(HostLocalStorageSetRequest.self, forKey: kind))
        case .hostLocalStorageSetResponse:
            _ = try c.decode(EmptyPayload.self, forKey: kind)
            self = .hostLocalStorageSetResponse
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Kind.self)
        switch self {
        case .empty, .runtimePingRequest, .runtimeShutdownRequest, .runtimeCapabilityTEERakInitResponse, .runtimeCapabilityTEERakReportRequest, .runtimeCapabilityTEERakAvrResponse, .runtimeAbortRequest, .runtimeAbortResponse, .runtimeKeyManagerPolicyUpdateResponse, .hostLocalStorageSetResponse:
            try c.encode(EmptyPayload(), forKey: kind)
        case .error(let payload): try c.encode(payload, forKey: .error)
        case .runtimeInfoRequest(let payload): try c.encode(payload, forKey: .runtimeInfoRequest)
        case .runtimeInfoResponse(let payload): try c.encode(payload, forKey: .runtimeInfoResponse)
        case .runtimeCapabilityTEERakInitRequest(let payload): try c.encode(payload, forKey: .runtimeCapabilityTEERakInitRequest)
        case .runtimeCapabilityTEERakReportResponse(let payload): try c.encode(payload, forKey: .runtimeCapabilityTEERakReportResponse)
        case .runtimeCapabilityTEERakAvrRequest(let payload): try c.encode(payload, forKey: .runtimeCapabilityTEERakAvrRequest)
        case .runtimeRPCCallRequest(let payload): try c.encode(payload, forKey: .runtimeRPCCallRequest)
        case .runtimeRPCCallResponse(let payload): try c.encode(payload, forKey: .runtimeRPCCallResponse)
        case .runtimeLocalRPCCallRequest(let payload): try c.encode(payload, forKey: .runtimeLocalRPCCallRequest)
        case .runtimeLocalRPCCallResponse(let payload): try c.encode(payload, forKey: .runtimeLocalRPCCallResponse)
        case .runtimeCheckTxBatchRequest(let payload): try c.encode(payload, forKey: .runtimeCheckTxBatchRequest)
        case .runtimeCheckTxBatchResponse(let payload): try c.encode(payload, forKey: .runtimeCheckTxBatchResponse)
        case .runtimeExecuteTxBatchRequest(let payload): try c.encode(payload, forKey: .runtimeExecuteTxBatchRequest)
        case .runtimeExecuteTxBatchResponse(let payload): try c.encode(payload, forKey: .runtimeExecuteTxBatchResponse)
        case .runtimeKeyManagerPolicyUpdateRequest(let payload): try c.encode(payload, forKey: .runtimeKeyManagerPolicyUpdateRequest)
        case .runtimeQueryRequest(let payload): try c.encode(payload, forKey: .runtimeQueryRequest)
        case .runtimeQueryResponse(let payload): try c.encode(payload, forKey: .runtimeQueryResponse)
        case .hostRPCCallRequest(let payload): try c.encode(payload, forKey: .hostRPCCallRequest)
        case .hostRPCCallResponse(let payload): try c.encode(payload, forKey: .hostRPCCallResponse)
        case .hostStorageSyncRequest(let payload): try c.encode(payload, forKey: .hostStorageSyncRequest)
        case .hostStorageSyncResponse(let payload): try c.encode(payload, forKey: .hostStorageSyncResponse)
        case .hostLocalStorageGetRequest(let payload): try c.encode(payload, forKey: .hostLocalStorageGetRequest)
        case .hostLocalStorageGetResponse(let payload): try c.encode(payload, forKey: .hostLocalStorageGetResponse)
        case .hostLocalStorageSetRequest(let payload): try c.encode(payload, forKey: .hostLocalStorageSetRequest)
        }
    }
}

extension Body.Kind {
    /// The position in ``allCases`` (declaration order), for array lookups on the hot path
    /// instead of hashing the name. A payload-free enum's value is its declaration index; a
    /// test pins this.
    var ordinal: Int { Int(unsafeBitCast(self, to: UInt8.self)) }
}
