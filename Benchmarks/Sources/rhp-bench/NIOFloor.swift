import NIOCore
import NIOPosix

/// The floor a NIO event loop sets for a ping-pong over a Unix socket: two channels on a
/// socketpair, each on the shared group's loops, exchanging length-prefixed frames of the same
/// size as the C baseline's, with no RHP at all (no CBOR, no tasks, no pending table). What is
/// between this and the C baseline is NIO's (epoll, then read, per wake-up); what is between
/// this and RHP is ours.
enum NIOFloor {
    /// Sequential round trips of `payload`-byte frames; returns the per-trip latencies (µs).
    static func roundTrips(payload: Int, count: Int, warmup: Int) async throws -> [Double] {
        try await againstEcho { done in
            PingClient(payload: payload, total: warmup + count, warmup: warmup, done: done)
        }
    }

    /// Frames per second with `depth` frames outstanding, shaped like the C baseline's
    /// pipelining: after each read the client tops the window up with one write of as many
    /// frames as came back. No RHP: no CBOR, no tasks, no pending table; what is between this
    /// and RHP's pipelined calls is ours.
    static func pipelined(payload: Int, total: Int, depth: Int) async throws -> Double {
        try await againstEcho { done in
            WindowClient(payload: payload, total: total, depth: depth, done: done)
        }
    }

    /// Runs the client `makeClient` returns on the first loop against a ``FrameEcho`` on the
    /// second (so that each frame crosses threads, as between host and runtime), over a
    /// socketpair; returns what the client completes its promise with.
    private static func againstEcho<Client: ChannelInboundHandler, Result: Sendable>(
        _ makeClient: @escaping @Sendable (EventLoopPromise<Result>) -> Client
    ) async throws -> Result {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw BenchError("socketpair failed") }
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        guard loops.count >= 2 else { throw BenchError("the NIO floor needs two event loops") }
        let echo = try await ClientBootstrap(group: loops[1])
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(FrameEcho()) }
            }
            .withConnectedSocket(fds[1]).get()
        let done = loops[0].makePromise(of: Result.self)
        let client = try await ClientBootstrap(group: loops[0])
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(makeClient(done)) }
            }
            .withConnectedSocket(fds[0]).get()
        let result = try await done.futureResult.get()
        try await client.close()
        try? await echo.closeFuture.get()
        return result
    }

    /// Splits frames off a cumulation buffer.
    static func frames(in buffer: inout ByteBuffer) -> [ByteBuffer] {
        var frames: [ByteBuffer] = []
        while let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            buffer.readableBytes >= 4 + Int(length)
        {
            frames.append(buffer.readSlice(length: 4 + Int(length))!)
        }
        return frames
    }

    /// Writes every complete frame back.
    final class FrameEcho: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var pending = ByteBuffer()

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            pending.writeBuffer(&incoming)
            for frame in NIOFloor.frames(in: &pending) { context.write(wrapOutboundOut(frame), promise: nil) }
            pending.discardReadBytes()
        }

        func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
    }

    /// Sends a frame, waits for it to come back, records the time, repeats.
    final class PingClient: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private let payload: Int
        private let total: Int
        private let warmup: Int
        private let done: EventLoopPromise<[Double]>
        private var pending = ByteBuffer()
        private var samples: [Double] = []
        private var sent = 0
        private var start = NIODeadline.now()

        init(payload: Int, total: Int, warmup: Int, done: EventLoopPromise<[Double]>) {
            self.payload = payload
            self.total = total
            self.warmup = warmup
            self.done = done
        }

        func channelActive(context: ChannelHandlerContext) { send(context: context) }

        private func send(context: ChannelHandlerContext) {
            var frame = context.channel.allocator.buffer(capacity: 4 + payload)
            frame.writeInteger(UInt32(payload))
            frame.writeRepeatingByte(0x42, count: payload)
            sent += 1
            start = .now()
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            pending.writeBuffer(&incoming)
            for _ in NIOFloor.frames(in: &pending) {
                let elapsed = NIODeadline.now() - start
                if sent > warmup { samples.append(Double(elapsed.nanoseconds) / 1000) }
                if sent == total {
                    done.succeed(samples)
                    return
                }
                send(context: context)
            }
            pending.discardReadBytes()
        }
    }

    /// Keeps `depth` frames outstanding until `total` have come back; reports frames per second.
    final class WindowClient: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private let payload: Int
        private let total: Int
        private let depth: Int
        private let done: EventLoopPromise<Double>
        private var pending = ByteBuffer()
        private var sent = 0
        private var received = 0
        private var start = NIODeadline.now()

        init(payload: Int, total: Int, depth: Int, done: EventLoopPromise<Double>) {
            self.payload = payload
            self.total = total
            self.depth = depth
            self.done = done
        }

        func channelActive(context: ChannelHandlerContext) {
            start = .now()
            topUp(context: context)
        }

        /// Writes as many frames as the window has room for, in one buffer, and flushes.
        private func topUp(context: ChannelHandlerContext) {
            let room = min(depth - (sent - received), total - sent)
            guard room > 0 else { return }
            var burst = context.channel.allocator.buffer(capacity: room * (4 + payload))
            for _ in 0..<room {
                burst.writeInteger(UInt32(payload))
                burst.writeRepeatingByte(0x6b, count: payload)
            }
            sent += room
            context.writeAndFlush(wrapOutboundOut(burst), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            pending.writeBuffer(&incoming)
            received += NIOFloor.frames(in: &pending).count
            pending.discardReadBytes()
            if received >= total {
                let elapsed = NIODeadline.now() - start
                done.succeed(Double(received) / (Double(elapsed.nanoseconds) / 1e9))
            }
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            if received < total { topUp(context: context) }
        }
    }
}
