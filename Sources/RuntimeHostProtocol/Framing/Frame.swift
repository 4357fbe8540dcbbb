public import NIOCore
import OasisCBOR

/// RHP framing (host.md §3.2): a 4-byte big-endian length N, then exactly N bytes holding one
/// canonical CBOR `Message`.
public enum Frame {
    /// The largest payload either side accepts: 16 MiB. A payload of exactly this size is fine.
    public static let maxPayloadSize = 16 * 1024 * 1024
    /// Size of the length prefix.
    public static let headerSize = 4

    /// The payload bytes of `message` (no length prefix), refusing anything over the limit.
    public static func payload(of message: Message) throws(FrameError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try EnvelopeCodec.encode(message)
        } catch {
            throw .encodingFailed("\(error)")
        }
        guard bytes.count <= maxPayloadSize else { throw .messageTooLarge(bytes.count) }
        return bytes
    }

    /// A whole frame, prefix and payload in one buffer, so it goes out in one write.
    public static func encode(_ message: Message, allocator: ByteBufferAllocator) throws(FrameError) -> ByteBuffer {
        let bytes = try payload(of: message)
        var buffer = allocator.buffer(capacity: headerSize + bytes.count)
        buffer.writeInteger(UInt32(bytes.count), endianness: .big)
        buffer.writeBytes(bytes)
        return buffer
    }

    /// Decodes one frame's payload (exactly one CBOR item, nothing after it).
    public static func decodePayload(_ bytes: [UInt8]) throws(FrameError) -> Message {
        let value: CBORValue
        do {
            value = try CBORValue(decoding: bytes, options: .strict)
        } catch {
            if error.kind == .trailingBytes { throw .trailingBytes(error.description) }
            throw .decodingFailed(error.description)
        }
        if let message = EnvelopeCodec.decode(value) { return message }
        do {
            return try CBORDecoder(options: .strict).decode(Message.self, from: value)
        } catch {
            throw .decodingFailed("\(error)")
        }
    }
}

/// Why a frame could not be written or read. Any read failure ends the connection.
public enum FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The payload is over ``Frame/maxPayloadSize`` (the size it has or announces).
    case messageTooLarge(Int)
    /// Bytes follow the CBOR item inside the frame.
    case trailingBytes(String)
    /// The payload is not a well-formed `Message`.
    case decodingFailed(String)
    /// The stream ended inside a frame: `received` of `expected` bytes (prefix included).
    case truncated(received: Int, expected: Int)
    /// The message could not be encoded.
    case encodingFailed(String)

    public var description: String {
        switch self {
        case .messageTooLarge(let size):
            "codec: message too large (\(size) bytes, at most \(Frame.maxPayloadSize))"
        case .trailingBytes(let detail):
            "codec: message is malformed: \(detail)"
        case .decodingFailed(let detail):
            "codec: message is malformed: \(detail)"
        case .truncated(let received, let expected):
            "codec: stream ended inside a frame (\(received) of \(expected) bytes)"
        case .encodingFailed(let detail):
            "codec: cannot encode message: \(detail)"
        }
    }
}
