import Foundation
import RuntimeNode
import RuntimeRegistry
import ServiceLifecycle
import Testing

/// The monitor as the node runs it: in one service group with the runtime's other services.
@Suite("Hosted runtime monitor", .timeLimit(.minutes(3)))
struct HostedRuntimeMonitorTests {
    /// Runs a service and opens `returned` when its `run()` comes back.
    struct Tracked: Service {
        let service: any Service
        let returned = Latch()
        func run() async throws {
            defer { returned.open() }
            try await service.run()
        }
    }

    /// On graceful shutdown: stops the runtime (its events end, as when the node's group shuts
    /// the supervisor down), then gives the monitor up to `patience` to return.
    struct StopsTheRuntime: Service {
        let runtimeGroup: ServiceGroup
        let runtimeRun: Task<Void, any Error>
        let monitor: Tracked
        let patience: Duration
        func run() async throws {
            try? await gracefulShutdown()
            await runtimeGroup.triggerGracefulShutdown()
            try await runtimeRun.value
            _ = try? await race(monitor.returned, orSleep: patience)
        }
    }

    @Test("when the runtime's events end during another service's shutdown, the group still shuts down cleanly")
    func eventsEndDuringShutdown() async throws {
        let hosted = RichRuntime(
            try await MockProvisioner().newRuntime(HostConfig(runtimeID: executorRuntimeID, path: "/bin/true")))
        let monitor = HostedRuntimeMonitor(runtime: hosted, logger: executorTestLogger)
        let runtimeGroup = ServiceGroup(configuration: ServiceGroupConfiguration(services: [hosted], logger: executorTestLogger))
        let runtimeRun = Task { try await runtimeGroup.run() }
        hosted.start()

        let tracked = Tracked(service: monitor)
        let stopper = StopsTheRuntime(
            runtimeGroup: runtimeGroup, runtimeRun: runtimeRun, monitor: tracked, patience: .seconds(2))
        // The node's per-runtime group: the monitor first, so it is shut down last.
        let parts: [any Service] = [tracked, stopper]
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: parts.map {
                ServiceGroupConfiguration.ServiceConfiguration(
                    service: $0, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore)
            },
            logger: executorTestLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await eventually("the monitor sees the runtime start") { monitor.isStarted }
            await group.triggerGracefulShutdown()
            // Without the monitor waiting for its turn, this throws `serviceFinishedUnexpectedly`.
            try await tasks.waitForAll()
        }
        #expect(tracked.returned.isOpen)
        #expect(monitor.status.state == .stopped)
    }
}

/// A hosted runtime that only publishes the events a test gives it.
final class ScriptedRuntime: HostedRuntime {
    let id = executorRuntimeID
    private let broadcaster = Broadcaster<HostEvent>(replayLast: false)
    func call(_ body: Body, timeout: Duration?) async throws -> Body { throw HostRuntimeError(.notReady, "scripted") }
    func events() -> AsyncStream<HostEvent> { broadcaster.subscribe() }
    func start() {}
    func abort(force: Bool) async throws {}
    func stop() {}
    func run() async throws {}
    func publish(_ event: HostEvent) { broadcaster.publish(event) }
    func finish() { broadcaster.finish() }
}

extension HostedRuntimeMonitorTests {
    @Test("a start that stop() cut short leaves the runtime stopped, not failed; a real failure is failed")
    func startInterruptedByStop() async throws {
        let runtime = ScriptedRuntime()
        let monitor = HostedRuntimeMonitor(runtime: RichRuntime(runtime), logger: executorTestLogger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [monitor], logger: executorTestLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            runtime.publish(.failedToStart(HostRuntimeError(.startFailed, "failed to spawn process: no such file")))
            try await eventually("the monitor sees the failure") { monitor.status.state == .failed }
            #expect(monitor.status.lastError == "failed to spawn process: no such file")
            runtime.publish(.failedToStart(HostRuntimeError(.stopped, "failed to initialize connection: runtime is stopped")))
            try await eventually("the monitor sees the stop") { monitor.status.state == .stopped }
            runtime.finish()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

/// Waits for `latch`, or `limit` at most; true if it opened.
private func race(_ latch: Latch, orSleep limit: Duration) async throws -> Bool {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            await latch.waitUnlessCancelled()
            return !Task.isCancelled
        }
        group.addTask {
            try await Task.sleep(for: limit)
            return false
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
