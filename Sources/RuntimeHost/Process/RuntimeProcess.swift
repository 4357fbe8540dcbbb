import CSandbox
import Glibc
public import Logging
import Synchronization

/// A running runtime binary, unconfined or in the bubblewrap sandbox (oasis-core's
/// `process.Process`).
///
/// The child leads its own process group and is killed by the kernel if the node dies; when it
/// exits, for whatever reason, what is left of its process group is killed. It gets
/// exactly three descriptors (stdin on `/dev/null`, stdout and stderr on pipes), and exactly
/// the environment of its configuration. It writes no core dumps (`RLIMIT_CORE` 0), opens at
/// most 4,096 descriptors (`RLIMIT_NOFILE`, lower if the node's own hard limit is), allocates
/// at most its configuration's ``RuntimeProcessConfiguration/memoryLimit`` (`RLIMIT_DATA`) and
/// is the OOM killer's first choice (`oom_score_adj` 1000), and so is everything it starts. Its exit
/// is observed through a pidfd, so waiting never blocks a thread of the cooperative pool and a
/// recycled pid can never be signalled.
///
/// Output is read on demand from `stdoutLines` and `stderrLines`, or relayed to a logger by
/// `relayOutput(to:)`, which the owner runs in its own task (group). A runtime whose output
/// nobody reads stops once a pipe is full, so an owner should always run one of them.
public final class RuntimeProcess: Sendable {
    /// The pid of the direct child: the runtime itself, or the outer bubblewrap process.
    public let pid: Int32
    /// The lines the process writes to stdout. Can be iterated once.
    public let stdoutLines: OutputLines
    /// The lines the process writes to stderr. Can be iterated once.
    public let stderrLines: OutputLines

    private let pidfd: Int32
    private let exit = Mutex(ExitState())

