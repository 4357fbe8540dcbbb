public import Metrics
public import Logging
public import NIOCore
public import OasisCommon
public import ServiceLifecycle
import OasisCBOR
import Synchronization

/// One RHP connection, used by both sides: the host (node) calls ``initHost(runtimeID:hostInfo:timeout:)``,
/// the guest (runtime) calls ``initGuest()``. Either side then sends requests with
/// ``call(_:timeout:)`` and answers the peer's requests through its ``RequestHandler``.
///
/// ## States
/// `uninitialized → initializing → ready → closed` (and `initializing → closed`), as in
/// oasis-core v21.1 (host.md §4.1). Initialising twice is a programming error and traps.
/// Nothing is read from the socket before initialisation.
///
/// ## Concurrency design
/// * **Reading** happens on the channel's event loop: one handler (``FrameHandler``) cuts
///   frames, decodes each message in place (payload-free ones, such as pings and empty
///   answers, without building any intermediate value) and hands it straight to the
///   connection, where responses are matched to their callers, so a call completes without
///   ``run()`` and without any extra task hop.
/// * **Calls** are plain async functions. Each takes the next id, parks its continuation in
///   the pending table (under a `Mutex`, where the state is checked too) and suspends; on the
///   event loop its deadline is set and the frame written: when the caller already runs there,
///   encoded straight into the outbox; else encoded by the caller and handed over through a
///   submission queue that one loop task drains for every caller that queued meanwhile (one
///   hand-over per burst, not one per call). Four
///   things can complete it and the first wins: the response, a write failure (reported by the
///   write's future, so the caller learns at once), the deadline, or cancellation of the
///   calling task. Whichever wins removes the entry, so a call that returns — however it
///   returns — leaves nothing in the table, and a late response is logged and dropped.
/// * **Deadlines**: one timer per connection, not one per call. It is set for the earliest
///   deadline of the calls in flight; when it fires it fails the calls whose deadline has
///   passed and moves to the next. A call's deadline costs a clock read and a comparison.
/// * **Writing in bursts**: a call alone in flight is written and flushed at once. When other
///   calls are in flight, frames go into an outbox that is flushed once after the frames queued
///   on the loop with it, and answers given while a read is handled are flushed when the read
///   ends; so a burst of calls or answers leaves in one write (each frame whole, in order).
/// * **Incoming requests** need a task each, because handlers are async — unless the handler
///   gives an immediate answer (``RequestHandler/immediateAnswer(to:)``, for pings), which is
///   written on the event loop as the request is read. The others are queued to
///   ``run()``, which serves each in a child task of a task group and is the connection's only
///   long-lived task: run it as a `Service` in a `ServiceGroup`, or in a task group you own. No
///   unstructured tasks are created. Requests that arrive before the connection is Ready are
///   answered with the not-ready error on the event loop, without the handler, and so are
///   requests beyond ``Configuration/maxConcurrentRequests`` or
///   ``Configuration/maxConcurrentRequestBytes`` with ``RequestLimitReached``. With
///   ``Configuration/servesRequestsOnEventLoop`` the handler tasks run on the event loop
///   itself (a task executor), which saves the thread hand-offs for light handlers.
/// * **Closing**: when the transport ends (peer close, EOF inside a frame, an oversize or
///   malformed frame — each logged with its reason), every pending call fails at once with
///   ``ConnectionError/closed(reason:)``, the state becomes `closed`, the request queue ends and
///   ``run()`` cancels in-flight handlers and returns. Cancelling ``run()`` (or a graceful
///   shutdown of its service group) closes the connection.
///
/// ## Fixes to v21.1
/// A failed write fails its caller at once; a request too large to send fails its caller at
/// once and writes nothing; a peer close fails pending calls and marks the connection closed;
/// a timed-out or cancelled call removes its pending entry; a handler cannot return "no answer"
/// (see ``RequestHandler``); a frame with bytes after its CBOR item is refused.
public final class Connection: Sendable, Service, FrameHandlerDelegate {
    /// Tunables.
    public struct Configuration: Sendable {
        /// Deadline of a ``Connection/call(_:timeout:)`` that names none.
        public var callTimeout: Duration
        /// Deadline of the handshake when ``Connection/initHost(runtimeID:hostInfo:timeout:)``
        /// names none (the sandbox of v21.1 uses 1 s).
        public var handshakeTimeout: Duration

