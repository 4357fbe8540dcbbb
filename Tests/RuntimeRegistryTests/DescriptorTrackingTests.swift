import Foundation
import RuntimeRegistry
import ServiceLifecycle
import Testing

/// spec/core.md §1.6, §1.9 and §10 cases 38, 39, 41–44, on the embedded consensus. Tests wait
/// on the watcher's tracking events, never on time.
@Suite("Descriptor tracking", .timeLimit(.minutes(3)))
struct DescriptorTrackingTests {
    /// Waits until the watcher has stored the registry descriptor and the active one.
    func awaitReady(_ events: inout AsyncStream<DescriptorTrackingEvent>.Iterator) async throws {
        var registry = false
        var active = false
        while !(registry && active) {
            guard let event = await events.next() else { throw StreamEnded() }
            if event == .registryUpdated { registry = true }
            if event == .activeUpdated { active = true }
        }
    }

    /// Advances the chain to the next epoch transition.
    func advanceEpoch(_ consensus: LocalConsensus) async throws {
        let epoch = consensus.epoch
        while consensus.epoch == epoch { try await consensus.advanceBlock() }
    }

    @Test("host() without a runtime.paths entry: runtime host not configured (38)")
    func hostNotConfigured() async throws {
        try await Fixture.with { fixture in
            for paths: [Namespace]? in [nil, [IDs.other]] {
                let registry = try await fixture.registry(fixture.options([IDs.compute], paths: paths))
                let runtime = try registry.runtime(IDs.compute)
                #expect(!runtime.hasHost)
                await #expect(throws: RegistryError.runtimeHostNotConfigured) { _ = try await runtime.host() }
                await registry.cleanup()
            }
        }
    }

    @Test("host() of an SGX runtime under the mock provisioner: no provisioner for intel-sgx (39)")
    func noProvisionerForSGX() async throws {
        let sgx = computeDescriptor(IDs.sgx, tee: .intelSGX)
        try await Fixture.with(runtimes: [computeDescriptor(), sgx]) { fixture in
            let registry = try await fixture.registry(fixture.options([IDs.compute, IDs.sgx], paths: [IDs.compute, IDs.sgx]))
            try await whileRunning(registry.runtimes()) {
                let runtime = try registry.runtime(IDs.sgx)
                #expect(runtime.hasHost)
                #expect(await errorText { _ = try await runtime.host() } == "no provisioner suitable for TEE hardware 'intel-sgx'")
                let plain = try await registry.runtime(IDs.compute).host()
                #expect(plain.config.runtimeID == IDs.compute)
                #expect(plain.config.path == "/bin/true")
            }
            await registry.cleanup()
        }
    }

