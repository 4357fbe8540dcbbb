import Glibc
import Logging
import Metrics
public import OasisCommon
public import RuntimeHostProtocol
import ServiceLifecycle
import Synchronization

/// A runtime binary hosted by a ``SandboxProvisioner``, and its supervisor.
///
/// ``run()`` is the supervisor: it waits for ``start()``, then starts the runtime (host.md §6.4:
/// socket in a fresh private directory, spawn, accept, handshake, initializer, `started`) and
/// watches it. A runtime that exits, hangs (no answer to a watchdog ping) or fails to start is
/// restarted after an exponential backoff that never drops to zero and resets only after a
/// start that stayed healthy; a forced or failed abort restarts it at once. ``stop()`` or a
/// graceful shutdown kills the runtime (interrupting a start attempt at any step), emits
/// `stopped` if one was up, and ends ``run()``.
///
/// Everything the supervisor does happens in ``run()``'s own task and its child tasks.
public final class SupervisedRuntime: HostedRuntime {
    public let id: Namespace
    private let config: HostConfig
    private let provisioner: SandboxProvisioner
    private let logger: Logger
    private let broadcaster = Broadcaster<HostEvent>(replayLast: false)
    private let aborts = AbortQueue()
    private let startSignal = Latch()
    private let stopSignal = Latch()
    private let state = Mutex(State())
    private let startCounter: Counter
    private let restartCounter: Counter
    private let failureCounter: Counter
    /// Lines of the runtime's output dropped over the relay's rate limit.
    private let outputDroppedCounter: Counter

    private struct State {
        var connection: Connection?
        var pid: Int32?
        /// Fires when a connection is published (or on stop); replaced when it goes away.
        var connected = Latch()
        /// The abort being handled by the running instance, answered after its `stopped`
        /// (with `stopped` if ``stop()`` ended the instance).
        var abortInFlight: AbortRequest?
        var restarts = 0
    }

    /// How a running instance ended.
    private enum Ending {
        case exited(ProcessExit)
        case stopRequested
        case unresponsive
        case aborted
        /// The connection ended (the runtime closed it, or broke the protocol and the host
        /// did) while the process went on.
        case connectionLost
    }

    private enum Outcome {
        /// `exit`: how the runtime's process ended, when it ended by itself during the start.
        case failedToStart(any Error, exit: ProcessExit? = nil)
        case ended(Ending, uptime: Duration)
    }

    init(config: HostConfig, provisioner: SandboxProvisioner) {
        self.id = config.runtimeID
        self.config = config
        self.provisioner = provisioner
        var logger = provisioner.logger
        logger[metadataKey: "runtime.id"] = "\(config.runtimeID)"
        self.logger = logger
        let dimensions = [("runtime", "\(config.runtimeID)")]
        let factory = provisioner.metricsFactory ?? MetricsSystem.factory
        startCounter = Counter(label: "oasis_runtime_host_starts", dimensions: dimensions, factory: factory)
        restartCounter = Counter(label: "oasis_runtime_host_restarts", dimensions: dimensions, factory: factory)
        failureCounter = Counter(label: "oasis_runtime_host_start_failures", dimensions: dimensions, factory: factory)
        outputDroppedCounter = Counter(
            label: "oasis_runtime_host_output_dropped_lines", dimensions: dimensions, factory: factory)
    }

    // MARK: Status

    /// How many start attempts followed the first one (after failures, exits, hangs and aborts).
    public var restartCount: Int { state.withLock { $0.restarts } }

    /// The pid of the running runtime process (the outer bubblewrap when sandboxed), if any.
    public var pid: Int32? { state.withLock { $0.pid } }

    // MARK: HostedRuntime

    public func events() -> AsyncStream<HostEvent> { broadcaster.subscribe() }

    public func start() {
        startSignal.open()
    }

    public func stop() {
        stopSignal.open()
        startSignal.open()
        state.withLock { $0.connected }.open()
    }