        /// Where the `oasis_rhp_*` and `oasis_codec_size` metrics go; `nil` means the
        /// process-wide `MetricsSystem` (what a node uses; tests pass their own factory).
        public var metricsFactory: (any MetricsFactory)?
        /// Serve incoming requests on the connection's event loop instead of the global pool:
        /// fewer thread hand-offs per request, but a handler's computation then holds up the
        /// loop. For handlers that mostly wait (a runtime answering pings and queries), not for
        /// heavy ones.
        public var servesRequestsOnEventLoop: Bool
        /// Ignore fields this side does not know inside the envelope and the payloads, as the
        /// Rust runtime of v21.1 does (host.md §3.9), so that a newer host's additions do not
        /// end the connection. A body still has exactly one variant key, and an unknown variant
        /// is still refused. For a runtime; a host stays strict, as v21.1's does.
        public var ignoresUnknownFields: Bool
        /// How many of the peer's requests are handled at once (queued for the handler or in
        /// it). A request beyond that is answered at once with an error (`unknown`/1,
        /// ``RequestLimitReached``) and never reaches the handler, so a peer that floods
        /// requests cannot grow this side's memory or tasks without bound. Requests answered
        /// on the event loop (``RequestHandler/immediateAnswer(to:)``, pings) do not count.
        /// Refusing rather than pausing the reads keeps the answers to this side's own calls
        /// flowing, so a handler that calls the peer cannot deadlock the connection.
        public var maxConcurrentRequests: Int
        /// How many payload bytes of the peer's requests are handled at once, counted like
        /// ``maxConcurrentRequests``: a request that would pass it is refused the same way,
        /// unless no other request is being handled, so one request of any size a frame allows
        /// always gets through. With both bounds, requests in flight hold at most this much
        /// (plus one frame), not `maxConcurrentRequests` frames of 16 MiB.
        public var maxConcurrentRequestBytes: Int
        /// The bound on answers to a peer that does not read them. The channel's high watermark
        /// is set to this many unwritten bytes; once over it, answers (responses, refusals,
        /// pings' answers) written before the channel drains back under half of it count, and
        /// when they pass this bound too, the connection is closed (``PeerNotReading``): the peer
        /// goes on sending without reading, and would otherwise grow this side's memory at the
        /// rate it writes. This side's own requests never count, so a burst of large calls to a
        /// peer that reads is not cut off (the callers' own concurrency bounds those). At least
        /// one largest frame (16 MiB and its 4-byte length), so a peer that reads is never cut
        /// off for one big answer.
        public var maxUnwrittenBytes: Int

        /// Tunables; the defaults suit a node.
        public init(
            callTimeout: Duration = .seconds(60), handshakeTimeout: Duration = .seconds(1),
            metricsFactory: (any MetricsFactory)? = nil, servesRequestsOnEventLoop: Bool = false,
            ignoresUnknownFields: Bool = false, maxConcurrentRequests: Int = 256,
            maxConcurrentRequestBytes: Int = 64 << 20, maxUnwrittenBytes: Int = 64 << 20
        ) {
            precondition(maxConcurrentRequests >= 1, "rhp: maxConcurrentRequests must be at least 1")
            precondition(maxConcurrentRequestBytes >= 0, "rhp: maxConcurrentRequestBytes must not be negative")
            precondition(
                maxUnwrittenBytes > Frame.headerSize + Frame.maxPayloadSize,
                "rhp: maxUnwrittenBytes must be more than one largest frame (\(Frame.headerSize + Frame.maxPayloadSize) bytes)")
            self.callTimeout = callTimeout
            self.handshakeTimeout = handshakeTimeout
            self.metricsFactory = metricsFactory
            self.servesRequestsOnEventLoop = servesRequestsOnEventLoop
            self.ignoresUnknownFields = ignoresUnknownFields
            self.maxConcurrentRequests = maxConcurrentRequests
            self.maxConcurrentRequestBytes = maxConcurrentRequestBytes
            self.maxUnwrittenBytes = maxUnwrittenBytes
        }
    }

    /// The lifecycle state (host.md §4.1).
    public enum State: Hashable, Sendable {
        case uninitialized, initializing, ready, closed
    }

    /// A call waiting for its answer: its suspended caller, and its deadline once the event
    /// loop has written the request (the call cannot time out before).
    private struct PendingCall {
        let continuation: UnsafeContinuation<Body, any Error>
        var deadline: CallDeadline?
    }

    private struct Core {
        var state: State = .uninitialized
        var pending = PendingTable<PendingCall>()
        var transportOpen = true
        /// Why the transport ended (the first reason recorded wins).
        var closeReason: String?
        /// `close()` was called: from then on calls fail with not-ready, as in v21.1.
        var closeCalled = false
        var running = false
        /// The peer's requests queued for the handler or in it (see
        /// ``Configuration/maxConcurrentRequests``).
        var requestsBeingServed = 0
        /// Their payload bytes.
        var requestBytesBeingServed = 0
        /// Requests from callers off the event loop, in call order, for the loop to write.
        var submissions: [Submission] = []
        /// A drain of `submissions` is queued on the event loop.
        var drainQueued = false
    }

