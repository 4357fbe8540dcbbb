import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import RuntimeHostProtocol

/// Counts what a ``FrameHandler`` delivers.
private final class CountingDelegate: FrameHandlerDelegate {
    let delivered = Mutex(0)
    let failures = Mutex<[String]>([])

    func received(_ message: Message, payloadSize: Int) { delivered.withLock { $0 += 1 } }
    func transportFailed(_ error: any Error) { failures.withLock { $0.append("\(error)") } }
    func readEnded() {}
}

@Suite("Frame buffering")
struct FrameBufferTests {
    /// One 16 KB frame's bytes.
    static func frameBytes() throws -> [UInt8] {
        let message = Message(
            id: 1, type: .request, body: .runtimePingRequest, spanContext: [UInt8](repeating: 7, count: 16_000))
        return Array(try Frame.encode(message, allocator: ByteBufferAllocator()).readableBytesView)
    }

    @Test("reads that always end inside a frame do not make the buffer keep the frames already delivered")
    func bufferDoesNotGrow() throws {
        let delegate = CountingDelegate()
        let handler = FrameHandler(delegate: delegate, onFrame: { _ in })
        let channel = EmbeddedChannel(handler: handler)
        let bytes = try Self.frameBytes()
        // Each read completes one frame and brings the first 10 bytes of the next: 32 MB in
        // all, of which the handler should only ever hold the last read and a frame's start.
        for round in 0..<2_000 {
            var chunk = channel.allocator.buffer(capacity: bytes.count)
            if round > 0 { chunk.writeBytes(bytes[10...]) }
            chunk.writeBytes(bytes[..<10])
            try channel.writeInbound(chunk)
        }
        #expect(delegate.delivered.withLock { $0 } == 1_999)
        #expect(delegate.failures.withLock { $0 }.isEmpty)
        #expect(handler.bufferedCapacity < 4 * bytes.count, "the handler holds \(handler.bufferedCapacity) bytes")
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("a frame that arrives a few bytes at a time is still delivered whole, and nothing stays buffered after it")
    func smallReads() throws {
        let delegate = CountingDelegate()
        let handler = FrameHandler(delegate: delegate, onFrame: { _ in })
        let channel = EmbeddedChannel(handler: handler)
        let bytes = try Self.frameBytes()
        let twice = bytes + bytes
        var offset = 0
        while offset < twice.count {
            let end = min(offset + 7, twice.count)
            var chunk = channel.allocator.buffer(capacity: end - offset)
            chunk.writeBytes(twice[offset..<end])
            try channel.writeInbound(chunk)
            offset = end
        }
        #expect(delegate.delivered.withLock { $0 } == 2)
        #expect(handler.bufferedCapacity == 0)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}
