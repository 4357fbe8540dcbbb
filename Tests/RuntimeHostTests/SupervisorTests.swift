import Foundation
import Glibc
import Logging
import MetricsTestKit
import OasisCommon
@testable import RuntimeHost
import RuntimeHostProtocol
import Synchronization
import Testing

/// Restarts, the watchdog and the start sequence's failures, on a recording manual clock
/// wherever time matters.
@Suite("Runtime supervisor")
struct SupervisorTests {
    /// Deterministic timings: no jitter, no watchdog unless a test turns it on, and none of the
    /// deadlines the connection also enforces in real time within reach of a loaded machine
    /// (a handshake missed by a stalled test process fails the start, and its backoff sleeps
    /// on a clock the test does not advance).
    static var timings: SupervisorTimings {
        var timings = SupervisorTimings.patient
        timings.backoffJitter = 0
        timings.healthyAfter = .seconds(3600)
        return timings
    }

    /// A supervised runtime; its supervisor logs to `logs` when given, and counts to `metrics`.
    func runtime(
        path: String, clock: RecordingClock, timings: SupervisorTimings = Self.timings,
        mode: SandboxMode = .unconfined, initializer: HostInitializer? = nil, logs: RecordingLogHandler.Store? = nil,
        metrics: TestMetrics? = nil, memoryLimit: UInt64? = nil
    ) async throws -> SupervisedRuntime {
        let logger = logs.map { logs in Logger(label: "test") { _ in RecordingLogHandler(store: logs) } } ?? Fixtures.logger
        let provisioner = SandboxProvisioner(
            hostInfo: Fixtures.hostInfo, mode: mode, clock: clock, logger: logger, timings: timings,
            initializer: initializer, metricsFactory: metrics, memoryLimit: memoryLimit)
        return try #require(
            try await provisioner.newRuntime(HostConfig(runtimeID: Fixtures.runtimeID, path: path)) as? SupervisedRuntime)
    }

    @Test("a runtime that exits after the handshake restarts after 500 ms, 750 ms, … capped at 60 s; stop works mid-backoff")
    func crashLoop() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = RecordingClock()
        let runtime = try await runtime(path: Fixtures.fixtureRuntime(mode: "exit-after-handshake", in: directory), clock: clock)
        let restarts = 14
        let delays = try await hosting(runtime) { log in
            runtime.start()
            var delays: [Duration] = []
            for _ in 0..<restarts {
                let delay = try await clock.nextSleep()
                delays.append(delay)
                try await clock.waitForSleeper()
                clock.advance(by: delay)
            }
            // Mid-backoff: the supervisor sleeps on the clock and must still stop at once.
            _ = try await clock.nextSleep()
            #expect(runtime.restartCount == restarts)
            // Every attempt got as far as the handshake (started, then stopped) or failed to
            // start if the exit beat the handshake's answer; never two starts in a row.
            let kinds = log.kinds.filter { $0 != "failedToStart" }
            #expect(kinds.count % 2 == 0)
            #expect(kinds == Array(repeating: ["started", "stopped"], count: kinds.count / 2).flatMap { $0 })
            #expect(log.kinds.count >= restarts + 1)
            return delays
        }
        let expected = (0..<restarts).map { step in
            min(Duration.nanoseconds(Int64((500_000_000 * pow(1.5, Double(step))).rounded())), .seconds(60))
        }
        #expect(delays == expected)
        #expect(delays.last == .seconds(60))
    }

    @Test("a runtime that floods its output has the lines over the rate limit dropped and counted, and keeps running")
    func floodedOutput() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let metrics = TestMetrics()
        let logs = RecordingLogHandler.Store()
        // The clock does not move, so the burst of 1,000 lines is all that passes.
        let runtime = try await runtime(
            path: Fixtures.fixtureRuntime(mode: "chatty", in: directory), clock: RecordingClock(), logs: logs,
            metrics: metrics)
        try await hosting(runtime) { log in
            runtime.start()
            _ = try await log.waitFor("started")
            let counter = try metrics.expectCounter(
                "oasis_runtime_host_output_dropped_lines", [("runtime", "\(Fixtures.runtimeID)")])
            // The fixture's own log line and 1,500 of its lines are 1,501: 501 over the burst.
            for _ in 0..<6000 where counter.totalValue < 501 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(counter.totalValue == 501)
            let relayed = logs.records.withLock { records in records.filter { $0.metadata["runtime.stream"] == "stderr" } }
            #expect(relayed.count == 1000)
            #expect(relayed.last?.message.hasPrefix("chatty line ") == true)
            #expect(runtime.restartCount == 0)
        }
    }

    @Test("a runtime that stops answering pings is killed by the watchdog and restarted")
    func watchdog() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = RecordingClock()
        #expect(SupervisorTimings().watchdogInterval == .seconds(15))
        #expect(SupervisorTimings().watchdogTimeout == .seconds(5))
        var timings = Self.timings
        timings.watchdogInterval = .seconds(15)
        // The ping's deadline runs on the clock and, in the connection, on wall-clock time: a
        // long one keeps a loaded machine from ending the ping (and the race the test advances
        // the clock for) before the test has seen it sleep.
        timings.watchdogTimeout = .seconds(3600)
        let runtime = try await runtime(
            path: Fixtures.fixtureRuntime(mode: "hang-pings", in: directory), clock: clock, timings: timings)
        try await hosting(runtime) { log in
            runtime.start()
            try await log.waitFor("started")
            let hung = try #require(runtime.pid)
            #expect(try await clock.nextSleep() == .seconds(15))
            try await clock.waitForSleeper()
            clock.advance(by: .seconds(15))
            #expect(try await clock.nextSleep() == .seconds(3600))
            try await clock.waitForSleeper()
            clock.advance(by: .seconds(3600))
            try await log.waitFor("stopped")
            #expect(await waitUntilGone(hung))
            #expect(try await clock.nextSleep() == .milliseconds(500))
            try await clock.waitForSleeper()
            clock.advance(by: .milliseconds(500))
            try await log.waitFor("started", after: 2)
            #expect(log.kinds == ["started", "stopped", "started"])
            #expect(runtime.restartCount == 1)
            #expect(runtime.pid != hung)
        }
    }

    @Test("a runtime that closes its connection but keeps running is killed and restarted, without the watchdog")
    func connectionClosedByRuntime() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = RecordingClock()
        // No watchdog (the shared timings turn it off): only the connection's end can tell.
        #expect(Self.timings.watchdogInterval == nil)
        let runtime = try await runtime(
            path: Fixtures.fixtureRuntime(mode: "close-on-usr1", in: directory), clock: clock)
        try await hosting(runtime) { log in
            runtime.start()
            try await log.waitFor("started")
            let silent = try #require(runtime.pid)
            // The fixture closes its connection on SIGUSR1 and goes on running.
            kill(silent, SIGUSR1)
            try await log.waitFor("stopped")
            #expect(await waitUntilGone(silent))
            #expect(try await clock.nextSleep() == .milliseconds(500))
            try await clock.waitForSleeper()
            clock.advance(by: .milliseconds(500))
            try await log.waitFor("started", after: 2)
            #expect(log.kinds.prefix(3) == ["started", "stopped", "started"])
            #expect(runtime.restartCount >= 1)
        }
    }

    @Test("a graceful abort unanswered by its deadline kills the runtime: abort returns after stopped, and it restarts at once")
    func unansweredAbort() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = RecordingClock()
        #expect(SupervisorTimings().abortTimeout == .seconds(1))
        // The test's timings make the deadline an hour: the connection enforces it on
        // wall-clock time too, and a 1 s one could end the abort on a loaded machine before the
        // test has seen it sleep on the clock (which it then waits for in vain).
        let runtime = try await runtime(path: Fixtures.fixtureRuntime(mode: "hang-aborts", in: directory), clock: clock)
        try await hosting(runtime) { log throws in
            runtime.start()
            try await log.waitFor("started")
            let stuck = try #require(runtime.pid)
            async let abort: Result<Void, any Error> = {
                do { return .success(try await runtime.abort(force: false)) } catch { return .failure(error) }
            }()
            let deadline = try await clock.nextSleep()
            #expect(deadline == .seconds(3600))
            try await clock.waitForSleeper()
            clock.advance(by: .seconds(3600))
            let outcome = await abort
            #expect(throws: Never.self) { try outcome.get() }
            try await log.waitFor("stopped")
            #expect(await waitUntilGone(stuck))
            // No backoff after an abort: the replacement starts without the clock moving.
            try await log.waitFor("started", after: 2)
            #expect(log.kinds == ["started", "stopped", "started"])
            #expect(runtime.pid != stuck)
        }
    }

    @Test("stop during a graceful abort kills the runtime and fails the abort with 'stopped'")
    func stopDuringAbort() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = RecordingClock()
        // The connection enforces the abort's deadline on wall-clock time too: the long one of
        // the test's timings keeps it from ending the abort on a loaded machine before stop() does.
        let runtime = try await runtime(path: Fixtures.fixtureRuntime(mode: "hang-aborts", in: directory), clock: clock)
        let log = try await hosting(runtime) { log throws in
            runtime.start()
            try await log.waitFor("started")
            let stuck = try #require(runtime.pid)
            async let abort: Result<Void, any Error> = {
                do { return .success(try await runtime.abort(force: false)) } catch { return .failure(error) }
            }()
            // The abort is in flight once its deadline sleeps on the clock, which never moves.
            #expect(try await clock.nextSleep() == .seconds(3600))
            try await clock.waitForSleeper()
            runtime.stop()
            let outcome = await abort
            let error = #expect(throws: HostRuntimeError.self) { try outcome.get() }
            #expect(error?.code == .stopped)
            try await log.waitFor("stopped")
            #expect(await waitUntilGone(stuck))
            return log
        }
        #expect(log.kinds == ["started", "stopped"])
    }

    @Test("stop while the initializer runs kills the runtime, ends the service and never publishes started")
    func stopDuringInitializer() async throws {
        let clock = RecordingClock()
        let initializing = Shared<Int32?>(nil)
        let runtime = try await runtime(
            path: Fixtures.kvRuntime, clock: clock,
            initializer: { context in
                initializing.set(context.pid)
                try await Task.sleep(for: .seconds(3600))
                return nil
            })
        // hosting() bounds the wait for run() to return after stop().
        let log = try await hosting(runtime) { log in
            runtime.start()
            for _ in 0..<6000 where initializing.value == nil { try await Task.sleep(for: .milliseconds(20)) }
            let pid = try #require(initializing.value)
            runtime.stop()
            #expect(await waitUntilGone(pid))
            return log
        }
        #expect(log.kinds == ["failedToStart"])
        if case .failedToStart(let error) = log.all.first {
            #expect("\(error)" == "failed to initialize connection: runtime is stopped")
            // Cut short by stop(), not a failure of the runtime's.
            #expect((error as? HostRuntimeError)?.code == .stopped)
        }
        #expect(runtime.pid == nil)
    }

    @Test(
        "cancelling the service while the initializer runs kills the runtime and is logged as an interruption, not a failure",
        .timeLimit(.minutes(5)))
    func cancelDuringInitializer() async throws {
        let initializing = Shared<Int32?>(nil)
        let logs = RecordingLogHandler.Store()
        let runtime = try await runtime(
            path: Fixtures.kvRuntime, clock: RecordingClock(),
            initializer: { context in
                initializing.set(context.pid)
                try await Task.sleep(for: .seconds(3600))
                return nil
            }, logs: logs)
        let log = EventLog()
        let events = runtime.events()
        let recording = Task { await log.record(events) }
        let service = Task { try await runtime.run() }
        runtime.start()
        for _ in 0..<6000 where initializing.value == nil { try await Task.sleep(for: .milliseconds(20)) }
        let pid = try #require(initializing.value)
        service.cancel()
        // The service returns and the subscription ends (bounded by the time limit).
        try await service.value
        await recording.value
        #expect(await waitUntilGone(pid))
        #expect(log.kinds == ["failedToStart"])
        if case .failedToStart(let error) = log.all.first {
            #expect((error as? HostRuntimeError)?.code == .stopped)
        }
        let records = logs.records.withLock { $0 }
        #expect(records.contains { $0.message == "runtime host: cancellation interrupted the start" && $0.level == .info })
        #expect(!records.contains { $0.level >= .error }, "\(records.filter { $0.level >= .error }.map(\.message))")
        #expect(runtime.pid == nil)
    }

    @Test("stop during the sandbox preflight interrupts it, and no bubblewrap starts afterwards")
    func stopDuringPreflight() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let runs = directory.path + "/runs"
        let release = directory.path + "/release"
        // Every run leaves its pid in `runs`; the first one is the preflight's trivial sandbox,
        // which waits for `release` and then succeeds.
        let bwrap = directory.write(
            "bwrap", "#!/bin/sh\necho $$ >> \(runs)\nwhile [ ! -e \(release) ]; do sleep 0.05; done\nexit 0\n")
        chmod(bwrap, 0o755)
        let options = SandboxOptions(bubblewrapPath: bwrap, preflightTimeout: .seconds(3600))
        let runtime = try await runtime(path: Fixtures.kvRuntime, clock: RecordingClock(), mode: .sandboxed(options))
        func pids() -> [Int32] { (readFile(runs) ?? "").split(separator: "\n").compactMap { Int32($0) } }
        // hosting() bounds the wait for run() to return after stop().
        let log = try await hosting(runtime) { log in
            runtime.start()
            for _ in 0..<6000 where pids().isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            let preflight = try #require(pids().first)
            runtime.stop()
            #expect(await waitUntilGone(preflight))
            // A preflight still running would now succeed and let the runtime's bubblewrap start.
            _ = directory.write("release", "")
            return log
        }
        #expect(pids().count == 1)
        #expect(log.kinds == ["failedToStart"])
        if case .failedToStart(let error) = log.all.first {
            #expect("\(error)" == "failed to spawn sandbox: runtime is stopped")
            // Cut short by stop(), not a failure of the runtime's.
            #expect((error as? HostRuntimeError)?.code == .stopped)
        }
        #expect(runtime.pid == nil)
    }

    @Test("without start there are no events and no process")
    func noStart() async throws {
        let clock = RecordingClock()
        let runtime = try await runtime(path: Fixtures.kvRuntime, clock: clock)
        let log = try await hosting(runtime) { log in
            try await Task.sleep(for: .milliseconds(500))
            #expect(runtime.pid == nil)
            return log
        }
        #expect(log.kinds.isEmpty)
    }

    @Test("start twice runs one supervisor and one process")
    func startTwice() async throws {
        let clock = RecordingClock()
        let runtime = try await runtime(path: Fixtures.kvRuntime, clock: clock)
        try await hosting(runtime) { log in
            runtime.start()
            runtime.start()
            try await log.waitFor("started")
            try await Task.sleep(for: .seconds(1))
            #expect(log.kinds == ["started"])
            #expect(runtime.restartCount == 0)
        }
    }

    @Test("a missing runtime binary fails to start with 'failed to spawn process:', retried after the backoff")
    func missingBinary() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = RecordingClock()
        let runtime = try await runtime(path: directory.path + "/missing", clock: clock)
        try await hosting(runtime) { log in
            runtime.start()
            guard case .failedToStart(let error) = try await log.waitFor("failedToStart") else { return }
            #expect("\(error)".hasPrefix("failed to spawn process:"))
            #expect(try await clock.nextSleep() == .milliseconds(500))
            try await clock.waitForSleeper()
            clock.advance(by: .milliseconds(500))
            try await log.waitFor(count: 2)
            #expect(log.kinds == ["failedToStart", "failedToStart"])
            #expect(try await clock.nextSleep() == .milliseconds(750))
        }
    }

    @Test("a runtime that exits before connecting fails with 'terminated while waiting for runtime to connect'")
    func exitsBeforeConnecting() async throws {
        let clock = RecordingClock()
        let runtime = try await runtime(path: "/bin/true", clock: clock)
        try await hosting(runtime) { log in
            runtime.start()
            guard case .failedToStart(let error) = try await log.waitFor("failedToStart") else { return }
            #expect("\(error)" == "terminated while waiting for runtime to connect")
        }
    }

    @Test(
        "a runtime that exits during its start has its exit status, and any memory limit, in the failure's log line",
        arguments: [nil, UInt64(64 << 20)])
    func exitStatusLogged(memoryLimit: UInt64?) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let script = directory.write("crashing-runtime", "#!/bin/sh\nexit 3\n")
        chmod(script, 0o755)
        let logs = RecordingLogHandler.Store()
        let runtime = try await runtime(path: script, clock: RecordingClock(), logs: logs, memoryLimit: memoryLimit)
        try await hosting(runtime) { log in
            runtime.start()
            guard case .failedToStart(let error) = try await log.waitFor("failedToStart") else { return }
            #expect("\(error)" == "terminated while waiting for runtime to connect")
            let failure = logs.records.withLock { records in
                records.first { $0.message == "runtime host: the runtime failed to start" }
            }
            #expect(failure?.metadata["runtime.exit"] == "process terminated with exit code 3")
            #expect(failure?.metadata["runtime.memory_limit"] == (memoryLimit == nil ? nil : "64MiB"))
        }
    }

    @Test(
        "a failed start says when the runtime was too close to its memory limit to start a thread, and only then",
        arguments: [(UInt64(104 << 20), true), (UInt64(1 << 30), false)])
    func memoryPressureNoted(limit: UInt64, noted: Bool) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        // Holds 100 MiB, then connects and hangs up at once (so the start fails without a
        // timeout), and sleeps on, as a runtime stuck at its limit would.
        let script = directory.write(
            "stuck-runtime", "#!/bin/sh\nexec \(Fixtures.probe) hold 100 unix \"$OASIS_WORKER_HOST\" sleep\n")
        chmod(script, 0o755)
        let runtime = try await runtime(path: script, clock: RecordingClock(), memoryLimit: limit)
        try await hosting(runtime) { log in
            runtime.start()
            guard case .failedToStart(let error) = try await log.waitFor("failedToStart") else { return }
            let text = "\(error)"
            if noted {
                #expect(text.contains(/; the runtime had allocated 10[01]\.\dMiB of its 104MiB memory limit, too close to it to start a thread; raise runtime\.limits\.memory$/), "\(text)")
            } else {
                #expect(!text.contains("memory limit"), "\(text)")
            }
        }
    }

    @Test("the memory note, which the watchdog's kill logs too, needs a limit and a process within a thread's room of it")
    func memoryPressureNote() async throws {
        let process = try await RuntimeProcess.spawn(probe(["hold", "100", "sleep"], .unconfined))
        let line = try await firstLines(of: process)[0]
        #expect(line == "hold 100 ok")
        let note = SupervisedRuntime.memoryPressureNote(pid: process.pid, limit: 104 << 20)
        #expect(note?.hasSuffix("of its 104MiB memory limit, too close to it to start a thread; raise runtime.limits.memory") == true)
        #expect(SupervisedRuntime.memoryPressureNote(pid: process.pid, limit: 1 << 30) == nil)
        #expect(SupervisedRuntime.memoryPressureNote(pid: process.pid, limit: nil) == nil)
        #expect(await process.kill() == .signaled(signal: SIGKILL))
        #expect(SupervisedRuntime.memoryPressureNote(pid: process.pid, limit: 104 << 20) == nil, "nothing to read")
    }

    @Test("a runtime that exits before connecting has what it left in its process group killed with it")
    func failedStartKillsTheGroup() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let recorded = directory.path + "/straggler"
        // The runtime leaves a child in its process group (no job control in a script) and
        // exits: the failed start kills "the process", which must take the group with it.
        let script = directory.write(
            "runtime", "#!/bin/sh\nsleep 3600 &\necho $! > \(recorded).tmp\nmv \(recorded).tmp \(recorded)\nexit 1\n")
        chmod(script, 0o755)
        let clock = RecordingClock()
        let runtime = try await runtime(path: script, clock: clock)
        let straggler = try await hosting(runtime) { log in
            runtime.start()
            guard case .failedToStart(let error) = try await log.waitFor("failedToStart") else { throw TimedOut() }
            #expect("\(error)" == "terminated while waiting for runtime to connect")
            // The supervisor is in its backoff once the attempt has been cleaned up.
            _ = try await clock.nextSleep()
            return try #require(readFile(recorded).flatMap { Int32($0.filter(\.isNumber)) })
        }
        let gone = await waitUntilGone(straggler)
        if !gone { kill(straggler, SIGKILL) }
        #expect(gone, "the runtime's child \(straggler) still runs")
    }

    @Test("a runtime killed from outside gives stopped, then started again after the backoff")
    func killedFromOutside() async throws {
        let clock = RecordingClock()
        let runtime = try await runtime(path: Fixtures.kvRuntime, clock: clock)
        try await hosting(runtime) { log in
            runtime.start()
            try await log.waitFor("started")
            let pid = try #require(runtime.pid)
            kill(pid, SIGKILL)
            try await log.waitFor("stopped")
            #expect(try await clock.nextSleep() == .milliseconds(500))
            try await clock.waitForSleeper()
            clock.advance(by: .milliseconds(500))
            try await log.waitFor("started", after: 2)
            #expect(log.kinds == ["started", "stopped", "started"])
        }
    }

    @Test("a call made before the runtime is up waits for it and succeeds")
    func callWaitsForStart() async throws {
        let clock = RecordingClock()
        let runtime = try await runtime(path: Fixtures.kvRuntime, clock: clock)
        try await hosting(runtime) { log throws in
            // The deadline left once connected is enforced on wall-clock time: generous.
            async let pong = runtime.call(.runtimePingRequest, timeout: .seconds(300))
            // The call is parked on the clock (its deadline) before anything runs.
            let parked = try await clock.nextSleep()
            #expect(parked == .seconds(300))
            runtime.start()
            let answer = try await pong
            #expect(answer == .empty)
        }
    }

    @Test("a call while no runtime can start fails with 'runtime is not ready' at its deadline")
    func callNotReady() async throws {
        let clock = RecordingClock()
        let runtime = try await runtime(path: "/nonexistent/runtime", clock: clock)
        try await hosting(runtime) { log in
            runtime.start()
            async let result: Result<Body, any Error> = {
                do { return .success(try await runtime.call(.runtimePingRequest, timeout: .seconds(1))) } catch { return .failure(error) }
            }()
            try await log.waitFor("failedToStart")
            // The backoff and the call's deadline sleep; run the clock past the deadline.
            for _ in 0..<2 { _ = try await clock.nextSleep() }
            clock.advance(by: .seconds(1))
            let outcome = await result
            let error = #expect(throws: HostRuntimeError.self) { try outcome.get() }
            #expect(error?.code == .notReady)
            #expect(error?.description == "runtime is not ready")
        }
    }

    @Test("the host socket's directory is private and gone once the runtime has started")
    func socketDirectoryRemoved() async throws {
        let clock = RecordingClock()
        let runtime = try await runtime(path: Fixtures.kvRuntime, clock: clock)
        try await hosting(runtime) { log in
            runtime.start()
            try await log.waitFor("started")
            let pid = try #require(runtime.pid)
            let environment = try #require(readFile("/proc/\(pid)/environ"))
            let socket = try #require(
                environment.split(separator: "\0").first { $0.hasPrefix("OASIS_WORKER_HOST=") }?
                    .dropFirst("OASIS_WORKER_HOST=".count))
            #expect(socket.hasSuffix("/host.sock"))
            #expect(access(String(socket.dropLast("/host.sock".count)), F_OK) != 0)
        }
    }

    @Test("stop during the restart backoff ends the service, and a pending abort fails with 'stopped'")
    func stopMidBackoff() async throws {
        let clock = RecordingClock()
        let runtime = try await runtime(path: "/nonexistent/runtime", clock: clock)
        let log = try await hosting(runtime) { log in
            runtime.start()
            try await log.waitFor("failedToStart")
            _ = try await clock.nextSleep()
            return log
        }
        #expect(log.kinds == ["failedToStart"])
        await #expect(throws: HostRuntimeError.self) { try await runtime.abort(force: true) }
    }
}

/// A value one task sets and another reads.
private final class Shared<Value: Sendable>: Sendable {
    private let stored: Mutex<Value>

    init(_ value: Value) { stored = Mutex(value) }

    var value: Value { stored.withLock { $0 } }

    func set(_ value: Value) { stored.withLock { $0 = value } }
}