    /// A request encoded off the event loop, waiting for the loop to set its deadline and write it.
    private struct Submission {
        let id: UInt64
        let frame: ByteBuffer
        let deadline: CallDeadline
    }

    /// When a call times out, and what its error then says.
    private struct CallDeadline {
        var at: NIODeadline
        var kind: Body.Kind
        var timeout: Duration
    }

    let channel: any Channel
    private let handler: any RequestHandler
    private let configuration: Configuration
    private let logger: Logger
    let metrics: ConnectionMetrics
    private let core = Mutex(Core())
    /// Bytes of answers written since the channel last went over its high watermark (see
    /// ``Configuration/maxUnwrittenBytes``); reset when it drains under its low one.
    private let answersWhileUnwritable = Atomic<Int>(0)
    /// The id of the next request.
    private let nextRequestID = Atomic<UInt64>(0)
    private let taskExecutor: EventLoopTaskExecutor
    private let requests: AsyncStream<QueuedRequest>
    private let requestQueue: AsyncStream<QueuedRequest>.Continuation
    /// The outbox and the deadline timer, on the event loop.
    private let loopState: LoopState

    /// Wraps a connected channel that has no handlers yet. Call from ``wrapping(channel:handler:configuration:logger:)``.
    private init(channel: any Channel, handler: any RequestHandler, configuration: Configuration, logger: Logger) {
        self.channel = channel
        self.handler = handler
        self.configuration = configuration
        self.logger = logger
        self.metrics = ConnectionMetrics(factory: configuration.metricsFactory)
        self.taskExecutor = EventLoopTaskExecutor(loop: channel.eventLoop)
        (requests, requestQueue) = AsyncStream.makeStream(of: QueuedRequest.self)
        loopState = LoopState(channel: channel)
        loopState.onWriteFailure = { [weak self] calls, error in self?.writeFailed(calls: calls, error: error) }
        loopState.onSweep = { [weak self] in self?.sweepDeadlines() }
    }