    private struct ExitState {
        var status: ProcessExit?
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<ProcessExit?, Never>] = [:]
        var cancelledWaiters: Set<UInt64> = []
    }

    private init(pid: Int32, pidfd: Int32, stdout: PipeReader, stderr: PipeReader) {
        self.pid = pid
        self.pidfd = pidfd
        self.stdoutLines = OutputLines(reader: stdout)
        self.stderrLines = OutputLines(reader: stderr)
    }

    // MARK: Spawning

    /// Starts the runtime described by `configuration`.
    ///
    /// Sandboxed, the first start for a given bubblewrap binary runs the sandbox preflight
    /// (`SandboxPreflight`) and fails with its one-sentence explanation if the sandbox cannot
    /// work on this host.
    public static func spawn(_ configuration: RuntimeProcessConfiguration) async throws(RuntimeProcessError)
        -> RuntimeProcess
    {
        switch configuration.isolation {
        case .unconfined:
            try writeBindData(configuration.bindData)
            let environment = configuration.childEnvironment().map { "\($0.0)=\($0.1)" }
            return try launch(
                path: configuration.executablePath,
                arguments: [configuration.executablePath] + configuration.arguments,
                environment: environment, extraDescriptors: [], memoryLimit: configuration.memoryLimit)
        case .sandboxed(let sandbox):
            try await SandboxPreflight.check(sandbox)
            return try spawnSandboxed(configuration, sandbox: sandbox)
        }
    }

    /// Starts bubblewrap for `configuration` without the preflight.
    static func spawnSandboxed(_ configuration: RuntimeProcessConfiguration, sandbox: SandboxOptions)
        throws(RuntimeProcessError) -> RuntimeProcess
    {
        let libraries: ResolvedLibraries
        do {
            libraries = try LibraryResolver.resolveForSandbox(executable: configuration.executablePath)
        } catch {
            throw RuntimeProcessError(
                .sandboxSetupFailed, "sandbox: failed to resolve worker binary libraries: \(error.message)")
        }
        let options = BubblewrapCommand.options(for: configuration, sandbox: sandbox, libraries: libraries)

        // All setup data goes into sealed memfds before bubblewrap starts: nothing can block or
        // fail half-way through once a process exists.
        var descriptors: [Int32] = []
        defer { descriptors.forEach(closeDescriptor) }
        let stream = BubblewrapCommand.stream(options)
        let argumentsFD = csb_memfd_with_contents("oasis-bwrap-args", stream, stream.count)
        guard argumentsFD >= 0 else {
            throw RuntimeProcessError(
                .sandboxSetupFailed, "sandbox: error while sending args to sandbox: \(errnoText(-argumentsFD))")
        }
        descriptors.append(argumentsFD)
        let program: [UInt8]
        switch SeccompProgram.bytes {
        case .success(let bytes): program = bytes
        case .failure(let error):
            throw RuntimeProcessError(.sandboxSetupFailed, "sandbox: error while generating seccomp policy: \(error)")
        }
        let seccompFD = csb_memfd_with_contents("oasis-seccomp", program, program.count)
        guard seccompFD >= 0 else {
            throw RuntimeProcessError(
                .sandboxSetupFailed, "sandbox: error while sending SECCOMP policy to sandbox: \(errnoText(-seccompFD))")
        }
        descriptors.append(seccompFD)
        for path in BubblewrapCommand.dataPaths(configuration) {
            let data = configuration.bindData[path] ?? []
            let fd = csb_memfd_with_contents("oasis-bind-data", data, data.count)
            guard fd >= 0 else {
                throw RuntimeProcessError(
                    .sandboxSetupFailed, "sandbox: failed to copy bound data to sandbox: \(path): \(errnoText(-fd))")
            }
            descriptors.append(fd)
        }
        return try launch(
            path: sandbox.bubblewrapPath,
            arguments: BubblewrapCommand.commandLine(
                bubblewrapPath: sandbox.bubblewrapPath, arguments: configuration.arguments),
            environment: [], extraDescriptors: descriptors, memoryLimit: configuration.memoryLimit)
    }

    /// Spawns `path` with stdin on /dev/null, stdout and stderr on pipes, and `extraDescriptors`
    /// as 3, 4, …; nothing else is inherited.
    private static func launch(
        path: String, arguments: [String], environment: [String], extraDescriptors: [Int32], memoryLimit: UInt64?
    ) throws(RuntimeProcessError) -> RuntimeProcess
    {
        func failure(_ what: String, _ code: Int32) -> RuntimeProcessError {
            RuntimeProcessError(.spawnFailed, "\(what) \(path): \(errnoText(code))")
        }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else { throw failure("open /dev/null for", errno) }
        defer { closeDescriptor(devNull) }
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        let stdoutResult = csb_pipe_cloexec(&stdoutPipe)
        guard stdoutResult == 0 else { throw failure("pipe for", -stdoutResult) }
        let stderrResult = csb_pipe_cloexec(&stderrPipe)
        guard stderrResult == 0 else {
            stdoutPipe.forEach(closeDescriptor)
            throw failure("pipe for", -stderrResult)
        }
        // The parent keeps only the read ends, and only on success.
        let stdoutReader = PipeReader(fd: stdoutPipe[0])
        let stderrReader = PipeReader(fd: stderrPipe[0])
        defer {
            closeDescriptor(stdoutPipe[1])
            closeDescriptor(stderrPipe[1])
        }

        var map: [Int32] = [devNull, 0, stdoutPipe[1], 1, stderrPipe[1], 2]
        for (index, fd) in extraDescriptors.enumerated() {
            map += [fd, Int32(3 + index)]
        }
        var pid: pid_t = 0
        let result = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                csb_spawn_limited(
                    path, argv, envp, map, map.count / 2,
                    CSB_SPAWN_NEW_PROCESS_GROUP | CSB_SPAWN_DIE_WITH_PARENT | CSB_SPAWN_RUNTIME_LIMITS,
                    memoryLimit ?? 0, &pid)
            }
        }
        guard result == 0 else { throw failure("exec", -result) }

        let pidfd = csb_pidfd_open(pid)
        guard pidfd >= 0 else {
            killAndReap(pid)
            throw failure("pidfd_open for", -pidfd)
        }
        let process = RuntimeProcess(pid: pid, pidfd: pidfd, stdout: stdoutReader, stderr: stderrReader)
        if case .failure(let error) = process.watchExit() {
            killAndReap(pid)
            closeDescriptor(pidfd)
            throw failure("watching", error.code)
        }
        return process
    }

    /// Kills a child this process has no handle for yet, and reaps it.
    private static func killAndReap(_ pid: pid_t) {
        _ = Glibc.kill(-pid, SIGKILL)
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// Writes unconfined-mode bind data on the host: parents 0700, files 0600.
    private static func writeBindData(_ bindData: [String: [UInt8]]) throws(RuntimeProcessError) {
        for (path, data) in bindData.sorted(by: { $0.key < $1.key }) {
            func failure(_ code: Int32) -> RuntimeProcessError {
                RuntimeProcessError(.bindDataFailed, "failed to write bind data \(path): \(errnoText(code))")
            }
            var parent = ""
            for component in LibraryResolver.directoryName(path).split(separator: "/") {
                parent += "/" + component
                if mkdir(parent, 0o700) != 0 && errno != EEXIST { throw failure(errno) }
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw failure(errno) }
            defer { closeDescriptor(fd) }
            let written = csb_write_all(fd, data, data.count)
            guard written == 0 else { throw failure(-written) }
        }
    }

    // MARK: Exit

    /// Registers with the reactor to reap the child when its pidfd becomes readable.
    private func watchExit() -> Result<UInt64, Errno> {
        DescriptorReactor.shared.watch(pidfd) { [self] in reap() }
    }

    /// Runs on the reactor thread: kills what is left of the child's process group, reaps the
    /// child, records how it ended, wakes the waiters.
    private func reap() {
        var stillRunning = false
        let waiters: [CheckedContinuation<ProcessExit?, Never>] = exit.withLock { state in
            guard state.status == nil else { return [] }
            var exited: Int32 = 0
            var code: Int32 = 0
            // Whatever the child left in its process group goes with it (as a sandbox's
            // processes go with bubblewrap), killed before the child is reaped.
            let result = csb_pidfd_reap_group(pidfd, &exited, &code)
            if result == 0 {
                stillRunning = true
                return []
            }
            if result < 0 {
                // Someone else reaped the child (SIGCHLD ignored, or a stray waitpid(-1)).
                state.status = .waitFailed(errno: -result)
            } else {
                state.status = exited != 0 ? .exited(code: code) : .signaled(signal: code)
            }
            closeDescriptor(pidfd)
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        if stillRunning {
            // A stale event: watch again.
            if case .failure = watchExit() { _ = Glibc.kill(pid, SIGKILL) }
            return
        }
        let status = exit.withLock { $0.status }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    /// How the process ended, or nil while it runs.
    public var exitStatus: ProcessExit? {
        exit.withLock { $0.status }
    }

    /// Waits until the process has exited and been reaped, and returns how it ended. Throws
    /// `CancellationError` if the waiting task is cancelled first (the process keeps running).
    public func waitForExit() async throws(CancellationError) -> ProcessExit {
        guard let status = await waitForExit(cancellable: true) else { throw CancellationError() }
        return status
    }

    private func waitForExit(cancellable: Bool) async -> ProcessExit? {
        let id = exit.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ProcessExit?, Never>) in
                exit.withLock { state in
                    if let status = state.status {
                        continuation.resume(returning: status)
                    } else if state.cancelledWaiters.remove(id) != nil {
                        continuation.resume(returning: nil)
                    } else {
                        state.waiters[id] = continuation
                    }
                }
            }
        } onCancel: {
            guard cancellable else { return }
            exit.withLock { state in
                if let waiter = state.waiters.removeValue(forKey: id) {
                    waiter.resume(returning: nil)
                } else if state.status == nil {
                    state.cancelledWaiters.insert(id)
                }
            }
        }
    }

    /// Kills the process and its process group with SIGKILL and returns once it has exited and
    /// been reaped (oasis-core's `Kill`). Killing an exited process just returns its status.
    ///
    /// The group is signalled while the child is still unreaped, so its pid (which is also the
    /// group id) cannot have been recycled. For a sandbox, killing bubblewrap tears down the
    /// sandbox too: its processes run with bubblewrap's parent-death signal in a pid namespace.
    @discardableResult
    public func kill() async -> ProcessExit {
        exit.withLock { state in
            guard state.status == nil else { return }
            _ = Glibc.kill(-pid, SIGKILL)
            _ = Glibc.kill(pid, SIGKILL)
        }
        // Not cancellable: SIGKILL always ends the process, and the caller must not move on
        // while it may still run.
        return await waitForExit(cancellable: false) ?? .signaled(signal: SIGKILL)
    }

    // MARK: Output

    /// Logs every line of stdout and stderr to `logger`, with metadata `runtime.stream`
    /// (`stdout` or `stderr`) added to the logger's own (which should carry `runtime.id`).
    /// Returns when both streams have ended or the task is cancelled.
    ///
    /// A line that is a JSON log record (``RuntimeLogRecord``) is logged at its own level, with
    /// its message and its fields as `runtime.log.<key>`; any other line at info, as it is.
    /// Both streams share `rateLimit`, measured on `clock`: lines over it are dropped, and a
    /// warning says how many once lines pass again (or the output ends).
    public func relayOutput<C: Clock>(
        to logger: Logger, rateLimit: OutputRateLimit = .default, clock: C
    ) async where C.Duration == Duration {
        let origin = clock.now
        await relayOutput(to: logger, rateLimit: rateLimit, elapsed: { origin.duration(to: clock.now) })
    }

    /// ``relayOutput(to:rateLimit:clock:)`` on the continuous clock.
    public func relayOutput(to logger: Logger, rateLimit: OutputRateLimit = .default) async {
        await relayOutput(to: logger, rateLimit: rateLimit, clock: ContinuousClock())
    }

    /// The relay, with the time since it began read from `elapsed`; `onDrop` is called for each
    /// line dropped over the limit (the supervisor counts them in a metric).
    func relayOutput(
        to logger: Logger, rateLimit: OutputRateLimit, elapsed: @escaping @Sendable () -> Duration,
        onDrop: @escaping @Sendable () -> Void = {}
    ) async {
        let bucket = Mutex(OutputRateLimit.Bucket(limit: rateLimit))
        let relay: @Sendable (String, Logger.MetadataValue) -> Void = { line, stream in
            switch bucket.withLock({ $0.admit(at: elapsed()) }) {
            case .drop:
                onDrop()
                return
            case .pass(let droppedBefore):
                if droppedBefore > 0 { Self.reportDropped(droppedBefore, rateLimit: rateLimit, to: logger) }
            }
            if let record = RuntimeLogRecord.parse(line) {
                var metadata = record.metadata
                metadata["runtime.stream"] = stream
                logger.log(level: record.level, "\(record.message)", metadata: metadata)
            } else {
                logger.info("\(line)", metadata: ["runtime.stream": stream])
            }
        }
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await line in self.stdoutLines { relay(line, "stdout") }
            }
            group.addTask {
                for await line in self.stderrLines { relay(line, "stderr") }
            }
        }
        let dropped = bucket.withLock { $0.takeDropped() }
        if dropped > 0 { Self.reportDropped(dropped, rateLimit: rateLimit, to: logger) }
    }

    private static func reportDropped(_ count: Int, rateLimit: OutputRateLimit, to logger: Logger) {
        let limit = "\(rateLimit.linesPerSecond) lines/s (bursts of \(rateLimit.burst))"
        logger.warning(
            "runtime host: dropped \(count) lines of the runtime's output, over the limit of \(limit)",
            metadata: ["runtime.dropped_lines": "\(count)"])
    }
}

