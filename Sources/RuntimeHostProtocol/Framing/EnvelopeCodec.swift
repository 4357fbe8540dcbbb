import OasisCBOR

/// A direct encoder and decoder for the `Message` envelope, so the hot path (pings, empty
/// answers, the envelope of every message) skips the generic `Codable` machinery.
///
/// Both produce exactly what the `Codable` path produces: the envelope's canonical key order is
/// fixed (`id`, `body`, `message_type`, `span_context`: length first, then bytewise), and bodies
/// without a payload are `{"<Variant>": {}}`. Anything the decoder does not recognise as a
/// plain, well-formed envelope is left to the `Codable` path, which produces the detailed
/// error; so strictness and error texts are the same either way. Tests compare both paths.
enum EnvelopeCodec {
    /// The canonical encoding of `message`.
    static func encode(_ message: Message) throws -> [UInt8] {
        let body = try encodeBody(message.body)
        var out: [UInt8] = []
        out.reserveCapacity(body.count + message.spanContext.count + 48)
        out.append(0xa4)  // map of 4
        writeText("id", into: &out)
        writeHead(0, message.id, into: &out)
        writeText("body", into: &out)
        out.append(contentsOf: body)
        writeText("message_type", into: &out)
        writeHead(0, UInt64(message.type.rawValue), into: &out)
        writeText("span_context", into: &out)
        writeHead(2, UInt64(message.spanContext.count), into: &out)
        out.append(contentsOf: message.spanContext)
        return out
    }

    /// The canonical encoding of a body: direct for variants without a payload.
    static func encodeBody(_ body: Body) throws -> [UInt8] {
        if body.hasNoPayload {
            var out: [UInt8] = [0xa1]
            writeText(body.kind.rawValue, into: &out)
            out.append(0xa0)
            return out
        }
        return try CBOREncoder().encode(body)
    }

    /// The message in `value` if it is a plain envelope; `nil` sends the caller to the
    /// `Codable` path (which also reports what is wrong, when something is).
    static func decode(_ value: CBORValue) -> Message? {
        guard case .map(let entries) = value, entries.count == 4 else { return nil }
        var id: UInt64?
        var type: UInt8?
        var body: Body?
        var spanContext: [UInt8]?
        for entry in entries {
            guard case .textString(let key) = entry.key else { return nil }
            switch key {
            case "id":
                guard case .unsignedInt(let value) = entry.value else { return nil }
                id = value
            case "message_type":
                guard case .unsignedInt(let value) = entry.value, let small = UInt8(exactly: value) else { return nil }
                type = small
            case "span_context":
                guard case .byteString(let bytes) = entry.value else { return nil }
                spanContext = bytes
            case "body":
                guard let decoded = decodeBody(entry.value) else { return nil }
                body = decoded
            default:
                return nil
            }
        }
        guard let id, let type, let body, let spanContext else { return nil }
        return Message(id: id, type: MessageType(rawValue: type), body: body, spanContext: spanContext)
    }

    /// A body: direct for `{"<Variant>": {}}` of a variant without a payload, else `Codable`.
    private static func decodeBody(_ value: CBORValue) -> Body? {
        if case .map(let entries) = value, entries.count == 1, case .textString(let name) = entries[0].key,
            case .map(let payload) = entries[0].value, payload.isEmpty, let kind = Body.Kind(rawValue: name),
            let body = Body(noPayload: kind)
        {
            return body
        }
        return try? CBORDecoder(options: .strict).decode(Body.self, from: value)
    }

    private static func writeHead(_ major: UInt8, _ value: UInt64, into out: inout [UInt8]) {
        let m = major << 5
        switch value {
        case 0..<24:
            out.append(m | UInt8(value))
        case 24...0xff:
            out.append(m | 24)
            out.append(UInt8(value))
        case 0x100...0xffff:
            out.append(m | 25)
            out.append(UInt8(value >> 8))
            out.append(UInt8(value & 0xff))
        case 0x1_0000...0xffff_ffff:
            out.append(m | 26)
            for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        default:
            out.append(m | 27)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
    }

    private static func writeText(_ text: String, into out: inout [UInt8]) {
        let utf8 = text.utf8
        writeHead(3, UInt64(utf8.count), into: &out)
        out.append(contentsOf: utf8)
    }
}

extension Body {
    /// Whether this variant's payload is the empty map.
    var hasNoPayload: Bool { Body(noPayload: kind) != nil }

    /// The variant of `kind` if it carries no payload.
    init?(noPayload kind: Kind) {
        switch kind {
        case .empty: self = .empty
        case .runtimePingRequest: self = .runtimePingRequest
        case .runtimeShutdownRequest: self = .runtimeShutdownRequest
        case .runtimeCapabilityTEERakInitResponse: self = .runtimeCapabilityTEERakInitResponse
        case .runtimeCapabilityTEERakReportRequest: self = .runtimeCapabilityTEERakReportRequest
        case .runtimeCapabilityTEERakAvrResponse: self = .runtimeCapabilityTEERakAvrResponse
        case .runtimeAbortRequest: self = .runtimeAbortRequest
        case .runtimeAbortResponse: self = .runtimeAbortResponse
        case .runtimeKeyManagerPolicyUpdateResponse: self = .runtimeKeyManagerPolicyUpdateResponse
        case .hostLocalStorageSetResponse: self = .hostLocalStorageSetResponse
        default: return nil
        }
    }
}
