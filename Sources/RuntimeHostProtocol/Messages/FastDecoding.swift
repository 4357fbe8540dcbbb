public import OasisCBOR
import ConsensusAPI

// The fast decoding path (see `CBORFastDecodable`) for the envelope and the bodies on the hot
// path: payload-free bodies, queries, check-tx batches and error answers. Each mirrors its `init(from:)`; a body without a fast
// path throws, and the decoder then takes the Codable path for the whole message, which also
// gives every error its Codable wording.

/// A body variant that has no fast path: the Codable path decodes the message.
struct NoFastPath: Error {}

extension Message: CBORFastDecodable {
    /// Reads the envelope without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        var id: UInt64 = 0
        var type = MessageType.invalid
        var body: Body?
        var spanContext: [UInt8] = []
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "id": id = try reader.decodeField() ?? 0
            case "message_type": type = try reader.decodeField(UInt8.self).map(MessageType.init(rawValue:)) ?? .invalid
            case "body": body = try Body(fastCBOR: &reader)
            case "span_context": spanContext = try reader.decodeField([UInt8].self) ?? []
            default: try reader.unknownField()
            }
        }
        guard let body else { throw NoFastPath() }  // required: the Codable path names the missing key
        self.init(id: id, type: type, body: body, spanContext: spanContext)
    }
}

extension Body {
    /// Reads a body whose variant has a fast path; throws ``NoFastPath`` for the others.
    init(fastCBOR reader: inout CBORFastReader) throws {
        guard try reader.decodeMapCount() == 1 else { throw NoFastPath() }
        let name = reader.decodeFieldName()
        guard let kind = Body.Kind(fieldName: name) else { throw NoFastPath() }
        if let body = Body(noPayload: kind) {
            try reader.decodeMapWithoutFields()
            self = body
            return
        }
        switch kind {
        case .runtimeQueryRequest: self = .runtimeQueryRequest(try reader.decode())
        case .runtimeQueryResponse: self = .runtimeQueryResponse(try reader.decode())
        case .runtimeCheckTxBatchRequest: self = .runtimeCheckTxBatchRequest(try reader.decode())
        case .runtimeCheckTxBatchResponse: self = .runtimeCheckTxBatchResponse(try reader.decode())
        case .error: self = .error(try reader.decode())
        default: throw NoFastPath()
        }
    }
}

extension Body.Kind {
    /// The variant a body's key names, matched as bytes.
    init?(fieldName: CBORFieldName) {
        guard let match = Body.Kind.utf8Names.first(where: { fieldName.isText($0.name) }) else { return nil }
        self = match.kind
    }

    /// Every variant with its key as UTF-8.
    private static let utf8Names: [(name: [UInt8], kind: Body.Kind)] = allCases.map { (Array($0.rawValue.utf8), $0) }
}

extension RuntimeQueryRequest: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init(method: "")
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "method": method = try reader.decodeField() ?? ""
            case "header": header = try reader.decodeField() ?? BlockHeader()
            case "args": args = try reader.decode(CBORValue.self)
            default: try reader.unknownField()
            }
        }
    }
}

extension RuntimeQueryResponse: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "data": data = try reader.decode(CBORValue.self)
            default: try reader.unknownField()
            }
        }
    }
}

extension RuntimeCheckTxBatchRequest: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "consensus_block": consensusBlock = try reader.decodeField() ?? LightBlock()
            case "inputs": inputs = try reader.decodeField() ?? []
            case "block": block = try reader.decodeField() ?? Block()
            default: try reader.unknownField()
            }
        }
    }
}

extension RuntimeCheckTxBatchResponse: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "results": results = try reader.decodeField() ?? []
            default: try reader.unknownField()
            }
        }
    }
}

extension CheckTxResult: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "error": error = try reader.decodeField() ?? ErrorBody()
            case "meta": meta = try reader.decode(CBORValue.self)
            default: try reader.unknownField()
            }
        }
    }
}

extension ErrorBody: CBORFastDecodable {
    /// Reads the CBOR form without Codable; accepts and yields what `init(from:)` does.
    public init(cbor reader: inout CBORFastReader) throws {
        self.init()
        for _ in 0..<(try reader.decodeMapCount()) {
            switch reader.decodeFieldName() {
            case "module": module = try reader.decodeField() ?? ""
            case "code": code = try reader.decodeField() ?? 0
            case "message": message = try reader.decodeField() ?? ""
            default: try reader.unknownField()
            }
        }
    }
}
