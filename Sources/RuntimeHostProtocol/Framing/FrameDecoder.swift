import NIOCore

/// Splits the inbound byte stream into frames and decodes each into a `Message`.
///
/// The size check happens as soon as the 4-byte prefix is in, so an oversize announcement is
/// refused before any of its payload is buffered. Errors are thrown into the pipeline, where
/// the connection's handler logs the reason and closes the channel.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Message

    /// Called with each frame's payload size as it is read (for the codec size metric).
    let onFrame: (Int) -> Void

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return .needMoreData
        }
        let size = Int(length)
        guard size <= Frame.maxPayloadSize else {
            onFrame(size)
            throw FrameError.messageTooLarge(size)
        }
        guard buffer.readableBytes >= Frame.headerSize + size else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: Frame.headerSize)
        let payload = buffer.readBytes(length: size)!
        onFrame(size)
        let message = try Frame.decodePayload(payload)
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if seenEOF, buffer.readableBytes > 0 {
            let expected: Int
            if let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) {
                expected = Frame.headerSize + Int(length)
            } else {
                expected = Frame.headerSize
            }
            let received = buffer.readableBytes
            buffer.moveReaderIndex(to: buffer.writerIndex)
            throw FrameError.truncated(received: received, expected: expected)
        }
        return .needMoreData
    }
}
