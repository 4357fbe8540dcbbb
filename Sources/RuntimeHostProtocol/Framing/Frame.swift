public import NIOCore
public import OasisCBOR

/// RHP framing (host.md §3.2): a 4-byte big-endian length N, then exactly N bytes holding one
/// canonical CBOR `Message`.
public enum Frame {
    /// The largest payload either side accepts: 16 MiB. A payload of exactly this size is fine.
    public static let maxPayloadSize = 16 * 1024 * 1024
    /// Size of the length prefix.
    public static let headerSize = 4

    /// The payload bytes of `message` (no length prefix), refusing anything over the limit.
    public static func payload(of message: Message) throws(FrameError) -> [UInt8] {
        Array(try encode(message, allocator: ByteBufferAllocator()).readableBytesView.dropFirst(headerSize))
    }

    /// A whole frame, prefix and payload in one buffer, so it goes out in one write.
    public static func encode(_ message: Message, allocator: ByteBufferAllocator) throws(FrameError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: headerSize + 64 + message.spanContext.count)
        try write(message, into: &buffer)
        return buffer
    }

    /// Appends a whole frame for `message` to `buffer`; on failure `buffer` is left as it was.
    static func write(_ message: Message, into buffer: inout ByteBuffer) throws(FrameError) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))  // the length, filled in below
        do {
            try EnvelopeCodec.write(message, into: &buffer)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw .encodingFailed("\(error)")
        }
        let size = buffer.writerIndex - start - headerSize
        guard size <= maxPayloadSize else {
            buffer.moveWriterIndex(to: start)
            throw .messageTooLarge(size)
        }
        buffer.setInteger(UInt32(size), at: start, endianness: .big)
    }

    /// Decodes one frame's payload (exactly one CBOR item, nothing after it). `options` are the
    /// strict ones unless the reader accepts unknown fields (a runtime: host.md §3.9).
    public static func decodePayload(_ bytes: [UInt8], options: CBORDecoder.Options = .strict) throws(FrameError)
        -> Message
    {
        // One strict pass over the bytes; only a failure takes the slower route below, which
        // names what is wrong (and tells trailing bytes apart).
        if let message = try? CBORDecoder(options: options).decode(Message.self, from: bytes) { return message }
        let value: CBORValue
        do {
            value = try CBORValue(decoding: bytes, options: .strict)
        } catch {
            if error.kind == .trailingBytes { throw .trailingBytes(error.description) }
            throw .decodingFailed(error.description)
        }
        do {
            return try CBORDecoder(options: options).decode(Message.self, from: value)
        } catch {
            throw .decodingFailed("\(error)")
        }
    }

    /// Decodes one frame's payload in place: messages without a payload (pings, empty answers)
    /// directly from the bytes, anything else through ``decodePayload(_:)-([UInt8])``.
    static func decodePayload(_ bytes: UnsafeRawBufferPointer, options: CBORDecoder.Options = .strict)
        throws(FrameError) -> Message
    {
        if let message = EnvelopeCodec.decodeWithoutPayload(bytes) { return message }
        return try decodePayload([UInt8](bytes), options: options)
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