    /// Makes a connection from a connected stream channel that has no handlers yet.
    ///
    /// Create the channel with `ChannelOptions.autoRead` off (the bootstraps in this module do),
    /// so that nothing is read before initialisation.
    public static func wrapping(
        channel: any Channel, handler: any RequestHandler, configuration: Configuration = Configuration(),
        logger: Logger
    ) async throws -> Connection {
        let connection = Connection(channel: channel, handler: handler, configuration: configuration, logger: logger)
        let recorder = connection.metrics.frameSizeRead
        // An accepted channel may still be on its way to registration; writes before it is
        // active would fail, so wait for that too.
        try await channel.eventLoop.flatSubmit {
            do {
                // NIO turns the channel unwritable when more than `high` bytes wait; answers
                // written while it is count toward the bound (`countAnswer`).
                let limit = configuration.maxUnwrittenBytes
                try channel.syncOptions?.setOption(
                    ChannelOptions.writeBufferWaterMark, value: ChannelOptions.Types.WriteBufferWaterMark(low: limit / 2, high: limit))
                try channel.pipeline.syncOperations.addHandler(
                    FrameHandler(
                        delegate: connection,
                        decodeOptions: CBORDecoder.Options(allowsUnknownFields: configuration.ignoresUnknownFields),
                        onFrame: { recorder.record($0) }))
                if channel.isActive { return channel.eventLoop.makeSucceededVoidFuture() }
                let active = channel.eventLoop.makePromise(of: Void.self)
                try channel.pipeline.syncOperations.addHandler(ActivationHandler(active: active), position: .first)
                return active.futureResult
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }.get()
        channel.closeFuture.whenComplete { _ in connection.transportDidClose() }
        return connection
    }

    /// A task executor on this connection's event loop. Callers that make many small calls
    /// can run them with `withTaskExecutorPreference(connection.eventLoopTaskExecutor)` to
    /// be resumed on the loop that read the answer, saving a thread hand-off per call; they
    /// must not compute much there, as that holds up the loop.
    public var eventLoopTaskExecutor: any TaskExecutor { taskExecutor }

    // MARK: State

    /// The current lifecycle state.
    public var state: State { core.withLock { $0.state } }

    /// Why the transport ended, once it has.
    public var closeReason: String? { core.withLock { $0.transportOpen ? nil : $0.closeReason } }

    /// How many calls are waiting for an answer (for tests and diagnostics).
    package var pendingCallCount: Int { core.withLock { $0.pending.count } }

    /// `initConn`: uninitialized → initializing (→ ready for the guest, before the first byte
    /// is read, so no request can see it not ready), and start reading.
    private func beginInitialization(asGuest: Bool) {
        let transportOpen = core.withLock { core in
            precondition(core.state == .uninitialized, "rhp: connection already initialized")
            core.state = core.transportOpen ? (asGuest ? .ready : .initializing) : .closed
            return core.transportOpen
        }
        guard transportOpen else { return }
        channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { [logger] error in
            logger.debug("rhp: could not start reading", metadata: ["rhp.error": "\(error)"])
        }
    }

    /// Host side: runs the handshake and returns the runtime's version (host.md §4.4).
    ///
    /// Sends `RuntimeInfoRequest` (the runtime id and `hostInfo`), checks that the runtime
    /// speaks RHP major version 2, and moves to Ready. On failure the state stays
    /// `initializing`: call ``close()``. Traps if the connection was initialised before.
    public func initHost(runtimeID: Namespace, hostInfo: HostInfo, timeout: Duration? = nil) async throws -> Version {
        beginInitialization(asGuest: false)
        let request = RuntimeInfoRequest(
            runtimeID: runtimeID, consensusBackend: hostInfo.consensusBackend,
            consensusProtocolVersion: hostInfo.consensusProtocolVersion,
            consensusChainContext: hostInfo.consensusChainContext)
        let response: Body
        do {
            response = try await perform(
                .runtimeInfoRequest(request), timeout: timeout ?? configuration.handshakeTimeout, requireReady: false)
        } catch {
            throw HandshakeError.requestFailed(error)
        }
        guard case .runtimeInfoResponse(let info) = response else {
            throw HandshakeError.unexpectedResponse(response.kind)
        }
        guard info.protocolVersion.isCompatible(with: .runtimeHostProtocol) else {
            throw HandshakeError.incompatibleProtocolVersion(info.protocolVersion)
        }
        try core.withLock { core throws(ConnectionError) in
            guard core.state == .initializing else {
                throw ConnectionError.closed(reason: core.closeReason ?? "closed during the handshake")
            }
            core.state = .ready
        }
        logger.debug(
            "rhp: handshake done",
            metadata: ["rhp.runtime_version": "\(info.runtimeVersion)", "rhp.protocol_version": "\(info.protocolVersion)"])
        return info.runtimeVersion
    }

    /// Guest side: becomes Ready at once; the host sends the handshake request, which the
    /// handler answers (host.md §4.5). Traps if the connection was initialised before.
    public func initGuest() {
        beginInitialization(asGuest: true)
    }

    /// Closes the connection and waits until the socket is closed. Idempotent.
    ///
    /// Calls in flight fail with ``ConnectionError/closed(reason:)``; later calls fail with the
    /// not-ready error. On a connection that was never initialised the state stays
    /// `uninitialized` (as in v21.1), but the socket is still released.
    public func close() async {
        closeTransport()
        try? await channel.closeFuture.get()
    }

    private func closeTransport() {
        core.withLock { core in
            core.closeCalled = true
            if core.transportOpen && core.closeReason == nil { core.closeReason = "closed locally" }
            switch core.state {
            case .initializing, .ready: core.state = .closed
            case .uninitialized, .closed: break
            }
        }
        channel.close(promise: nil)
    }

    // MARK: Calls

    /// Sends `body` as a request and returns the answer.
    ///
    /// Throws the not-ready error (`rhp/internal`, 1) unless the connection is Ready (or
    /// ``ConnectionError/closed(reason:)`` if the peer closed it); ``FrameError`` if the request
    /// is too large to send; ``ConnectionError`` for a failed write, the deadline or a transport
    /// that ends; `CancellationError` if the calling task is cancelled. An `Error` answer
    /// throws: the registered `CodedError` for its (module, code), otherwise a ``RemoteError``.
    public func call(_ body: Body, timeout: Duration? = nil) async throws -> Body {
        try await perform(body, timeout: timeout ?? configuration.callTimeout, requireReady: true)
    }

    private func perform(_ body: Body, timeout: Duration, requireReady: Bool) async throws -> Body {
        let instruments = metrics[body.kind]
        let start = NIODeadline.now()
        defer { instruments.latency.recordNanoseconds((NIODeadline.now() - start).nanoseconds) }
        do {
            let response = try await exchange(body, deadline: start + TimeAmount(timeout), timeout: timeout, requireReady: requireReady)
            if case .error(let error) = response { throw error.callerError }
            instruments.successes.increment()
            return response
        } catch let error as ConnectionError {
            if case .deadlineExceeded = error {
                instruments.timeouts.increment()
            } else {
                instruments.failures.increment()
            }
            throw error
        } catch {
            instruments.failures.increment()
            throw error
        }
    }

    /// Writes the request and waits for whatever completes it first: at the latest `deadline`
    /// (`timeout` after the call began).
    private func exchange(_ body: Body, deadline: NIODeadline, timeout: Duration, requireReady: Bool) async throws -> Body {
        // A call refused for the state takes no id, as in v21.1 (host.md §4.6: the state is
        // checked first), so the ids on the wire stay consecutive. `admit` checks again, as the
        // state can change in between.
        if let refusal = core.withLock({ Self.refusal(in: $0, requireReady: requireReady) }) { throw refusal }
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue
        let callDeadline = CallDeadline(at: deadline, kind: body.kind, timeout: timeout)
        let onLoop = channel.eventLoop.inEventLoop
        return try await withTaskCancellationHandler {
            // The pending table guarantees one resumption: whichever completion takes the
            // entry out of the table resumes, and only it.
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Body, any Error>) in
                let inFlight: Int
                switch admit(continuation, id: id, deadline: onLoop ? callDeadline : nil, requireReady: requireReady) {
                case .failure(let refusal):
                    continuation.resume(throwing: refusal)
                    return
                case .success(let count):
                    inFlight = count
                }
                // Cancelled before it was in the table, the cancellation handler found nothing.
                if Task.isCancelled {
                    resolve(id, with: .failure(CancellationError()))
                    return
                }
                let message = Message(id: id, type: .request, body: body)
                if onLoop {
                    // The caller runs on the event loop: the frame is encoded straight into the
                    // outbox and the deadline set at once.
                    start(id, message: message, deadline: callDeadline, inFlight: inFlight)
                    return
                }
                // Else the frame is encoded here, off the loop, and goes through the submission
                // queue, which one task on the loop drains for all the callers that queued
                // meanwhile. The response, which also arrives on the loop, ends the call.
                let frame: ByteBuffer
                do {
                    frame = try Frame.encode(message, allocator: channel.allocator)
                } catch {
                    resolve(id, with: .failure(error))
                    return
                }
                metrics.frameSizeWrite.record(frame.readableBytes - Frame.headerSize)
                submit(Submission(id: id, frame: frame, deadline: callDeadline))
            }
        } onCancel: { [self] in
            resolve(id, with: .failure(CancellationError()))
        }
    }

    /// Makes sure call `id`'s deadline is enforced and writes its request into the outbox.
    /// Runs on the event loop, with the call armed.
    private func start(_ id: UInt64, message: Message, deadline: CallDeadline, inFlight: Int) {
        do {
            try loopState.ensureSweep(by: deadline.at)
        } catch {
            resolve(id, with: .failure(ConnectionError.closed(reason: "the event loop is shutting down")))
            return
        }
        do {
            let size = try loopState.appendRequest(call: id, inFlight: inFlight) { buffer throws(FrameError) in
                try Frame.write(message, into: &buffer)
            }
            metrics.frameSizeWrite.record(size)
        } catch {
            resolve(id, with: .failure(error))
        }
    }

    /// Queues a request for the event loop; the first one since the last drain queues the drain.
    private func submit(_ submission: Submission) {
        let queueDrain = core.withLock { core -> Bool in
            core.submissions.append(submission)
            defer { core.drainQueued = true }
            return !core.drainQueued
        }
        if queueDrain {
            channel.eventLoop.execute { [self] in
                var batch: [Submission] = []
                core.withLock { core in
                    swap(&batch, &core.submissions)
                    core.drainQueued = false
                }
                for submission in batch { write(submission) }
            }
        }
    }

    /// Sets the call's deadline and writes its frame. Runs on the event loop.
    private func write(_ submission: Submission) {
        guard let inFlight = arm(submission.id, deadline: submission.deadline) else {
            return  // ended (cancelled, closed) before it was written: write nothing
        }
        do {
            try loopState.ensureSweep(by: submission.deadline.at)
        } catch {
            resolve(submission.id, with: .failure(ConnectionError.closed(reason: "the event loop is shutting down")))
            return
        }
        // Several calls in flight write in bursts (their answers arrive together): one flush,
        // hence one syscall, per burst. A lone call is flushed at once.
        loopState.send(submission.frame, call: submission.id, inFlight: inFlight)
    }

    /// Sets the deadline of call `id` as it is written; `nil` if the call is no longer waiting,
    /// else how many calls are in flight (this one included). Called on the event loop.
    private func arm(_ id: UInt64, deadline: CallDeadline) -> Int? {
        core.withLock { core in
            guard var call = core.pending[id], call.deadline == nil else { return nil }
            call.deadline = deadline
            core.pending[id] = call
            return core.pending.count
        }
    }

    /// Fails every call whose deadline has passed, and schedules the next sweep for the
    /// earliest deadline left. Runs on the event loop, from the one deadline timer.
    private func sweepDeadlines() {
        let now = NIODeadline.now()
        let (expired, next) = core.withLock { core -> ([(UnsafeContinuation<Body, any Error>, CallDeadline)], NIODeadline?) in
            var expired: [(UnsafeContinuation<Body, any Error>, CallDeadline)] = []
            var next: NIODeadline?
            for (id, call) in core.pending.all {
                guard let deadline = call.deadline else { continue }
                if deadline.at <= now {
                    core.pending[id] = nil
                    expired.append((call.continuation, deadline))
                } else if next.map({ deadline.at < $0 }) ?? true {
                    next = deadline.at
                }
            }
            return (expired, next)
        }
        for (continuation, deadline) in expired {
            continuation.resume(throwing: ConnectionError.deadlineExceeded(call: deadline.kind, after: deadline.timeout))
        }
        if let next {
            try? loopState.ensureSweep(by: next)
        }
    }

    /// A write failed: the calls whose requests it carried fail at once.
    private func writeFailed(calls: [UInt64], error: any Error) {
        for id in calls {
            resolve(id, with: .failure(ConnectionError.writeFailed("\(error)")))
        }
    }

    /// Parks the caller of call `id` in the pending table (with its deadline when the caller is
    /// on the event loop and writes the request at once), if the state allows a call; returns
    /// how many calls are then in flight, this one included.
    private func admit(
        _ continuation: UnsafeContinuation<Body, any Error>, id: UInt64, deadline: CallDeadline?, requireReady: Bool
    ) -> Result<Int, any Error> {
        core.withLock { core in
            if let refusal = Self.refusal(in: core, requireReady: requireReady) { return .failure(refusal) }
            core.pending[id] = PendingCall(continuation: continuation, deadline: deadline)
            return .success(core.pending.count)
        }
    }

    /// Why a call cannot be made in the state of `core`, or nil if it can.
    private static func refusal(in core: borrowing Core, requireReady: Bool) -> (any Error)? {
        switch core.state {
        case .ready: break
        case .initializing where !requireReady: break
        case .closed where !core.closeCalled:
            return ConnectionError.closed(reason: core.closeReason ?? "peer closed the connection")
        default:
            return RHPErrors.notReady
        }
        guard core.transportOpen else {
            return ConnectionError.closed(reason: core.closeReason ?? "peer closed the connection")
        }
        return nil
    }

    /// Completes call `id` if it is still pending; the first completion wins. Returns whether
    /// there was such a call.
    @discardableResult
    private func resolve(_ id: UInt64, with result: Result<Body, any Error>) -> Bool {
        guard let call = core.withLock({ $0.pending.removeValue(for: id) }) else { return false }
        call.continuation.resume(with: result)
        return true
    }

    // MARK: Incoming (called on the event loop by FrameHandler)

    func received(_ message: Message, payloadSize: Int) {
        switch message.type {
        case .response:
            if !resolve(message.id, with: .success(message.body)) {
                logger.warning(
                    "rhp: dropping a response that matches no pending call",
                    metadata: ["rhp.id": "\(message.id)", "rhp.body": "\(message.body.kind)"])
            }
        case .request:
            // Refusals and immediate answers are written now, and flushed when the read that
            // brought the request ends.
            let immediate = handler.immediateAnswer(to: message.body)
            let (limit, byteLimit) = (configuration.maxConcurrentRequests, configuration.maxConcurrentRequestBytes)
            let admission = core.withLock { core -> RequestAdmission in
                guard core.state == .ready else { return .notReady }
                if immediate != nil { return .admitted }
                guard core.requestsBeingServed < limit,
                    core.requestsBeingServed == 0 || core.requestBytesBeingServed + payloadSize <= byteLimit
                else { return .overLimit }
                core.requestsBeingServed += 1
                core.requestBytesBeingServed += payloadSize
                return .admitted
            }
            switch admission {
            case .notReady:
                sendResponse(to: message.id, body: .error(ErrorBody(mapping: RHPErrors.notReady)), duringRead: true)
            case .overLimit:
                metrics.refusedRequests.increment()
                logger.debug(
                    "rhp: refusing a request over the limit of concurrent requests",
                    metadata: ["rhp.id": "\(message.id)", "rhp.body": "\(message.body.kind)", "rhp.size": "\(payloadSize)"])
                let refusal = RequestLimitReached(requests: limit, bytes: byteLimit)
                sendResponse(to: message.id, body: .error(ErrorBody(mapping: refusal)), duringRead: true)
            case .admitted:
                if let immediate {
                    sendResponse(to: message.id, body: immediate, duringRead: true)
                } else {
                    requestQueue.yield(QueuedRequest(message: message, payloadSize: payloadSize))
                }
            }
        default:
            logger.warning(
                "rhp: ignoring a message of unknown type",
                metadata: ["rhp.id": "\(message.id)", "rhp.message_type": "\(message.type.rawValue)"])
        }
    }

    /// The pipeline hit an error (oversize, malformed or truncated frame, I/O error): record
    /// why, log it and close.
    func transportFailed(_ error: any Error) {
        let first = core.withLock { core -> Bool in
            guard core.closeReason == nil else { return false }
            core.closeReason = "\(error)"
            return true
        }
        if first {
            logger.error("rhp: closing connection", metadata: ["rhp.reason": "\(error)"])
        } else {
            logger.debug("rhp: further error while closing", metadata: ["rhp.reason": "\(error)"])
        }
        channel.close(promise: nil)
    }

    /// The channel is closed: fail every pending call and end the request queue.
    private func transportDidClose() {
        let (waiting, reason) = core.withLock { core -> ([UnsafeContinuation<Body, any Error>], String) in
            core.transportOpen = false
            let reason = core.closeReason ?? "peer closed the connection"
            core.closeReason = reason
            switch core.state {
            case .initializing, .ready: core.state = .closed
            case .uninitialized, .closed: break
            }
            let waiting = core.pending.all.map(\.value.continuation)
            core.pending = PendingTable()
            return (waiting, reason)
        }
        requestQueue.finish()
        for continuation in waiting {
            continuation.resume(throwing: ConnectionError.closed(reason: reason))
        }
        logger.debug("rhp: connection closed", metadata: ["rhp.reason": "\(reason)", "rhp.failed_calls": "\(waiting.count)"])
    }

    // MARK: Serving requests

    /// Serves the peer's requests until the connection closes: each request runs the handler in
    /// a child task, and its answer is written back under the request's id.
    ///
    /// This is the connection's one long-lived task. Run it in a `ServiceGroup` or a task group
    /// you own, alongside your calls. It returns when the transport ends (after cancelling the
    /// handlers still running); cancelling it, or a graceful shutdown, closes the connection.
    /// Call it once.
    public func run() async throws {
        core.withLock { core in
            precondition(!core.running, "rhp: Connection.run() called twice")
            core.running = true
        }
        let executor: EventLoopTaskExecutor? = configuration.servesRequestsOnEventLoop ? taskExecutor : nil
        await withGracefulShutdownHandler {
            await withTaskExecutorPreference(executor) {
                await withDiscardingTaskGroup { group in
                    for await request in requests {
                        group.addTask(executorPreference: executor) { await self.serve(request) }
                    }
                    // The queue ends when the transport does (or run is cancelled): handlers
                    // still running have nobody to answer.
                    group.cancelAll()
                }
            }
        } onGracefulShutdown: {
            self.closeTransport()
        }
        // Cancelled (rather than ended by the transport): close, as the owner wants us gone.
        if core.withLock({ $0.transportOpen }) { await close() }
    }

    private func serve(_ request: QueuedRequest) async {
        let answer: Body
        do {
            answer = try await handler.handle(request.message.body)
        } catch {
            answer = .error(ErrorBody(mapping: error))
        }
        // The slot is free before the answer leaves, so a peer that sends its next request on
        // seeing the answer always finds room.
        core.withLock { core in
            core.requestsBeingServed -= 1
            core.requestBytesBeingServed -= request.payloadSize
        }
        sendResponse(to: request.message.id, body: answer)
    }

    /// A request of the peer waiting for ``run()``, with its payload's size (for the bounds).
    private struct QueuedRequest: Sendable {
        let message: Message
        let payloadSize: Int
    }

    /// What becomes of an incoming request.
    private enum RequestAdmission {
        case admitted, notReady, overLimit
    }

    /// Writes a response; one that cannot be encoded or is too large becomes an error answer,
    /// so the peer is never left waiting.
    ///
    /// `duringRead`: the caller is on the event loop, handling a request as it is read; the
    /// frame then goes into the outbox, which is flushed when the read ends (so the answers to
    /// a burst of requests leave in one write).
    func sendResponse(to id: UInt64, body: Body, duringRead: Bool = false) {
        if duringRead {
            writeResponse(to: id, body: body) { message throws(FrameError) in
                try loopState.append { buffer throws(FrameError) in try Frame.write(message, into: &buffer) }
            }
            return
        }
        var frame: ByteBuffer?
        writeResponse(to: id, body: body) { message throws(FrameError) in
            let encoded = try Frame.encode(message, allocator: channel.allocator)
            frame = encoded
            return encoded.readableBytes - Frame.headerSize
        }
        guard let frame else { return }
        channel.writeAndFlush(frame).whenFailure { [logger] error in
            logger.debug("rhp: failed to write response", metadata: ["rhp.id": "\(id)", "rhp.error": "\(error)"])
        }
    }

    /// Encodes the response with `write` (which returns the payload size), falling back to an
    /// error answer when it cannot be encoded.
    private func writeResponse(to id: UInt64, body: Body, with write: (Message) throws(FrameError) -> Int) {
        let size: Int
        do {
            size = try write(Message(id: id, type: .response, body: body))
        } catch {
            logger.error(
                "rhp: cannot send response, answering with an error",
                metadata: ["rhp.id": "\(id)", "rhp.body": "\(body.kind)", "rhp.error": "\(error)"])
            let fallback = ErrorBody(mapping: ResponseNotSendable(underlying: "\(error)"))
            guard let replacement = try? write(Message(id: id, type: .response, body: .error(fallback))) else { return }
            size = replacement
        }
        metrics.frameSizeWrite.record(size)
        countAnswer(bytes: Frame.headerSize + size)
    }

    /// Counts an answer written while the channel holds more unwritten bytes than its high
    /// watermark, and closes the connection once such answers pass the bound: the peer does
    /// not read them. (`isWritable` is safe to read from any thread.)
    private func countAnswer(bytes: Int) {
        guard !channel.isWritable else { return }
        let total = answersWhileUnwritable.add(bytes, ordering: .relaxed).newValue
        if total > configuration.maxUnwrittenBytes {
            transportFailed(PeerNotReading(maxUnwrittenBytes: configuration.maxUnwrittenBytes))
        }
    }

    func writabilityChanged(isWritable: Bool) {
        if isWritable { answersWhileUnwritable.store(0, ordering: .relaxed) }
    }

    /// The read that brought requests ended: what was answered during it leaves now.
    func readEnded() {
        loopState.flush()
    }
}

