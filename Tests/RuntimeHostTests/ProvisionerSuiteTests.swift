import ConsensusAPI
import Glibc
import OasisCBOR
import OasisCommon
import RuntimeHost
import RuntimeHostProtocol
import Testing

/// oasis-core's shared provisioner suite (`tests/tester.go`: Basic and Restart) with kv-runtime,
/// unconfined and sandboxed (host.md §6.14).
@Suite("Provisioner suite")
struct ProvisionerSuiteTests {
    /// The tests assert exact event sequences: patient timings, so that a loaded machine's
    /// stall neither fails a start (a missed 1 s handshake), nor turns a graceful abort into a
    /// kill (a missed 1 s abort deadline), nor lets the watchdog restart the runtime.
    func provisioner(_ mode: HostMode) -> SandboxProvisioner {
        SandboxProvisioner(hostInfo: Fixtures.hostInfo, mode: mode.sandboxMode, logger: Fixtures.logger, timings: .patient)
    }

    func kvRuntime(_ mode: HostMode) async throws -> SupervisedRuntime {
        let runtime = try await provisioner(mode).newRuntime(HostConfig(runtimeID: Fixtures.runtimeID, path: Fixtures.kvRuntime))
        return try #require(runtime as? SupervisedRuntime)
    }

    @Test("Basic: started with kv-runtime's version, a ping answers Empty, stop gives stopped", arguments: HostMode.allCases)
    func basic(_ mode: HostMode) async throws {
        let runtime = try await kvRuntime(mode)
        let pid = try await hosting(runtime) { log in
            runtime.start()
            guard case .started(let version, let capability) = try await log.waitFor("started") else {
                Issue.record("first event is not started: \(log.kinds)")
                return Int32(0)
            }
            #expect(version == Version(major: 0, minor: 1, patch: 0))
            #expect(capability == nil)
            #expect(log.kinds == ["started"])

            let pong = try await runtime.call(.runtimePingRequest, timeout: .seconds(300))
            #expect(pong == .empty)

            // kv-runtime has no key manager: unlike v21.1's simple-keyvalue, it refuses the
            // policy update, and the refusal arrives as the runtime's error.
            let policy = RuntimeKeyManagerPolicyUpdateRequest(signedPolicyRaw: [0xa0])
            await #expect(throws: (any Error).self) {
                try await runtime.call(.runtimeKeyManagerPolicyUpdateRequest(policy), timeout: .seconds(300))
            }
            // A query round-trips through the same connection.
            let id = try await RichRuntime(runtime).query(block: Block(), method: "get_runtime_id", timeout: .seconds(300))
            #expect(id == .textString(Fixtures.runtimeID.description))
            return try #require(runtime.pid)
        }
        // hosting() stopped the runtime and waited for the service to end.
        #expect(await waitUntilGone(pid))
        #expect(runtime.pid == nil)
    }

    @Test("stop gives exactly one stopped, and nothing after it", arguments: HostMode.allCases)
    func stopOnce(_ mode: HostMode) async throws {
        let runtime = try await kvRuntime(mode)
        let log = try await hosting(runtime) { log in
            runtime.start()
            try await log.waitFor("started")
            runtime.stop()
            runtime.stop()  // idempotent, unlike v21.1
            return log
        }
        #expect(log.kinds == ["started", "stopped"])
    }

    @Test("Restart: a forced abort gives stopped then started with a new process", arguments: HostMode.allCases)
    func forcedAbort(_ mode: HostMode) async throws {
        let runtime = try await kvRuntime(mode)
        try await hosting(runtime) { log in
            runtime.start()
            try await log.waitFor("started")
            let first = try #require(runtime.pid)
            try await runtime.abort(force: true)
            // abort returns after stopped is published, before the replacement is necessarily up.
            try await log.waitFor("stopped")
            try await log.waitFor("started", after: 2)
            #expect(log.kinds == ["started", "stopped", "started"])
            #expect(runtime.pid != first)
            #expect(await waitUntilGone(first))
            #expect(try await runtime.call(.runtimePingRequest, timeout: .seconds(300)) == .empty)
        }
    }

    @Test("Restart: graceful aborts (twice, the second on an idle dispatcher) keep the runtime", arguments: HostMode.allCases)
    func gracefulAborts(_ mode: HostMode) async throws {
        let runtime = try await kvRuntime(mode)
        try await hosting(runtime) { log in
            runtime.start()
            try await log.waitFor("started")
            let pid = try #require(runtime.pid)
            try await runtime.abort(force: false)
            try await runtime.abort(force: false)
            // No stopped may follow (v21.1 waits 10 s; 3 s shows the same on an idle runtime).
            try await Task.sleep(for: .seconds(3))
            #expect(log.kinds == ["started"])
            #expect(runtime.pid == pid)
        }
    }
}
