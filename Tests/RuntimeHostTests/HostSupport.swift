import Glibc
import Logging
import OasisCommon
@testable import RuntimeHost
import RuntimeHostProtocol
import Synchronization
import Testing

extension Fixtures {
    /// The reference runtime (Sources/kv-runtime).
    static var kvRuntime: String { buildDirectory + "/kv-runtime" }
    /// The misbehaving runtime (Sources/host-fixture-runtime).
    static var fixtureRuntime: String { buildDirectory + "/host-fixture-runtime" }

    /// A symlink to the fixture runtime whose name selects `mode` (the provisioner passes no
    /// arguments). Lives in `directory`.
    static func fixtureRuntime(mode: String, in directory: TemporaryDirectory) -> String {
        let link = directory.path + "/fixture--" + mode
        precondition(symlink(fixtureRuntime, link) == 0, "cannot link the fixture runtime")
        return link
    }

    static let hostInfo = HostInfo(
        consensusBackend: "tendermint", consensusProtocolVersion: Version.consensusProtocol.packed,
        consensusChainContext: "runtime-host-tests")

    static let runtimeID = Namespace.test(seed: "runtime-host-tests")

    /// A logger that drops everything below warning, so failures stay readable.
    static var logger: Logger {
        var logger = Logger(label: "runtime-host-tests")
        logger.logLevel = .warning
        return logger
    }
}

extension SupervisorTimings {
    /// The defaults, without the real-time deadlines that a loaded machine could miss in a
    /// test about something else: the runtime's connect (5 s), the handshake (1 s), a graceful
    /// abort (1 s) and the watchdog (a 5 s ping deadline every 15 s). The connection enforces
    /// these deadlines on wall-clock time whatever clock the supervisor runs on, so one stall
    /// of the test process would turn a start into `failedToStart` (and a backoff on a manual
    /// clock nobody advances), a graceful abort into a kill, or a live runtime into a restart.
    static var patient: SupervisorTimings {
        var timings = SupervisorTimings()
        timings.connectTimeout = .seconds(3600)
        timings.handshakeTimeout = .seconds(3600)
        timings.abortTimeout = .seconds(3600)
        timings.watchdogInterval = nil
        return timings
    }
}

/// The provisioner modes the shared suite runs in.
enum HostMode: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case unconfined, sandboxed
    var testDescription: String { rawValue }

    var sandboxMode: SandboxMode {
        switch self {
        case .unconfined: .unconfined
        case .sandboxed: .sandboxed(Fixtures.sandboxOptions())
        }
    }
}

/// The name of an event's case, for comparing sequences.
func kind(_ event: HostEvent) -> String {
    switch event {
    case .started: "started"
    case .failedToStart: "failedToStart"
    case .stopped: "stopped"
    case .updated: "updated"
    }
}

/// Every event of one subscription, collected by a child task of ``hosting(_:_:)``.
final class EventLog: Sendable {
    private let events = Mutex<[HostEvent]>([])

    func record(_ stream: AsyncStream<HostEvent>) async {
        for await event in stream { events.withLock { $0.append(event) } }
    }

    var all: [HostEvent] { events.withLock { $0 } }
    var kinds: [String] { all.map(kind) }

    /// Waits (bounded; generous for a loaded machine) until at least `count` events are in.
    @discardableResult
    func waitFor(count: Int, seconds: Int = 120) async throws -> [HostEvent] {
        for _ in 0..<(seconds * 50) {
            let snapshot = all
            if snapshot.count >= count { return snapshot }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("expected \(count) events within \(seconds) s, have \(kinds)")
        throw TimedOut()
    }

    /// Waits (bounded) until an event of `kind` appears after the first `skipping` events.
    @discardableResult
    func waitFor(_ wanted: String, after skipping: Int = 0, seconds: Int = 120) async throws -> HostEvent {
        for _ in 0..<(seconds * 50) {
            if let event = all.dropFirst(skipping).first(where: { kind($0) == wanted }) { return event }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("expected \(wanted) within \(seconds) s, have \(kinds)")
        throw TimedOut()
    }
}

/// Runs `runtime`'s service and an event log while `body` runs, then stops the runtime and
/// waits (bounded) for its service to return and the event subscription to end.
func hosting<T>(_ runtime: any HostedRuntime, _ body: (EventLog) async throws -> T) async throws -> T {
    let log = EventLog()
    let events = runtime.events()
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await runtime.run() }
        group.addTask { await log.record(events) }
        let result: T
        do {
            result = try await body(log)
        } catch {
            runtime.stop()
            group.cancelAll()
            throw error
        }
        runtime.stop()
        group.addTask {
            try await Task.sleep(for: .seconds(60))
            throw StopTimedOut()
        }
        // The service and the event log end; the bound would throw first otherwise.
        try await group.next()
        try await group.next()
        group.cancelAll()
        return result
    }
}

struct StopTimedOut: Error, CustomStringConvertible {
    var description: String { "the runtime's service did not return within 60 s of stop()" }
}

/// A `ManualClock` that records every sleep's duration, for asserting on the delays a
/// supervisor asks for.
final class RecordingClock: Clock, Sendable {
    typealias Instant = ManualClock.Instant
    typealias Duration = Swift.Duration

    let manual = ManualClock()
    private let recorded = Mutex<[Duration]>([])
    private let consumed = Mutex(0)

    var now: Instant { manual.now }
    var minimumResolution: Duration { .zero }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        recorded.withLock { $0.append(manual.now.duration(to: deadline)) }
        try await manual.sleep(until: deadline, tolerance: tolerance)
    }

    func advance(by duration: Duration) { manual.advance(by: duration) }

    /// The next recorded sleep not yet returned by this method (waits, bounded).
    func nextSleep(seconds: Int = 120) async throws -> Duration {
        for _ in 0..<(seconds * 50) {
            let index = consumed.withLock { $0 }
            if let delay = recorded.withLock({ index < $0.count ? $0[index] : nil }) {
                consumed.withLock { $0 += 1 }
                return delay
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("no sleep on the clock within \(seconds) s (recorded: \(recorded.withLock { $0 }))")
        throw TimedOut()
    }

    /// Waits (bounded) until a task sleeps on the clock.
    func waitForSleeper(seconds: Int = 120) async throws {
        guard await withDeadline(.seconds(seconds), { await self.manual.waitForSleepers(count: 1) }) != nil else {
            Issue.record("nothing slept on the clock within \(seconds) s")
            throw TimedOut()
        }
    }
}
