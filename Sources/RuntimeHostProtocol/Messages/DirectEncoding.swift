import ConsensusAPI
import OasisCBOR

// Direct CBOR writers for the bodies on the hot path with a payload (queries), so that they
// skip the generic `Codable` encoder. Each writes exactly what `CBOREncoder` writes for the
// body (`{"<Variant>": payload}`, keys in canonical order); tests compare the two.

extension Body {
    /// The body's canonical CBOR when it has a direct writer; `nil` for the others.
    func directPayload() throws -> [UInt8]? {
        switch self {
        case .runtimeQueryRequest(let query):
            var writer = CBORWriter(capacity: 512 + query.method.utf8.count)
            writer.writeHead(5, 1)
            writer.writeText(Kind.runtimeQueryRequest.rawValue)
            writer.writeHead(5, 3)
            writer.writeText("args")
            try writer.write(query.args)
            writer.writeText("header")
            query.header.writeCBOR(into: &writer)
            writer.writeText("method")
            writer.writeText(query.method)
            return writer.bytes
        case .runtimeQueryResponse(let response):
            var writer = CBORWriter(capacity: 64)
            writer.writeHead(5, 1)
            writer.writeText(Kind.runtimeQueryResponse.rawValue)
            guard let data = response.data else {
                writer.writeHead(5, 0)
                return writer.bytes
            }
            writer.writeHead(5, 1)
            writer.writeText("data")
            try writer.write(data)
            return writer.bytes
        default:
            return nil
        }
    }
}
