import NIOCore
import OasisCBOR

/// Where a ``FrameHandler`` delivers what it reads. Called on the channel's event loop.
protocol FrameHandlerDelegate: AnyObject, Sendable {
    /// A decoded message, in the order the frames arrived, with its payload's size in bytes.
    func received(_ message: Message, payloadSize: Int)
    /// Reading failed (an oversize, malformed or truncated frame, or an I/O error); nothing
    /// more is delivered. The delegate closes the channel.
    func transportFailed(_ error: any Error)
    /// A read ended: what the delegate wrote while handling it can be flushed.
    func readEnded()
    /// The channel went over its high watermark of unwritten bytes, or back under its low one.
    func writabilityChanged(isWritable: Bool)
}

extension FrameHandlerDelegate {
    func writabilityChanged(isWritable: Bool) {}
}

/// Splits the inbound byte stream into frames, decodes each into a `Message` in place and hands
/// it straight to its delegate (no per-message pipeline event), and tells the delegate when
/// each read ends, so answers written while a burst of requests is read go out in one write.
///
/// The size check happens as soon as the 4-byte prefix is in, so an oversize announcement is
/// refused before any of its payload is buffered. Bytes left when the stream ends are a
/// truncated frame.
final class FrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let delegate: any FrameHandlerDelegate
    /// Called with each frame's payload size as it is read (for the codec size metric).
    private let onFrame: (Int) -> Void
    /// Bytes of a frame not complete yet.
    @exclusivity(unchecked) private var partial: ByteBuffer?
    /// A read failed: ignore everything after it.
    @exclusivity(unchecked) private var failed = false

    /// How payloads are decoded: strict, or accepting unknown fields.
    private let decodeOptions: CBORDecoder.Options

    init(delegate: any FrameHandlerDelegate, decodeOptions: CBORDecoder.Options = .strict,
         onFrame: @escaping (Int) -> Void) {
        self.delegate = delegate
        self.decodeOptions = decodeOptions
        self.onFrame = onFrame
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate.writabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var incoming = unwrapInboundIn(data)
        if var buffer = partial.take() {
            buffer.writeBuffer(&incoming)
            deliverFrames(from: &buffer)
            if buffer.readableBytes > 0 { partial = Self.unreadPart(of: buffer, allocator: context.channel.allocator) }
        } else {
            deliverFrames(from: &incoming)
            if incoming.readableBytes > 0 { partial = Self.unreadPart(of: incoming, allocator: context.channel.allocator) }
        }
    }

    /// The capacity of the buffer holding an incomplete frame (0 when there is none).
    var bufferedCapacity: Int { partial?.capacity ?? 0 }

    /// What to keep of `buffer` for the next read: only its unread bytes. Delivering a frame
    /// only moves the reader index, and the next read appends behind the writer index, so
    /// keeping the buffer as it is would keep every byte already delivered for as long as reads
    /// keep ending inside a frame, which a peer can arrange on every read.
    private static func unreadPart(of buffer: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard buffer.readerIndex > 0 else { return buffer }
        // A buffer far larger than its tail (the rest of a big frame's read) is not kept.
        if buffer.capacity > max(4 * buffer.readableBytes, 64 << 10) {
            var tail = allocator.buffer(capacity: buffer.readableBytes)
            tail.writeImmutableBuffer(buffer)
            return tail
        }
        var compacted = buffer
        compacted.discardReadBytes()
        return compacted
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate.readEnded()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !failed, let rest = partial.take(), rest.readableBytes > 0 {
            let expected = rest.getInteger(at: rest.readerIndex, endianness: .big, as: UInt32.self)
                .map { Frame.headerSize + Int($0) } ?? Frame.headerSize
            fail(FrameError.truncated(received: rest.readableBytes, expected: expected))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
    }

    private func fail(_ error: any Error) {
        failed = true
        partial = nil
        delegate.transportFailed(error)
    }

    /// Delivers every complete frame in `buffer`, leaving an incomplete one's bytes unread.
    private func deliverFrames(from buffer: inout ByteBuffer) {
        while !failed, let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) {
            let size = Int(length)
            guard size <= Frame.maxPayloadSize else {
                onFrame(size)
                fail(FrameError.messageTooLarge(size))
                return
            }
            guard buffer.readableBytes >= Frame.headerSize + size else { return }
            onFrame(size)
            let decoded = buffer.withUnsafeReadableBytes { bytes in
                Result { () throws(FrameError) -> Message in
                    try Frame.decodePayload(
                        UnsafeRawBufferPointer(rebasing: bytes[Frame.headerSize..<Frame.headerSize + size]),
                        options: decodeOptions)
                }
            }
            buffer.moveReaderIndex(forwardBy: Frame.headerSize + size)
            switch decoded {
            case .success(let message): delegate.received(message, payloadSize: size)
            case .failure(let error): fail(error)
            }
        }
    }
}
