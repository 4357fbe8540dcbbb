// Fuzz target: the RHP frame reader as a connection runs it (`FrameHandler` in a channel
// pipeline, decoding in place), fed the stream in chunks of varying size, then EOF.
//
// Input: the first byte seeds the chunk sizes, the rest is the byte stream. Besides "no
// crash": every message the handler delivers is the one the general decoder
// (`Frame.decodePayload` on an array) reads from that frame's payload, in order, up to the
// first bad frame, and nothing after it; so the in-place fast path agrees with the general one.
import FuzzSupport
import NIOCore
import NIOEmbedded
import OasisCBOR
@testable import RuntimeHostProtocol

@main
enum FuzzRHPFrameMain {
    static func main() {
        runLibFuzzer { data, size in data.map { fuzzRHPFrame($0, size) } ?? 0 }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRHPFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    let stream = Array(input.dropFirst())
    let collector = Collector()
    let channel = EmbeddedChannel(handler: FrameHandler(delegate: collector, onFrame: { _ in }))

    // Chunk sizes from a small generator seeded by the first byte: 1 to 64 bytes, so headers
    // and payloads get split anywhere.
    var state = UInt32(input[0]) &* 2_654_435_761 | 1
    var offset = 0
    while offset < stream.count, !collector.failed {
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        let end = min(stream.count, offset + 1 + Int(state % 64))
        try? channel.writeInbound(channel.allocator.buffer(bytes: stream[offset..<end]))
        offset = end
    }
    _ = try? channel.finish()
    let received = collector.messages

    let expected = expectedMessages(stream)
    // Compared by canonical encoding, since a NaN inside a message is not equal to itself.
    let encode = { (messages: [Message]) in messages.map { try? CBOREncoder().encode($0) } }
    guard received == expected || encode(received) == encode(expected) else {
        fatalError("the pipeline yielded \(received), the frames hold \(expected)")
    }
    return 0
}

/// What the handler delivers (the embedded channel runs it on this thread).
private final class Collector: FrameHandlerDelegate, @unchecked Sendable {
    var messages: [Message] = []
    var failed = false

    func received(_ message: Message, payloadSize: Int) { messages.append(message) }
    func transportFailed(_ error: any Error) { failed = true }
    func readEnded() {}
}

/// The messages of the stream's leading well-formed frames, read one frame at a time.
private func expectedMessages(_ stream: [UInt8]) -> [Message] {
    var messages: [Message] = []
    var offset = 0
    while stream.count - offset >= Frame.headerSize {
        let length = stream[offset..<offset + Frame.headerSize].reduce(0) { $0 << 8 | Int($1) }
        guard length <= Frame.maxPayloadSize, stream.count - offset - Frame.headerSize >= length else { break }
        let start = offset + Frame.headerSize
        guard let message = try? Frame.decodePayload(Array(stream[start..<start + length])) else { break }
        messages.append(message)
        offset = start + length
    }
    return messages
}
