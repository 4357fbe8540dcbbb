import ConsensusAPI
import OasisCBOR

// Direct CBOR writers for the bodies on the hot path with a payload (queries, check-tx batches
// and error answers), so that they skip the generic `Codable` encoder. Each writes exactly what `CBOREncoder` writes for the
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
        case .runtimeCheckTxBatchRequest(let check):
            var writer = CBORWriter(capacity: 512 + check.inputs.reduce(0) { $0 + $1.count + 9 })
            writer.writeHead(5, 1)
            writer.writeText(Kind.runtimeCheckTxBatchRequest.rawValue)
            writer.writeHead(5, 3)
            writer.writeText("block")
            check.block.writeCBOR(into: &writer)
            writer.writeText("inputs")
            writer.writeHead(4, UInt64(check.inputs.count))
            for input in check.inputs { writer.writeBytes(input) }
            writer.writeText("consensus_block")
            check.consensusBlock.writeCBOR(into: &writer)
            return writer.bytes
        case .runtimeCheckTxBatchResponse(let response):
            var writer = CBORWriter(capacity: 32 + 16 * response.results.count)
            writer.writeHead(5, 1)
            writer.writeText(Kind.runtimeCheckTxBatchResponse.rawValue)
            writer.writeHead(5, 1)
            writer.writeText("results")
            writer.writeHead(4, UInt64(response.results.count))
            for result in response.results { try result.writeCBOR(into: &writer) }
            return writer.bytes
        case .error(let error):
            var writer = CBORWriter(capacity: 32 + error.module.utf8.count + error.message.utf8.count)
            writer.writeHead(5, 1)
            writer.writeText(Kind.error.rawValue)
            error.writeCBOR(into: &writer)
            return writer.bytes
        default:
            return nil
        }
    }
}

extension CheckTxResult {
    /// Appends `{meta?, error}` (meta left out when absent) to `writer`.
    func writeCBOR(into writer: inout CBORWriter) throws {
        guard let meta else {
            writer.writeHead(5, 1)
            writer.writeText("error")
            error.writeCBOR(into: &writer)
            return
        }
        writer.writeHead(5, 2)
        writer.writeText("meta")
        try writer.write(meta)
        writer.writeText("error")
        error.writeCBOR(into: &writer)
    }
}

extension ErrorBody {
    /// Appends `{code, module, message}`, each left out when empty (`omitempty`), to `writer`.
    func writeCBOR(into writer: inout CBORWriter) {
        let fields = (code != 0 ? 1 : 0) + (module.isEmpty ? 0 : 1) + (message.isEmpty ? 0 : 1)
        writer.writeHead(5, UInt64(fields))
        if code != 0 {
            writer.writeText("code")
            writer.writeHead(0, UInt64(code))
        }
        if !module.isEmpty {
            writer.writeText("module")
            writer.writeText(module)
        }
        if !message.isEmpty {
            writer.writeText("message")
            writer.writeText(message)
        }
    }
}