    /// Waits for a connected runtime (at most until the deadline), then calls it once. Errors
    /// from the runtime or the connection are returned at once, never retried. Throws
    /// ``HostRuntimeError`` `notReady` if no runtime connected in time, `stopped` after ``stop()``.
    public func call(_ body: Body, timeout: Duration?) async throws -> Body {
        let clock = provisioner.clock
        let deadline = clock.elapsed() + (timeout ?? provisioner.timings.callTimeout)
        while true {
            if stopSignal.isOpen { throw HostRuntimeError.stopped }
            let (connection, connected) = state.withLock { ($0.connection, $0.connected) }
            if let connection {
                return try await connection.call(body, timeout: max(deadline - clock.elapsed(), .milliseconds(1)))
            }
            let remaining = deadline - clock.elapsed()
            guard remaining > .zero else { throw HostRuntimeError.notReady }
            let woken = try await race({ await connected.waitUnlessCancelled() }, {
                try await clock.sleep(remaining)
                return false
            })
            if !woken {
                try Task.checkCancellation()
                throw HostRuntimeError.notReady
            }
        }
    }

    /// Queues an abort for the running instance (a pending one waits for the next instance)
    /// and waits for it to be handled. Cancelling the caller leaves the request queued. Throws
    /// ``HostRuntimeError`` `stopped` if ``stop()`` comes first, in flight or still queued.
    public func abort(force: Bool) async throws {
        if stopSignal.isOpen { throw HostRuntimeError.stopped }
        let request = AbortRequest(force: force)
        guard aborts.push(request) else {
            throw HostRuntimeError(
                .stopped, "runtime \(id) has \(AbortQueue.capacity) abort requests pending or is stopped; try again later")
        }
        try await request.waitForReply()
    }

