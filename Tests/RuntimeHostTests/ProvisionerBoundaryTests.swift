import Glibc
import OasisCommon
@testable import RuntimeHost
import RuntimeHostProtocol
import Testing

/// The provisioner's edges: the sandbox preflight, the SGX boundary and the initializer hook.
@Suite("Provisioner boundaries")
struct ProvisionerBoundaryTests {
    func runtime(_ provisioner: SandboxProvisioner, path: String = Fixtures.kvRuntime, extra: HostExtra = .none)
        async throws -> SupervisedRuntime
    {
        try #require(
            try await provisioner.newRuntime(HostConfig(runtimeID: Fixtures.runtimeID, path: path, extra: extra))
                as? SupervisedRuntime)
    }

    @Test("a sandboxed start with a missing bubblewrap emits failedToStart with the preflight's sentence")
    func missingBubblewrap() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let bwrap = directory.path + "/bwrap"
        let provisioner = SandboxProvisioner(
            hostInfo: Fixtures.hostInfo, mode: .sandboxed(SandboxOptions(bubblewrapPath: bwrap)), clock: RecordingClock(),
            logger: Fixtures.logger)
        let runtime = try await runtime(provisioner)
        try await hosting(runtime) { log in
            runtime.start()
            guard case .failedToStart(let error) = try await log.waitFor("failedToStart") else { return }
            #expect("\(error)" == "failed to spawn sandbox: sandbox preflight failed: \(bwrap) not found "
                + "(apt-get install bubblewrap, or run with --runtime.provisioner unconfined --debug.dont_blame_oasis)")
            #expect(runtime.pid == nil)
        }
    }

    @Test("a sandboxed start with a bubblewrap that cannot work fails with one sentence and leaves no process")
    func brokenBubblewrap() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let pidFile = directory.path + "/pid"
        let bwrap = directory.write(
            "bwrap", "#!/bin/sh\necho $$ > \(pidFile)\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
        chmod(bwrap, 0o755)
        // A generous preflight timeout (wall-clock): on a loaded machine the script could take
        // longer than the default 10 s, and the start would fail with another sentence.
        let options = SandboxOptions(bubblewrapPath: bwrap, preflightTimeout: .seconds(600))
        let provisioner = SandboxProvisioner(
            hostInfo: Fixtures.hostInfo, mode: .sandboxed(options), clock: RecordingClock(),
            logger: Fixtures.logger)
        let runtime = try await runtime(provisioner)
        try await hosting(runtime) { log in
            runtime.start()
            guard case .failedToStart(let error) = try await log.waitFor("failedToStart") else { return }
            let text = "\(error)"
            #expect(text.hasPrefix("failed to spawn sandbox: sandbox preflight failed: \(bwrap) could not run a sandbox"))
            #expect(!text.contains("\n"))
            let pid = try #require(Int32((readFile(pidFile) ?? "").filter { !$0.isWhitespace }))
            #expect(await waitUntilGone(pid))
            #expect(runtime.pid == nil)
        }
    }

    @Test("an SGX runtime with a loader on a host without SGX devices fails to start, saying so")
    func sgxUnavailable() async throws {
        let provisioner = SandboxProvisioner(
            hostInfo: Fixtures.hostInfo, mode: .unconfined, clock: RecordingClock(), logger: Fixtures.logger,
            sgx: SGXOptions(loaderPath: "/usr/bin/oasis-sgx-loader", devicePaths: ["/nonexistent/sgx_enclave", "/nonexistent/isgx"]))
        let runtime = try await runtime(
            provisioner, path: "/nonexistent/runtime.sgxs",
            extra: .sgx(signaturePath: "/nonexistent/runtime.sig", unsafeDebugGenerateSigstruct: false))
        try await hosting(runtime) { log in
            runtime.start()
            guard case .failedToStart(let error) = try await log.waitFor("failedToStart") else { return }
            let failure = try #require(error as? HostRuntimeError)
            #expect(failure.code == .sgxUnavailable)
            #expect(failure.message == "runtime \(Fixtures.runtimeID) is an SGX enclave run by the loader "
                + "/usr/bin/oasis-sgx-loader, but this host cannot run enclaves: none of /nonexistent/sgx_enclave, "
                + "/nonexistent/isgx exists; enable SGX in the firmware and load the SGX driver, or configure a "
                + "non-SGX build of the runtime")
        }
    }

    @Test("a sandboxed SGX runtime gets the SGX device with device access (--dev-bind), as v21.1's BindDev")
    func sgxDeviceBind() async throws {
        // /dev/zero stands in for the SGX device: the configuration only needs it to exist.
        let provisioner = SandboxProvisioner(
            hostInfo: Fixtures.hostInfo, mode: .sandboxed(Fixtures.sandboxOptions()), clock: RecordingClock(),
            logger: Fixtures.logger, sgx: SGXOptions(loaderPath: "/usr/bin/oasis-sgx-loader", devicePaths: ["/dev/zero"]))
        let runtime = try await runtime(
            provisioner, path: "/opt/runtime.sgxs",
            extra: .sgx(signaturePath: "/opt/runtime.sig", unsafeDebugGenerateSigstruct: false))
        let configuration = try runtime.processConfiguration(socketPath: "/tmp/oasis-runtime-test/host.sock")
        let libraries = ResolvedLibraries(interpreter: nil, libraries: [])
        let options = BubblewrapCommand.options(
            for: configuration, sandbox: Fixtures.sandboxOptions(), libraries: libraries)
        func hasTriple(_ triple: [String]) -> Bool {
            options.indices.dropLast(2).contains { Array(options[$0..<$0 + 3]) == triple }
        }
        // A plain --bind is mounted nodev: the loader could not open the device.
        #expect(hasTriple(["--dev-bind", "/dev/zero", "/dev/zero"]), "\(options)")
        #expect(!hasTriple(["--bind", "/dev/zero", "/dev/zero"]), "\(options)")
        #expect(hasTriple(["--bind", "/var/run/aesmd/aesm.socket", "/var/run/aesmd/aesm.socket"]))
    }

    @Test("the provisioner's memory limit is on every process it spawns: a runtime, or the SGX loader running one")
    func memoryLimit() async throws {
        for mode in [HostMode.sandboxed, .unconfined] {
            // /dev/zero stands in for the SGX device; nothing is spawned.
            let limited = SandboxProvisioner(
                hostInfo: Fixtures.hostInfo, mode: mode.sandboxMode, clock: RecordingClock(), logger: Fixtures.logger,
                sgx: SGXOptions(loaderPath: "/usr/bin/oasis-sgx-loader", devicePaths: ["/dev/zero"]),
                memoryLimit: 512 << 20)
            let plain = try await runtime(limited, path: "/opt/runtime")
            let enclave = try await runtime(
                limited, path: "/opt/runtime.sgxs",
                extra: .sgx(signaturePath: "/opt/runtime.sig", unsafeDebugGenerateSigstruct: false))
            for runtime in [plain, enclave] {
                let configuration = try runtime.processConfiguration(socketPath: "/tmp/oasis-runtime-test/host.sock")
                #expect(configuration.memoryLimit == 512 << 20, "\(mode)")
            }
            let unlimited = SandboxProvisioner(
                hostInfo: Fixtures.hostInfo, mode: mode.sandboxMode, clock: RecordingClock(), logger: Fixtures.logger)
            let configuration = try await runtime(unlimited, path: "/opt/runtime")
                .processConfiguration(socketPath: "/tmp/oasis-runtime-test/host.sock")
            #expect(configuration.memoryLimit == nil, "\(mode)")
        }
    }

    @Test("an SGX runtime without a SIGSTRUCT fails with 'failed to configure sandbox:' sandboxed, '…process:' unconfined")
    func sgxWithoutSignature() async throws {
        for (mode, step) in [(HostMode.sandboxed, "sandbox"), (.unconfined, "process")] {
            // /dev/zero stands in for the SGX device; nothing is spawned.
            let provisioner = SandboxProvisioner(
                hostInfo: Fixtures.hostInfo, mode: mode.sandboxMode, clock: RecordingClock(), logger: Fixtures.logger,
                sgx: SGXOptions(loaderPath: "/usr/bin/oasis-sgx-loader", devicePaths: ["/dev/zero"]))
            let runtime = try await runtime(
                provisioner, path: "/opt/runtime.sgxs", extra: .sgx(signaturePath: nil, unsafeDebugGenerateSigstruct: false))
            try await hosting(runtime) { log in
                runtime.start()
                guard case .failedToStart(let error) = try await log.waitFor("failedToStart") else { return }
                #expect("\(error)" == "failed to configure \(step): enclave SIGSTRUCT not available")
            }
        }
    }

    @Test("the initializer runs after the handshake and its TEE capability is in the started event")
    func initializerHook() async throws {
        let capability = CapabilityTEE(hardware: .intelSGX, rak: PublicKey(raw: .zero), attestation: [1, 2, 3])
        // Patient timings: a handshake missed on a loaded machine would fail the start and
        // back off on a clock that never moves.
        let provisioner = SandboxProvisioner(
            hostInfo: Fixtures.hostInfo, mode: .unconfined, clock: RecordingClock(), logger: Fixtures.logger,
            timings: .patient, initializer: { context in
                // The connection is Ready: the initializer can talk to the runtime.
                guard try await context.connection.call(.runtimePingRequest) == .empty else { return nil }
                return context.version == Version(major: 0, minor: 1, patch: 0) ? capability : nil
            })
        let runtime = try await runtime(provisioner)
        try await hosting(runtime) { log in
            runtime.start()
            guard case .started(_, let tee) = try await log.waitFor("started") else {
                Issue.record("no started event: \(log.kinds)")
                return
            }
            #expect(tee == capability)
        }
    }

    @Test("a failing initializer fails the start with 'failed to initialize connection:'")
    func initializerFails() async throws {
        struct AttestationFailed: Error, CustomStringConvertible {
            var description: String { "no quote" }
        }
        // Patient timings: a handshake missed on a loaded machine would fail the start with
        // another sentence.
        let provisioner = SandboxProvisioner(
            hostInfo: Fixtures.hostInfo, mode: .unconfined, clock: RecordingClock(), logger: Fixtures.logger,
            timings: .patient, initializer: { _ in throw AttestationFailed() })
        let runtime = try await runtime(provisioner)
        try await hosting(runtime) { log in
            runtime.start()
            guard case .failedToStart(let error) = try await log.waitFor("failedToStart") else { return }
            #expect("\(error)" == "failed to initialize connection: no quote")
        }
    }
}