/// The answer to a request beyond ``Connection/Configuration/maxConcurrentRequests`` or
/// ``Connection/Configuration/maxConcurrentRequestBytes`` (uncoded: `unknown`/1 on the wire,
/// this text as the message).
public struct RequestLimitReached: Error, CustomStringConvertible, Sendable {
    /// The bound on requests handled at once.
    public let requests: Int
    /// The bound on their payload bytes.
    public let bytes: Int

    public var description: String {
        "rhp: too many requests in flight (at most \(requests) requests or \(bytes) bytes are handled at once); "
            + "send more once earlier ones are answered"
    }
}

/// The peer let more than ``Connection/Configuration/maxUnwrittenBytes`` of this side's answers
/// pile up unread while the channel already held more than that unwritten: the connection is
/// closed with this as its reason.
public struct PeerNotReading: Error, CustomStringConvertible, Sendable {
    /// The bound that was passed.
    public let maxUnwrittenBytes: Int

    public var description: String {
        "rhp: the peer does not read what is written to it (more than \(maxUnwrittenBytes) bytes of answers wait to be sent); "
            + "a peer must read its answers while it sends requests"
    }
}

/// A response that could not be encoded or was too large (uncoded: `unknown`/1 on the wire).
private struct ResponseNotSendable: Error, CustomStringConvertible {
    let underlying: String
    var description: String { "rhp: cannot send response: \(underlying)" }
}

/// Completes a promise when the channel becomes active (or fails it if the channel goes away
/// first). Lives on the event loop.
final class ActivationHandler: ChannelInboundHandler {
    typealias InboundIn = Any

    private var active: EventLoopPromise<Void>?

    init(active: EventLoopPromise<Void>) {
        self.active = active
    }

    func channelActive(context: ChannelHandlerContext) {
        active?.succeed()
        active = nil
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        active?.fail(ChannelError.ioOnClosedChannel)
        active = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        active?.fail(ChannelError.ioOnClosedChannel)
        active = nil
    }
}