/// How many lines of a runtime's output the node logs: a token bucket of `burst` lines that
/// refills at `linesPerSecond`. The output is the runtime's, so untrusted; without a limit a
/// runtime could fill the node's log (and its disk). Lines over the limit are read (the runtime
/// never blocks on them) and dropped, and counted.
public struct OutputRateLimit: Hashable, Sendable {
    /// Lines logged at once after a quiet spell.
    public var burst: Int
    /// Lines logged per second in the long run.
    public var linesPerSecond: Int

    public init(burst: Int, linesPerSecond: Int) {
        precondition(burst >= 1 && linesPerSecond >= 0, "rate limit needs a burst of at least 1 and a rate of at least 0")
        self.burst = burst
        self.linesPerSecond = linesPerSecond
    }

    /// 1,000 lines at once, 200 lines/s in the long run: far above what a runtime logs at info
    /// (`kv-runtime` logs a few lines per start), well below what fills a disk.
    public static let `default` = OutputRateLimit(burst: 1000, linesPerSecond: 200)
    /// No limit at all.
    public static let unlimited = OutputRateLimit(burst: .max, linesPerSecond: .max)

    /// The bucket: the lines it holds, refilled as the clock moves.
    struct Bucket {
        enum Verdict: Equatable {
            /// Log the line; `droppedBefore` lines were dropped since the last one logged.
            case pass(droppedBefore: Int)
            case drop
        }

        let limit: OutputRateLimit
        var tokens: Double
        /// When the bucket was last refilled (since the relay began).
        var refilledAt: Duration = .zero
        var dropped = 0

        init(limit: OutputRateLimit) {
            self.limit = limit
            tokens = Double(limit.burst)
        }

        /// Whether a line read at `now` (since the relay began) is logged.
        mutating func admit(at now: Duration) -> Verdict {
            let (seconds, attoseconds) = (now - refilledAt).components
            refilledAt = now
            let earned = (Double(seconds) + Double(attoseconds) / 1e18) * Double(limit.linesPerSecond)
            tokens = min(Double(limit.burst), tokens + max(0, earned))
            guard tokens >= 1 else {
                dropped += 1
                return .drop
            }
            tokens -= 1
            return .pass(droppedBefore: takeDropped())
        }

        mutating func takeDropped() -> Int {
            defer { dropped = 0 }
            return dropped
        }
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result)
    -> Result
{
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