    /// The supervisor. Returns after ``stop()``, a graceful shutdown or cancellation, once the
    /// runtime process is gone; event subscriptions end then.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await supervise()
        } onGracefulShutdown: { [self] in
            stop()
        }
    }

    // MARK: Supervision

    private func supervise() async {
        defer {
            for request in aborts.close() { request.reply(HostRuntimeError.stopped) }
            broadcaster.finish()
        }
        await startSignal.waitUnlessCancelled()
        let timings = provisioner.timings
        var backoff = Backoff(
            initial: timings.backoffInitial, multiplier: timings.backoffMultiplier, maximum: timings.backoffMaximum,
            jitter: timings.backoffJitter)
        var attempt = 0
        while !stopSignal.isOpen && !Task.isCancelled {
            attempt += 1
            if attempt > 1 {
                state.withLock { $0.restarts += 1 }
                restartCounter.increment()
            }
            var logger = self.logger
            logger[metadataKey: "runtime.attempt"] = "\(attempt)"
            logger.info("runtime host: starting the runtime")

            switch await runInstance(logger: logger) {
            case .failedToStart(let error, let exit):
                if stopSignal.isOpen || Task.isCancelled {
                    // stop() or the service's cancellation cut the attempt short: no failure of
                    // the runtime's. The event keeps its sentence (`…: runtime is stopped`, or
                    // the cancellation's) with the code `stopped`.
                    let cause = stopSignal.isOpen ? "stop" : "cancellation"
                    logger.info("runtime host: \(cause) interrupted the start", metadata: ["runtime.error": "\(error)"])
                    broadcaster.publish(.failedToStart(HostRuntimeError(.stopped, "\(error)")))
                    return
                }
                failureCounter.increment()
                var metadata: Logger.Metadata = ["runtime.error": "\(error)"]
                // A runtime that crashed during its start shows as a closed connection; its exit
                // status says why.
                if let exit { metadata["runtime.exit"] = "\(exit)" }
                // Under too tight a limit a runtime may crash, or hang without connecting (a
                // Swift runtime's libdispatch waits for good for a thread it cannot create).
                if let limit = provisioner.memoryLimit { metadata["runtime.memory_limit"] = "\(ByteSize.text(limit))" }
                logger.error("runtime host: the runtime failed to start", metadata: metadata)
                broadcaster.publish(.failedToStart(error))
            case .ended(let ending, let uptime):
                if uptime >= timings.healthyAfter { backoff.reset() }
                switch ending {
                case .stopRequested: return
                case .aborted: continue
                case .exited, .unresponsive, .connectionLost: break
                }
            }

            let delay = backoff.next()
            logger.info("runtime host: restarting the runtime after a delay", metadata: ["runtime.delay": "\(delay)"])
            let clock = provisioner.clock
            let stopped = try? await race({ await self.stopSignal.waitUnlessCancelled() }, {
                try await clock.sleep(delay)
                return false
            })
            if stopped != false { return }
        }
    }

    /// One start attempt and, if it succeeds, the life of that instance.
    private func runInstance(logger: Logger) async -> Outcome {
        let directory: String
        do {
            directory = try makeRuntimeDirectory()
        } catch {
            return .failedToStart(HostRuntimeError.start("failed to create temporary directory", error))
        }
        let socketPath = directory + "/host.sock"
        let listener: ConnectionListener
        do {
            listener = try await ConnectionListener.bind(unixSocketPath: socketPath)
        } catch {
            removeRuntimeDirectory(directory)
            return .failedToStart(HostRuntimeError.start("failed to create host socket", error))
        }
        let process: RuntimeProcess
        do {
            let configuration = try processConfiguration(socketPath: socketPath)
            process = try await spawn(configuration)
        } catch {
            await listener.close()
            removeRuntimeDirectory(directory)
            return .failedToStart(error)
        }
        if case .unconfined = provisioner.mode {
            logger.warning("runtime host: the runtime runs unsandboxed", metadata: ["runtime.pid": "\(process.pid)"])
        }

        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let dropped = self.outputDroppedCounter
                await process.relayOutput(
                    to: logger, rateLimit: .default, elapsed: self.provisioner.clock.elapsed,
                    onDrop: { dropped.increment() })
            }
            let started = await connectAndInitialize(listener: listener, process: process, logger: logger)
            // The socket is bound into the sandbox or connected by now: the directory has done
            // its job whether the attempt succeeded or not.
            await listener.close()
            removeRuntimeDirectory(directory)

            let outcome: Outcome
            switch started {
            case .failure(let error):
                // Read before the kill, while the runtime's memory is still there to read.
                let note =
                    stopSignal.isOpen ? nil : Self.memoryPressureNote(pid: process.pid, limit: provisioner.memoryLimit)
                let exit = await process.kill()
                outcome = .failedToStart(
                    note.map { HostRuntimeError(.startFailed, "\(error); \($0)") } ?? error,
                    exit: exit.endedByItself ? exit : nil)
            case .success(let (connection, version, capability)):
                let startedAt = provisioner.clock.elapsed()
                let connected = state.withLock { s in
                    s.connection = connection
                    s.pid = process.pid
                    return s.connected
                }
                connected.open()
                startCounter.increment()
                logger.info(
                    "runtime host: the runtime started",
                    metadata: ["runtime.version": "\(version)", "runtime.pid": "\(process.pid)"])
                broadcaster.publish(.started(version: version, capabilityTEE: capability))

                let ending = await superviseInstance(connection: connection, process: process, logger: logger)

                let abortInFlight = state.withLock { s in
                    s.connection = nil
                    s.pid = nil
                    // A caller that found no stop yet and reads the state after this waits on
                    // the new latch; stop() opens the latch it finds, so after a stop() that
                    // came first the new one starts open and the caller sees `stopped` at once.
                    let next = Latch()
                    if stopSignal.isOpen { next.open() }
                    s.connected = next
                    defer { s.abortInFlight = nil }
                    return s.abortInFlight
                }
                await connection.close()
                // A runtime that stopped answering may have hung at its memory limit: read it
                // before the kill.
                let note =
                    if case .unresponsive = ending {
                        Self.memoryPressureNote(pid: process.pid, limit: provisioner.memoryLimit)
                    } else {
                        String?.none
                    }
                let exit = await process.kill()
                switch ending {
                case .exited: logger.warning("runtime host: the runtime exited", metadata: ["runtime.exit": "\(exit)"])
                case .unresponsive:
                    logger.warning(
                        "runtime host: killed the runtime, which stopped answering pings",
                        metadata: note.map { ["runtime.memory": "\($0)"] })
                case .aborted: logger.warning("runtime host: killed the runtime to abort its work")
                case .connectionLost:
                    // A runtime that exits or crashes closes its socket too, and either may be
                    // seen first.
                    if exit.endedByItself {
                        logger.warning("runtime host: the runtime exited", metadata: ["runtime.exit": "\(exit)"])
                    } else {
                        logger.warning(
                            "runtime host: the runtime's connection closed; killed the runtime",
                            metadata: ["runtime.exit": "\(exit)"])
                    }
                case .stopRequested: logger.info("runtime host: stopped the runtime")
                }
                broadcaster.publish(.stopped)
                if let abortInFlight {
                    if case .stopRequested = ending {
                        // Interrupted by stop(): it fails like the pending ones (host.md §6.7,
                        // §6.8; v21.1 returns `context canceled`).
                        logger.info(
                            "runtime host: stop interrupted an abort in flight",
                            metadata: ["runtime.abort.force": "\(abortInFlight.force)"])
                        abortInFlight.reply(HostRuntimeError.stopped)
                    } else {
                        abortInFlight.reply()
                    }
                }
                outcome = .ended(ending, uptime: provisioner.clock.elapsed() - startedAt)
            }
            group.cancelAll()
            return outcome
        }
    }

    /// Starts the runtime process; nothing is started once ``stop()`` has been called. A
    /// sandboxed start runs the sandbox preflight first, which starts a trivial sandbox and may
    /// take up to its timeout: ``stop()`` interrupts it (killing that sandbox), and the runtime's
    /// own spawn then finds the result cached.
    private func spawn(_ configuration: RuntimeProcessConfiguration) async throws -> RuntimeProcess {
        do {
            if case .sandboxed(let options) = configuration.isolation, !stopSignal.isOpen {
                try await unlessStopped { try await SandboxPreflight.check(options) }
            }
            if stopSignal.isOpen { throw HostRuntimeError.stopped }
            return try await RuntimeProcess.spawn(configuration)
        } catch {
            switch provisioner.mode {
            case .unconfined: throw HostRuntimeError.start("failed to spawn process", error)
            case .sandboxed: throw HostRuntimeError.start("failed to spawn sandbox", error)
            }
        }
    }

    /// Steps 4–8 of a start: accept (racing the process's exit), handshake, initializer. Each
    /// step is interrupted by ``stop()`` (host.md §6.4 step 6, §6.8), so the attempt fails at once.
    private func connectAndInitialize(listener: ConnectionListener, process: RuntimeProcess, logger: Logger) async
        -> Result<(Connection, Version, CapabilityTEE?), any Error>
    {
        let timings = provisioner.timings
        let configuration = Connection.Configuration(
            callTimeout: timings.callTimeout, handshakeTimeout: timings.handshakeTimeout,
            metricsFactory: provisioner.metricsFactory)
        let handler = config.messageHandler
        let connection: Connection
        do {
            connection = try await withThrowingTaskGroup(of: Connection.self) { group in
                group.addTask {
                    try await listener.accept(
                        handler: handler, configuration: configuration, logger: logger, timeout: timings.connectTimeout)
                }
                group.addTask {
                    _ = try await process.waitForExit()
                    throw TerminatedBeforeConnecting()
                }
                group.addTask {
                    await self.stopSignal.waitUnlessCancelled()
                    throw HostRuntimeError.stopped
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch let error as TerminatedBeforeConnecting {
            return .failure(HostRuntimeError(.startFailed, error.description))
        } catch {
            return .failure(HostRuntimeError.start("error while accepting runtime connection", error))
        }

        do {
            let runtimeID = id
            let hostInfo = provisioner.hostInfo
            let version = try await unlessStopped {
                try await connection.initHost(runtimeID: runtimeID, hostInfo: hostInfo, timeout: timings.handshakeTimeout)
            }
            let pid = process.pid
            let capability = try await unlessStopped {
                try await self.initialize(connection: connection, version: version, pid: pid)
            }
            return .success((connection, version, capability))
        } catch {
            await connection.close()
            return .failure(HostRuntimeError.start("failed to initialize connection", error))
        }
    }

    /// Runs the provisioner's initializer (the SGX one for an SGX runtime) under its deadline.
    /// The initializer is cancelled at the deadline (or on ``stop()``) and must honour that.
    private func initialize(connection: Connection, version: Version, pid: Int32) async throws -> CapabilityTEE? {
        let initializer: HostInitializer?
        if case .sgx = config.extra, let sgx = provisioner.sgx {
            guard let attest = sgx.initializer else { throw SGXInitializerMissing() }
            initializer = attest
        } else {
            initializer = provisioner.initializer
        }
        guard let initializer else { return nil }
        let context = HostInitializerContext(
            runtimeID: id, version: version, connection: connection, pid: pid, config: config)
        let clock = provisioner.clock
        let timeout = provisioner.timings.initializerTimeout
        return try await race({ try await initializer(context) }, {
            try await clock.sleep(timeout)
            throw InitializerTimedOut(after: timeout)
        })
    }

    /// Runs `body` until it returns or ``stop()`` is called: then `body` is cancelled (and
    /// awaited) and this throws ``HostRuntimeError`` `stopped`.
    private func unlessStopped<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await race(body, {
            await self.stopSignal.waitUnlessCancelled()
            throw HostRuntimeError.stopped
        })
    }

    /// Watches a running instance until it exits, stops answering, is aborted, or stop.
    private func superviseInstance(connection: Connection, process: RuntimeProcess, logger: Logger) async -> Ending {
        await withTaskGroup(of: Ending?.self) { group in
            group.addTask {
                // Serves the runtime's requests; ends when the connection closes. A runtime
                // without its connection can do nothing: it is killed and restarted now, not
                // when the watchdog's ping fails. A graceful shutdown closes the connection
                // too, and ends the instance through stop().
                try? await connection.run()
                let stopping = Task.isCancelled || Task.isShuttingDownGracefully || self.stopSignal.isOpen
                return stopping ? nil : .connectionLost
            }
            group.addTask { (try? await process.waitForExit()).map { .exited($0) } }
            group.addTask { await self.stopSignal.waitUnlessCancelled() ? .stopRequested : nil }
            if let interval = provisioner.timings.watchdogInterval {
                group.addTask {
                    await self.watchdog(connection: connection, interval: interval, logger: logger) ? .unresponsive : nil
                }
            }
            group.addTask { await self.serveAborts(connection: connection, logger: logger) ? .aborted : nil }
            var ending: Ending?
            for await result in group {
                if let result {
                    ending = result
                    break
                }
            }
            group.cancelAll()
            return ending ?? .stopRequested
        }
    }

    /// Pings every `interval`; returns true once a ping goes unanswered for the watchdog
    /// timeout (or the connection fails), false when cancelled.
    private func watchdog(connection: Connection, interval: Duration, logger: Logger) async -> Bool {
        let clock = provisioner.clock
        let timeout = provisioner.timings.watchdogTimeout
        while true {
            do {
                try await clock.sleep(interval)
                let answered = try await race({
                    do {
                        _ = try await connection.call(.runtimePingRequest, timeout: timeout)
                        return true
                    } catch is ConnectionError {
                        return false
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        // An error answer still shows the runtime is alive.
                        return true
                    }
                }, {
                    try await clock.sleep(timeout)
                    return false
                })
                try Task.checkCancellation()
                if !answered {
                    logger.warning(
                        "runtime host: the runtime did not answer a ping in time",
                        metadata: ["runtime.watchdog_timeout": "\(timeout)"])
                    return true
                }
            } catch {
                return false
            }
        }
    }

    /// Handles abort requests (host.md §6.7) for the running instance. Returns true when the
    /// instance must be killed (a forced abort, or a graceful one that failed), false when
    /// cancelled.
    private func serveAborts(connection: Connection, logger: Logger) async -> Bool {
        let clock = provisioner.clock
        let timeout = provisioner.timings.abortTimeout
        while let request = await aborts.next() {
            state.withLock { $0.abortInFlight = request }
            var graceful = false
            do {
                let answer = try await race({ try await connection.call(.runtimeAbortRequest, timeout: timeout) }, {
                    try await clock.sleep(timeout)
                    throw AbortTimedOut(after: timeout)
                })
                if case .runtimeAbortResponse = answer { graceful = true }
            } catch {
                if Task.isCancelled { return false }
                logger.warning("runtime host: the runtime failed to abort gracefully", metadata: ["runtime.error": "\(error)"])
            }
            if graceful && !request.force {
                state.withLock { $0.abortInFlight = nil }
                request.reply()
                continue
            }
            return true
        }
        return false
    }

    /// The bytes each of the runtime's processes may allocate (its provisioner's limit); nil
    /// without one.
    public var memoryLimit: UInt64? { provisioner.memoryLimit }

    /// A runtime may need this much room under its memory limit to start another thread (a
    /// default 8 MiB stack, plus some).
    static let threadHeadroom: UInt64 = 9 << 20

    /// When the runtime under `pid` runs under a memory limit and one of its processes has less
    /// room left under it than a thread needs, a sentence saying so. A runtime that cannot
    /// allocate may hang instead of exiting (a Swift runtime's libdispatch waits for good for a
    /// thread it cannot create), and all the node sees then is that it never connected.
    static func memoryPressureNote(pid: Int32, limit: UInt64?) -> String? {
        guard let limit, let memory = ProcessTreeMemory.read(root: pid),
            memory.largestDataBytes + threadHeadroom > limit
        else { return nil }
        let tenths = (memory.largestDataBytes * 10 + (1 << 19)) >> 20
        return "the runtime had allocated \(tenths / 10).\(tenths % 10)MiB of its \(ByteSize.text(limit)) "
            + "memory limit, too close to it to start a thread; raise \(memoryLimitKey)"
    }

    /// The node's name for the limit, for messages.
    static let memoryLimitKey = "runtime.limits.memory"

    // MARK: Process description

    /// What one start attempt spawns (internal for tests).
    func processConfiguration(socketPath: String) throws -> RuntimeProcessConfiguration {
        let isolation: ProcessIsolation
        switch provisioner.mode {
        case .unconfined: isolation = .unconfined
        case .sandboxed(let options): isolation = .sandboxed(options)
        }
        guard case .sgx(let signaturePath, let generate) = config.extra, let sgx = provisioner.sgx else {
            return RuntimeProcessConfiguration(
                executablePath: config.path, isolation: isolation, hostSocketPath: socketPath,
                memoryLimit: provisioner.memoryLimit)
        }
        guard let device = sgx.devicePaths.first(where: { access($0, F_OK) == 0 }) else {
            throw HostRuntimeError(
                .sgxUnavailable,
                "runtime \(id) is an SGX enclave run by the loader \(sgx.loaderPath), but this host cannot run enclaves: "
                    + "none of \(sgx.devicePaths.joined(separator: ", ")) exists; enable SGX in the firmware and load "
                    + "the SGX driver, or configure a non-SGX build of the runtime")
        }
        guard let signaturePath else {
            let reason = generate ? "generating a debug SIGSTRUCT is not supported; set a signature path" : "enclave SIGSTRUCT not available"
            // v21.1's prefixes (host.md §6.4 step 3): the sandbox's configuration when sandboxed.
            let step = if case .sandboxed = isolation { "failed to configure sandbox" } else { "failed to configure process" }
            throw HostRuntimeError(.startFailed, "\(step): \(reason)")
        }
        switch isolation {
        case .unconfined:
            return RuntimeProcessConfiguration(
                executablePath: sgx.loaderPath,
                arguments: ["--host-socket", socketPath, "--type", "sgxs", "--signature", signaturePath, config.path],
                isolation: isolation, hostSocketPath: socketPath, memoryLimit: provisioner.memoryLimit)
        case .sandboxed:
            return RuntimeProcessConfiguration(
                executablePath: sgx.loaderPath,
                arguments: [
                    "--host-socket", RuntimeProcessConfiguration.sandboxHostSocketPath, "--type", "sgxs", "--signature",
                    "/runtime.sig", "/runtime",
                ],
                isolation: isolation, hostSocketPath: socketPath,
                readOnlyBinds: [config.path: "/runtime", signaturePath: "/runtime.sig"],
                readWriteBinds: ["/var/run/aesmd/aesm.socket": "/var/run/aesmd/aesm.socket"],
                deviceBinds: [device: device], memoryLimit: provisioner.memoryLimit)
        }
    }
}

// MARK: Errors and the runtime directory

extension ProcessExit {
    /// Whether the process ended on its own: an exit, or a signal other than the SIGKILL
    /// the supervisor sends.
    fileprivate var endedByItself: Bool {
        switch self {
        case .exited: true
        case .signaled(let signal): signal != SIGKILL
        case .waitFailed: false
        }
    }
}

private struct TerminatedBeforeConnecting: Error, CustomStringConvertible {
    var description: String { "terminated while waiting for runtime to connect" }
}

private struct InitializerTimedOut: Error, CustomStringConvertible {
    let after: Duration
    var description: String { "the host initializer did not finish within \(after)" }
}

private struct AbortTimedOut: Error, CustomStringConvertible {
    let after: Duration
    var description: String { "the runtime did not answer the abort request within \(after)" }
}

private struct SGXInitializerMissing: Error, CustomStringConvertible {
    var description: String { "SGX runtimes need an attestation initializer (SGXOptions.initializer), and none is configured" }
}

private struct DirectoryCreationFailed: Error, CustomStringConvertible {
    let errno: Int32
    var description: String { "mkdtemp: \(errnoText(errno))" }
}

/// A fresh private directory for the host socket (mode 0700). Short, because a Unix socket
/// path must fit in 108 bytes.
private func makeRuntimeDirectory() throws -> String {
    var template = Array("/tmp/oasis-runtime-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw DirectoryCreationFailed(errno: errno)
    }
    return String(cString: made)
}

/// Removes the socket and the directory (nothing else is ever put there).
private func removeRuntimeDirectory(_ directory: String) {
    _ = unlink(directory + "/host.sock")
    _ = rmdir(directory)
}
