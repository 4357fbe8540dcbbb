import NIOCore
import OasisCBOR

/// A direct encoder for the `Message` envelope and a direct decoder for payload-free messages,
/// so the hot path (pings, empty answers, the envelope of every message) skips the generic
/// `Codable` machinery.
///
/// Both produce exactly what the `Codable` path produces: the envelope's canonical key order is
/// fixed (`id`, `body`, `message_type`, `span_context`: length first, then bytewise), and bodies
/// without a payload are `{"<Variant>": {}}`. Anything the decoder does not recognise as a
/// canonical payload-free envelope is left to the `Codable` path, which produces the detailed
/// error; so strictness and error texts are the same either way. Tests compare both paths.
enum EnvelopeCodec {
    /// Appends the canonical encoding of `message` to `out`, in one write of raw bytes into the
    /// buffer (bodies with a payload are encoded first, by their direct writer or by the
    /// `Codable` path, and copied in).
    static func write(_ message: Message, into out: inout ByteBuffer) throws {
        let payload: [UInt8]? =
            message.body.hasNoPayload ? nil : try message.body.directPayload() ?? CBOREncoder().encode(message.body)
        var name = message.body.kind.rawValue
        let spanContext = message.spanContext
        // Fixed keys (35 bytes), three heads of at most 9 bytes, the body, the span context.
        let bodySize = payload?.count ?? (name.utf8.count + 11)
        let capacity = 35 + 27 + 1 + bodySize + spanContext.count
        _ = name.withUTF8 { nameBytes in
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { raw in
                var writer = RawWriter(base: raw)
                writer.byte(0xa4)  // map of 4
                writer.text("id")
                writer.head(0, message.id)
                writer.text("body")
                if let payload {
                    payload.withUnsafeBytes { writer.bytes($0) }
                } else {
                    writer.byte(0xa1)
                    writer.head(3, UInt64(nameBytes.count))
                    writer.bytes(UnsafeRawBufferPointer(nameBytes))
                    writer.byte(0xa0)
                }
                writer.text("message_type")
                writer.head(0, UInt64(message.type.rawValue))
                writer.text("span_context")
                writer.head(2, UInt64(spanContext.count))
                spanContext.withUnsafeBytes { writer.bytes($0) }
                return writer.count
            }
        }
    }

    /// The message in `bytes` if it is a canonical envelope whose body has no payload (pings,
    /// empty answers); `nil` for anything else, which the general path then decodes or refuses.
    ///
    /// Reads the bytes in place, in the one key order canonical CBOR allows, with every length
    /// and integer in its shortest form, and nothing after the map: exactly what the strict
    /// general path accepts for such a message, and the same `Message` results.
    static func decodeWithoutPayload(_ bytes: UnsafeRawBufferPointer) -> Message? {
        var cursor = ByteCursor(bytes: bytes)
        guard cursor.take(0xa4), cursor.takeText("id"), let id = cursor.head(major: 0),
            cursor.takeText("body"), cursor.take(0xa1), let nameLength = cursor.head(major: 3),
            let kind = cursor.kind(length: nameLength), cursor.take(0xa0), let body = Body(noPayload: kind),
            cursor.takeText("message_type"), let type = cursor.head(major: 0), let type = UInt8(exactly: type),
            cursor.takeText("span_context"), let spanLength = cursor.head(major: 2),
            let spanContext = cursor.bytes(count: spanLength), cursor.atEnd
        else { return nil }
        return Message(id: id, type: MessageType(rawValue: type), body: body, spanContext: spanContext)
    }

    /// The names of the variants without a payload, as UTF-8, for matching in place.
    fileprivate static let namesWithoutPayload: [(name: [UInt8], kind: Body.Kind)] = Body.Kind.allCases.compactMap {
        Body(noPayload: $0) == nil ? nil : (Array($0.rawValue.utf8), $0)
    }
}

/// Writes canonical CBOR heads and fixed text into raw memory the caller sized.
private struct RawWriter {
    let base: UnsafeMutableRawBufferPointer
    var count = 0

    mutating func byte(_ value: UInt8) {
        base[count] = value
        count += 1
    }

    mutating func bytes(_ source: UnsafeRawBufferPointer) {
        guard let address = source.baseAddress, !source.isEmpty else { return }
        UnsafeMutableRawBufferPointer(rebasing: base[count..<count + source.count]).copyMemory(
            from: UnsafeRawBufferPointer(start: address, count: source.count))
        count += source.count
    }

    /// A short ASCII text string (the envelope's keys).
    mutating func text(_ text: StaticString) {
        byte(0x60 | UInt8(text.utf8CodeUnitCount))
        bytes(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A head of major type `major` with `value` in its shortest form.
    mutating func head(_ major: UInt8, _ value: UInt64) {
        let m = major << 5
        switch value {
        case 0..<24:
            byte(m | UInt8(value))
        case 24...0xff:
            byte(m | 24)
            byte(UInt8(value))
        case 0x100...0xffff:
            byte(m | 25)
            bigEndian(value, size: 2)
        case 0x1_0000...0xffff_ffff:
            byte(m | 26)
            bigEndian(value, size: 4)
        default:
            byte(m | 27)
            bigEndian(value, size: 8)
        }
    }

    private mutating func bigEndian(_ value: UInt64, size: Int) {
        for shift in stride(from: (size - 1) * 8, through: 0, by: -8) { byte(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}

/// Reads canonical CBOR heads and fixed text in place; every method fails (returns `false` or
/// `nil`) rather than accept a non-shortest form.
private struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    var atEnd: Bool { index == bytes.count }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// A text string equal to `text` (short ASCII keys only).
    mutating func takeText(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard count < 24, take(0x60 | UInt8(count)), bytes.count - index >= count else { return false }
        for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return false }
        index += count
        return true
    }

    /// The argument of a head of major type `major`, in its shortest form only.
    mutating func head(major: UInt8) -> UInt64? {
        guard index < bytes.count, bytes[index] >> 5 == major else { return nil }
        let info = bytes[index] & 0x1f
        index += 1
        let size: Int
        let minimum: UInt64
        switch info {
        case 0..<24: return UInt64(info)
        case 24: (size, minimum) = (1, 24)
        case 25: (size, minimum) = (2, 0x100)
        case 26: (size, minimum) = (4, 0x1_0000)
        case 27: (size, minimum) = (8, 0x1_0000_0000)
        default: return nil
        }
        guard bytes.count - index >= size else { return nil }
        var value: UInt64 = 0
        for offset in 0..<size { value = value << 8 | UInt64(bytes[index + offset]) }
        index += size
        return value >= minimum ? value : nil
    }

    /// The variant without a payload whose name is the next `length` bytes.
    mutating func kind(length: UInt64) -> Body.Kind? {
        guard length <= UInt64(bytes.count - index) else { return nil }
        let name = UnsafeRawBufferPointer(rebasing: bytes[index..<index + Int(length)])
        guard let match = EnvelopeCodec.namesWithoutPayload.first(where: { $0.name.elementsEqual(name) }) else {
            return nil
        }
        index += Int(length)
        return match.kind
    }

    mutating func bytes(count: UInt64) -> [UInt8]? {
        guard count <= UInt64(bytes.count - index) else { return nil }
        let slice = [UInt8](bytes[index..<index + Int(count)])
        index += Int(count)
        return slice
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