    @Test("host() while waiting for the descriptor is cancelled: failed to get runtime registry descriptor")
    func hostCancelled() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options([IDs.compute], paths: [IDs.compute]))
            let runtime = try registry.runtime(IDs.compute)  // its watcher does not run
            let waiting = Task { try await runtime.host() }
            waiting.cancel()
            await #expect(throws: RegistryError.registryDescriptorUnavailable("CancellationError()")) {
                _ = try await waiting.value
            }
            await registry.cleanup()
        }
    }

    @Test("registryDescriptor() in a cancelled task before any event: the cancellation error (41)")
    func cancelledWait() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options())
            let runtime = try registry.runtime(IDs.compute)
            let waiting = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await runtime.registryDescriptor()
            }
            await #expect(throws: CancellationError.self) { _ = try await waiting.value }
            await registry.cleanup()
        }
    }

    @Test("descriptor waits end when the runtime stops before any event, instead of lasting for good")
    func waitsEndAtStop() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options([IDs.compute], paths: [IDs.compute]))
            let runtime = try registry.runtime(IDs.compute)  // its watcher does not run
            let parked = Task { try await runtime.registryDescriptor() }  // may wait before the stop
            await registry.cleanup()
            let waits = Task {
                await #expect(throws: CancellationError.self) { _ = try await parked.value }
                await #expect(throws: CancellationError.self) { _ = try await runtime.registryDescriptor() }
                await #expect(throws: CancellationError.self) { _ = try await runtime.activeDescriptor() }
                await #expect(throws: RegistryError.registryDescriptorUnavailable("CancellationError()")) {
                    _ = try await runtime.host()
                }
            }
            // Only ends a hung wait; a wait ended this way is a failure.
            let timedOut = Latch()
            let watchdog = Task {
                try await Task.sleep(for: .seconds(120))
                timedOut.open()
                parked.cancel()
                waits.cancel()
            }
            await waits.value
            watchdog.cancel()
            #expect(!timedOut.isOpen)
        }
    }

    @Test("identical registrations broadcast twice; unchanged epochs broadcast no active update (42)")
    func broadcasts() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options())
            let runtime = try registry.runtime(IDs.compute)
            var events = runtime.trackingEvents().makeAsyncIterator()
            try await whileRunning([runtime]) {
                try await awaitReady(&events)
                var registryUpdates = runtime.registryDescriptorUpdates.makeAsyncIterator()
                var activeUpdates = runtime.activeDescriptorUpdates.makeAsyncIterator()
                #expect(await registryUpdates.next() == computeDescriptor())  // replayed
                #expect(await activeUpdates.next() == computeDescriptor())  // replayed

                // Two byte-identical registrations: two broadcasts.
                try await fixture.consensus.registerRuntime(computeDescriptor())
                try await fixture.consensus.registerRuntime(computeDescriptor())
                #expect(await registryUpdates.next() == computeDescriptor())
                #expect(await registryUpdates.next() == computeDescriptor())

                // Two epoch transitions with the same runtime state: nothing broadcast...
                for _ in 0..<2 {
                    try await advanceEpoch(fixture.consensus)
                    try await awaitEvents(&events) { $0 == .activeUnchanged }
                }
                // ...so the next active value is the update that becomes active at the next epoch.
                let updated = computeDescriptor(roundTimeout: 40)
                try await fixture.consensus.registerRuntime(updated)
                #expect(await registryUpdates.next() == updated)
                #expect(try await runtime.activeDescriptor() == computeDescriptor())  // not yet
                try await advanceEpoch(fixture.consensus)
                #expect(await activeUpdates.next() == updated)
                #expect(try await runtime.activeDescriptor() == updated)
                #expect(try await runtime.registryDescriptor() == updated)
            }
            await registry.cleanup()
        }
    }

    @Test("a registration of another runtime changes nothing and fires no signal (43)")
    func otherRuntimeIgnored() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options())
            // A runtime consensus does not know: nothing ever concerns it.
            let runtime = registry.newUnmanagedRuntime(IDs.unknown)
            var events = runtime.trackingEvents().makeAsyncIterator()
            var updates = runtime.registryDescriptorUpdates.makeAsyncIterator()
            try await whileRunning([runtime]) {
                try await awaitEvents(&events) { $0 == .ignoredOtherRuntime(IDs.compute) }
                try await fixture.consensus.registerRuntime(computeDescriptor(IDs.other))
                try await awaitEvents(&events) { $0 == .ignoredOtherRuntime(IDs.other) }
                let waiting = Task { try await runtime.registryDescriptor() }
                waiting.cancel()
                await #expect(throws: CancellationError.self) { _ = try await waiting.value }
                // Once it is registered, its descriptor is the first value the watch gives:
                // nothing was broadcast before.
                let own = computeDescriptor(IDs.unknown)
                try await fixture.consensus.registerRuntime(own)
                #expect(await updates.next() == own)
                #expect(try await runtime.registryDescriptor() == own)
            }
            await registry.cleanup()
        }
    }

    @Test("a key-manager runtime: the registry descriptor resolves, the active one never does (44)")
    func keyManager() async throws {
        try await Fixture.with(runtimes: [computeDescriptor(), keyManagerDescriptor()]) { fixture in
            let registry = try await fixture.registry(fixture.options([IDs.keyManager]))
            let runtime = try registry.runtime(IDs.keyManager)
            var events = runtime.trackingEvents().makeAsyncIterator()
            try await whileRunning([runtime]) {
                try await awaitEvents(&events) { $0 == .registryUpdated }
                #expect(try await runtime.registryDescriptor() == keyManagerDescriptor())
                try await advanceEpoch(fixture.consensus)
                try await awaitEvents(&events) {
                    if case .activeQueryFailed = $0 { true } else { false }
                }
                let waiting = Task { try await runtime.activeDescriptor() }
                waiting.cancel()
                await #expect(throws: CancellationError.self) { _ = try await waiting.value }
            }
            await registry.cleanup()
        }
    }
}
