import NIOCore

/// The part of a ``Connection`` that lives on its channel's event loop: the frames written
/// this turn but not yet handed to the channel (the outbox), and the one timer that enforces
/// every call's deadline.
///
/// Touched only on the event loop (every method checks this in debug builds), so it needs no
/// lock, and its properties skip the dynamic exclusivity checks (one thread, no overlapping
/// accesses); it is `Sendable` only so that the connection can hold it.
final class LoopState: @unchecked Sendable {
    /// Frames at most this large are copied into the outbox; larger ones are written as they
    /// are (after the outbox, to keep the order), so the outbox never holds a large frame.
    static let largestBatchedFrame = 16 * 1024

    private let channel: any Channel
    private let loop: any EventLoop
    /// Frames waiting for the next flush, back to back.
    @exclusivity(unchecked) private var outbox: ByteBuffer
    /// The calls whose requests are in `outbox`: a failed write fails them.
    @exclusivity(unchecked) private var outboxCalls: [UInt64] = []
    /// A flush of the outbox is queued on the loop.
    @exclusivity(unchecked) private var flushQueued = false
    /// Something was handed to the channel without a flush.
    @exclusivity(unchecked) private var unflushed = false
    /// The deadline sweep, when one is scheduled, and when it fires.
    @exclusivity(unchecked) private var sweep: (at: NIODeadline, callback: NIOScheduledCallback)?
    /// Told which calls a failed write carried. Set once, before use.
    var onWriteFailure: @Sendable ([UInt64], any Error) -> Void = { _, _ in }
    /// Run when the deadline sweep fires. Set once, before use.
    var onSweep: @Sendable () -> Void = {}

    init(channel: any Channel) {
        self.channel = channel
        loop = channel.eventLoop
        outbox = channel.allocator.buffer(capacity: 1024)
    }

    // MARK: Outbox

    /// Sends the encoded request of call `call`; `inFlight` calls (this one included) await
    /// their answers. See ``flushAfterRequest(inFlight:)`` for when it leaves.
    func send(_ frame: ByteBuffer, call: UInt64, inFlight: Int) {
        loop.assertInEventLoop()
        if inFlight <= 1, outbox.readableBytes == 0 {
            channel.writeAndFlush(frame, promise: promise(failing: call))
            unflushed = false
            return
        }
        if frame.readableBytes <= Self.largestBatchedFrame {
            reuseOutbox()
            outbox.writeImmutableBuffer(frame)
            outboxCalls.append(call)
        } else {
            writeOutbox(flush: false)
            channel.write(frame, promise: promise(failing: call))
            unflushed = true
        }
        flushAfterRequest(inFlight: inFlight)
    }

    /// Appends a frame encoded by `encode` to the outbox, for the flush at the end of the
    /// current read (responses made on the loop); returns the payload size.
    func append(_ encode: (inout ByteBuffer) throws(FrameError) -> Void) throws(FrameError) -> Int {
        loop.assertInEventLoop()
        reuseOutbox()
        let before = outbox.writerIndex
        try encode(&outbox)
        return outbox.writerIndex - before - Frame.headerSize
    }

    /// Appends the request of call `call`, encoded by `encode`, to the outbox and returns its
    /// payload size; `inFlight` calls (this one included) await their answers. See
    /// ``flushAfterRequest(inFlight:)`` for when it leaves.
    func appendRequest(
        call: UInt64, inFlight: Int, _ encode: (inout ByteBuffer) throws(FrameError) -> Void
    ) throws(FrameError) -> Int {
        let size = try append(encode)
        outboxCalls.append(call)
        flushAfterRequest(inFlight: inFlight)
        return size
    }

    /// A request went into the outbox. A lone call leaves at once. With others in flight,
    /// requests wait for a flush after whatever the loop runs next, so a burst leaves in one
    /// write, but only until the outbox holds half of the calls in flight (or a large frame):
    /// then it leaves at once, so that the peer works on one half while this side prepares
    /// the other, instead of both taking turns on a whole window of calls.
    private func flushAfterRequest(inFlight: Int) {
        if inFlight > 1, outboxCalls.count * 2 < inFlight, outbox.readableBytes <= Self.largestBatchedFrame {
            queueFlush()
        } else {
            flush()
        }
    }

    /// Hands the outbox to the channel and flushes.
    func flush() {
        loop.assertInEventLoop()
        if outbox.readableBytes > 0 {
            writeOutbox(flush: true)
        } else if unflushed {
            channel.flush()
            unflushed = false
        }
    }

    private func queueFlush() {
        guard !flushQueued else { return }
        flushQueued = true
        loop.execute { [self] in
            flushQueued = false
            flush()
        }
    }

    /// Hands the outbox to the channel (and flushes, in the same pass down the pipeline).
    private func writeOutbox(flush: Bool) {
        guard outbox.readableBytes > 0 else { return }
        let promise = outboxCalls.isEmpty ? nil : promise(failing: outboxCalls)
        if flush {
            channel.writeAndFlush(outbox, promise: promise)
            unflushed = false
        } else {
            channel.write(outbox, promise: promise)
            unflushed = true
        }
        // Marked as sent; its storage is reused once the channel has let go of it.
        outbox.moveReaderIndex(to: outbox.writerIndex)
        outboxCalls.removeAll(keepingCapacity: true)
    }

    /// Empties a sent outbox before new frames go in: in place when the channel is done with
    /// the bytes (the usual case, as a flush writes at once), else in new storage, which is
    /// also taken when a burst of large frames left the storage large.
    private func reuseOutbox() {
        guard outbox.readableBytes == 0 else { return }
        if outbox.capacity > 256 * 1024 {
            outbox = channel.allocator.buffer(capacity: 1024)
        } else {
            outbox.clear()
        }
    }

    /// A promise for a write that fails `calls` if the write does. Writes of responses alone
    /// get none: a failed write closes the channel, and the peer is gone then anyway.
    private func promise(failing calls: [UInt64]) -> EventLoopPromise<Void> {
        let promise = loop.makePromise(of: Void.self)
        let onWriteFailure = onWriteFailure
        promise.futureResult.whenFailure { error in onWriteFailure(calls, error) }
        return promise
    }

    /// A promise for a write that fails `call` if the write does.
    private func promise(failing call: UInt64) -> EventLoopPromise<Void> {
        let promise = loop.makePromise(of: Void.self)
        let onWriteFailure = onWriteFailure
        promise.futureResult.whenFailure { error in onWriteFailure([call], error) }
        return promise
    }

    // MARK: Deadlines

    /// Makes sure the sweep runs by `deadline`. One timer serves every call: it is moved only
    /// when a call's deadline comes before the scheduled sweep.
    func ensureSweep(by deadline: NIODeadline) throws {
        loop.assertInEventLoop()
        if let sweep, sweep.at <= deadline { return }
        sweep?.callback.cancel()
        sweep = nil
        sweep = (deadline, try loop.scheduleCallback(at: deadline, handler: Sweep(state: self)))
    }

    /// Forgets the sweep that fired, then runs it.
    private struct Sweep: NIOScheduledCallbackHandler, Sendable {
        let state: LoopState
        func handleScheduledCallback(eventLoop: some EventLoop) {
            state.sweep = nil
            state.onSweep()
        }
    }
}
