// Fuzz target: the RHP frame decoder as a connection runs it (`ByteToMessageHandler` over
// `FrameDecoder` in a channel pipeline), fed the stream in chunks of varying size, then EOF.
//
// Input: the first byte seeds the chunk sizes, the rest is the byte stream. Besides "no
// crash": every message the pipeline yields is the one `Frame.decodePayload` reads from that
// frame's payload, in order, up to the first bad frame, and nothing after it.
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
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(onFrame: { _ in })))
    var received: [Message] = []
    var failed = false

    // Chunk sizes from a small generator seeded by the first byte: 1 to 64 bytes, so headers
    // and payloads get split anywhere.
    var state = UInt32(input[0]) &* 2_654_435_761 | 1
    var offset = 0
    while offset < stream.count, !failed {
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        let end = min(stream.count, offset + 1 + Int(state % 64))
        do {
            try channel.writeInbound(channel.allocator.buffer(bytes: stream[offset..<end]))
        } catch {
            failed = true
        }
        offset = end
        while let message = try? channel.readInbound(as: Message.self) { received.append(message) }
    }
    if !failed {
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
    }
    _ = try? channel.finish()
    while let message = try? channel.readInbound(as: Message.self) { received.append(message) }

    let expected = expectedMessages(stream)
    // Compared by canonical encoding, since a NaN inside a message is not equal to itself.
    let encode = { (messages: [Message]) in messages.map { try? CBOREncoder().encode($0) } }
    guard received == expected || encode(received) == encode(expected) else {
        fatalError("the pipeline yielded \(received), the frames hold \(expected)")
    }
    return 0
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
