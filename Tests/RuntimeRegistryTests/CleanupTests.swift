import Foundation
import Synchronization
import Testing

@testable import RuntimeRegistry

/// `cleanup()` against what can be under way when it runs: a tag indexer, a cancelled caller,
/// an add of a runtime.
@Suite("Registry cleanup", .timeLimit(.minutes(5)))
struct CleanupTests {
    @Test("cleanup from a cancelled task still waits for the tag indexer to quit before it closes the index")
    func cancelledCleanupWaitsForIndexer() async throws {
        try await Fixture.with { fixture in
            var options = fixture.options()
            options.tagIndexerBackend = "sqlite"
            let registry = try await fixture.registry(options)
            let runtime = try registry.runtime(IDs.compute)
            let index = try #require(runtime.tagIndexer).backend
            // Stands in for a running indexer: marked as indexing, and it quits when the test
            // opens `indexerQuit`.
            #expect(runtime.beginIndexing())
            let finished = Latch()
            let cleanup = Task {
                await registry.cleanup()
                finished.open()
            }
            cleanup.cancel()
            try await poll { runtime.indexerQuit.waiterCount == 1 || finished.isOpen }
            #expect(!finished.isOpen, "cleanup returned while the indexer was still running")
            // The index is still open for the indexer's last write.
            #expect(try await index.indexedThrough() == nil)
            runtime.indexerQuit.open()
            await cleanup.value
            await #expect(throws: (any Error).self) { _ = try await index.indexedThrough() }
        }
    }

    @Test("an add after cleanup fails and leaves nothing behind")
    func addAfterCleanup() async throws {
        try await Fixture.with(runtimes: [computeDescriptor(), computeDescriptor(IDs.other)]) { fixture in
            let registry = try await fixture.registry(fixture.options())
            await registry.cleanup()
            await #expect(throws: RegistryError.cleanedUp(IDs.other)) { try await registry.addSupportedRuntime(IDs.other) }
            #expect(
                "\(RegistryError.cleanedUp(IDs.other))"
                    == "runtime/registry: cannot add runtime \(IDs.other): the registry has been cleaned up")
            #expect(registry.runtimes().map(\.id) == [IDs.compute])
            #expect(fixture.dataDirEntries().filter { $0.contains(IDs.other.description) }.isEmpty)
        }
    }

    @Test("an add under way when cleanup begins is stopped again, and cleanup waits for it")
    func addDuringCleanup() async throws {
        try await Fixture.with(runtimes: [computeDescriptor(), computeDescriptor(IDs.other)]) { fixture in
            let consensus = HeldTracking(base: fixture.consensus)
            let config = try await fixture.registry(fixture.options([])).config
            let registry = Registry(
                dataDir: fixture.dataDir, config: config, consensus: consensus, logger: quietLogger)
            let add = Task { try await registry.addSupportedRuntime(IDs.compute) }
            // The add has made the runtime's stores and asks consensus to track its history.
            try await consensus.entered.wait()
            let cleanupFinished = Latch()
            let cleanup = Task {
                await registry.cleanup()
                cleanupFinished.open()
            }
            // A second add of the same runtime is refused as a duplicate until cleanup begins,
            // and as too late after.
            try await poll {
                await errorText { try await registry.addSupportedRuntime(IDs.compute) }
                    == "\(RegistryError.cleanedUp(IDs.compute))"
            }
            #expect(!cleanupFinished.isOpen, "cleanup returned before the add under way ended")
            consensus.release.open()
            await #expect(throws: RegistryError.cleanedUp(IDs.compute)) { try await add.value }
            await cleanup.value
            #expect(registry.runtimes().isEmpty)
            // What the add set up was closed again: tracking ended, the history closed.
            #expect(consensus.untracked == [IDs.compute])
            let history = try #require(consensus.histories.first)
            await #expect(throws: HistoryError.closed) { _ = try await history.lastConsensusHeight() }
        }
    }
}

/// Polls `condition` every few milliseconds; fails the test after 120 s.
private func poll(_ condition: @Sendable () async -> Bool) async throws {
    let clock = ContinuousClock()
    let end = clock.now + .seconds(120)
    while !(await condition()) {
        guard clock.now < end else { throw PollTimedOut() }
        try await Task.sleep(for: .milliseconds(5))
    }
}

private struct PollTimedOut: Error {}

/// The fixture's consensus, except that `trackRuntime` holds until `release` opens, and what it
/// is asked to track and untrack is recorded.
private final class HeldTracking: DelegatingConsensus {
    let base: any ConsensusBackend
    let entered = Latch()
    let release = Latch()
    private let calls = Mutex<(histories: [any RoothashHistory], untracked: [Namespace])>(([], []))

    init(base: any ConsensusBackend) { self.base = base }

    var histories: [any RoothashHistory] { calls.withLock { $0.histories } }
    var untracked: [Namespace] { calls.withLock { $0.untracked } }

    func trackRuntime(history: any RoothashHistory) async throws {
        calls.withLock { $0.histories.append(history) }
        entered.open()
        await release.waitIgnoringCancellation()
        try await base.trackRuntime(history: history)
    }

    func untrackRuntime(id: Namespace) async {
        calls.withLock { $0.untracked.append(id) }
        await base.untrackRuntime(id: id)
    }
}
