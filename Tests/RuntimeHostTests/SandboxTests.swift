import Glibc
@testable import RuntimeHost
import Testing

@Suite("Sandboxed runtime processes")
struct SandboxTests {
    @Test("the bubblewrap command line is '--args 3 -- /entrypoint' and the stream carries the sandbox options")
    func commandLine() throws {
        var configuration = RuntimeProcessConfiguration(
            executablePath: "/opt/runtime", arguments: ["--flag"], isolation: Fixtures.sandboxed,
            hostSocketPath: "/tmp/oasis-runtime1/host.sock", bindData: ["/etc/cfg/a.data": [1], "/b.data": [2]])
        configuration.environment = ["RUST_LOG": "info"]
        let libraries = ResolvedLibraries(
            interpreter: ("/lib64/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
            libraries: [.init(name: "libc.so.6", hostPath: "/usr/lib/x86_64-linux-gnu/libc.so.6")])
        #expect(
            BubblewrapCommand.commandLine(bubblewrapPath: "/usr/bin/bwrap", arguments: configuration.arguments)
                == ["/usr/bin/bwrap", "--args", "3", "--", "/entrypoint", "--flag"])
        let sandbox = SandboxOptions(bubblewrapPath: "/usr/bin/bwrap")
        let options = BubblewrapCommand.options(for: configuration, sandbox: sandbox, libraries: libraries)
        #expect(options == [
            "--unshare-all", "--cap-drop", "ALL", "--hostname", "oasis-core", "--tmpfs", "/tmp", "--dev", "/dev",
            "--die-with-parent", "--new-session", "--chdir", "/", "--ro-bind", "/opt/runtime", "/entrypoint",
            "--setenv", "OASIS_WORKER_HOST", "/host.sock", "--setenv", "RUST_LOG", "info",
            "--dir", "/", "--bind", "/tmp/oasis-runtime1/host.sock", "/host.sock",
            "--ro-bind", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2",
            "--ro-bind", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/libc.so.6",
            "--symlink", "/usr/lib", "/usr/lib64", "--seccomp", "4",
            "--dir", "/", "--ro-bind-data", "5", "/b.data",
            "--dir", "/etc/cfg", "--ro-bind-data", "6", "/etc/cfg/a.data",
        ])
        let stream = BubblewrapCommand.stream(["--cap-drop", "ALL"])
        #expect(stream == Array("--cap-drop\0ALL\0".utf8))
    }

    @Test("inside the sandbox the runtime has stdin, stdout and stderr only, and OASIS_WORKER_HOST=/host.sock")
    func descriptorsAndEnvironment() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let socket = directory.path + "/host.sock"
        let listener = UnixListener(path: socket)
        defer { listener.close() }
        // The test process has an environment (PATH at least) that must not reach the child. It is
        // not extended here: setenv races with other tests spawning processes.
        try #require(getenv("PATH") != nil)
        let finished = try await run(probe(["fds", "env", "unix", "/host.sock"], Fixtures.sandboxed, socket: socket))
        // bubblewrap itself sets PWD after --chdir; nothing comes from the node.
        #expect(finished.stdout == [
            "fds 0 1 2", "env OASIS_WORKER_HOST=/host.sock", "env PWD=/", "env-end", "result unix ok",
        ])
        #expect(finished.exit.isSuccess, "stderr: \(finished.stderr)")
    }

    @Test("inside the sandbox: host name oasis-core, no /proc, writable /tmp, working directory /, no network")
    func sandboxShape() async throws {
        // 192.0.2.1 is TEST-NET-1: outside a sandbox this would wait for a route's answer.
        let finished = try await run(probe(["info", "connect", "192.0.2.1", "80"], Fixtures.sandboxed))
        #expect(finished.stdout == [
            "info hostname=oasis-core cwd=/ proc=0 tmp-writable=1", "result connect errno \(ENETUNREACH)",
        ], "\(finished.stderr)")
    }

    @Test("sandboxed bind data reaches the runtime through --ro-bind-data")
    func sandboxedBindData() async throws {
        let path = "/does/not/yet/exist/bound.data"
        let finished = try await run(RuntimeProcessConfiguration(
            executablePath: "/bin/cat", arguments: [path], isolation: Fixtures.sandboxed,
            bindData: [path: Array("hello world".utf8)]))
        #expect(finished.exit.isSuccess, "\(finished.stderr)")
        #expect(finished.stdout == ["hello world"])
    }

    @Test("a device node in deviceBinds can be opened in the sandbox; one in readWriteBinds cannot")
    func deviceBinds() async throws {
        // /dev/zero under another name, so that bubblewrap's own /dev does not provide it.
        let inside = "/dev/oasis-test-device"
        var configuration = probe(["read", inside], Fixtures.sandboxed)
        configuration.deviceBinds = ["/dev/zero": inside]
        let bound = try await run(configuration)
        #expect(bound.result("read") == "ok", "\(bound.stderr)")
        // bubblewrap mounts a plain bind without device access (what the SGX device got before).
        configuration.deviceBinds = [:]
        configuration.readWriteBinds = ["/dev/zero": inside]
        let plain = try await run(configuration)
        #expect(plain.result("read") == "errno \(EACCES)", "\(plain.stderr)")
    }

    @Test("seccomp: clone3 fails with ENOSYS, an unlisted system call with EPERM, and threads still work")
    func seccompFilter() async throws {
        let finished = try await run(probe(["clone3", "denied", "thread"], Fixtures.sandboxed))
        #expect(finished.result("clone3") == "errno \(ENOSYS)")
        #expect(finished.result("denied") == "errno \(EPERM)")
        #expect(finished.result("thread") == "ok")
        #expect(finished.exit.isSuccess)
    }

    @Test("without the sandbox the same probes see the kernel: clone3 EINVAL, statx allowed")
    func seccompControl() async throws {
        let finished = try await run(probe(["clone3", "denied", "thread"], .unconfined))
        #expect(finished.result("clone3") == "errno \(EINVAL)")
        #expect(finished.result("denied") == "ok")
        #expect(finished.result("thread") == "ok")
    }

    #if arch(x86_64)
    @Test("a system call through the 32-bit entry point kills the runtime with SIGSYS in the sandbox only")
    func foreignArchitecture() async throws {
        let outside = try await run(probe(["int80"], .unconfined))
        #expect(outside.result("int80") == "ok")
        let inside = try await run(probe(["int80"], Fixtures.sandboxed))
        #expect(inside.result("int80") == nil)
        // bubblewrap reports a child killed by a signal as exit code 128 + signal.
        #expect(inside.exit == .exited(code: 128 + SIGSYS))
    }
    #endif

    @Test("killing a sandboxed runtime kills bubblewrap and everything in the sandbox")
    func killSandbox() async throws {
        let process = try await RuntimeProcess.spawn(probe(["fork-sleep"], Fixtures.sandboxed))
        let first = try await firstLines(of: process)[0]
        #expect(first?.hasPrefix("child ") == true)
        #expect(await process.kill() == .signaled(signal: SIGKILL))
        // Every process in the sandbox inherited bubblewrap's stderr, so the pipe reaches end of
        // file (within the bound) only once all of them, the forked child included, are gone.
        let lines = try await bounded(process) { await process.stderrLines.reduce(0) { count, _ in count + 1 } }
        #expect(lines == 0)
    }

    @Test("a sandboxed start of a binary whose libraries cannot be found fails before any process starts")
    func unresolvableLibrary() async throws {
        let error = await #expect(throws: RuntimeProcessError.self) {
            try await RuntimeProcess.spawn(RuntimeProcessConfiguration(
                executablePath: "/nonexistent/runtime", isolation: Fixtures.sandboxed))
        }
        #expect(error?.code == .sandboxSetupFailed)
        #expect(error?.message.hasPrefix("sandbox: failed to resolve worker binary libraries: ") == true)
    }
}

@Suite("Swift runtimes in the sandbox")
struct SwiftRuntimeSandboxTests {
    static let program = Fixtures.buildDirectory + "/sandbox-swift-probe"

    @Test("a Swift program on the shared Swift runtime starts in the sandbox, with /proc, and runs child tasks")
    func swiftProgram() async throws {
        // Without /proc, libdispatch's worker monitor killed this program in about one run in
        // four; several runs make a regression visible.
        for _ in 0..<8 {
            let finished = try await run(
                RuntimeProcessConfiguration(executablePath: Self.program, isolation: Fixtures.sandboxed))
            #expect(finished.stdout == ["swift ok 204 proc=1"], "\(finished.stderr)")
            #expect(finished.exit.isSuccess)
        }
    }

    @Test("/proc is mounted only for runtimes that link libdispatch, unless the options say otherwise")
    func procPolicy() throws {
        let swift = try LibraryResolver.host().resolve(executable: Self.program)
        let c = try LibraryResolver.host().resolve(executable: "/bin/cat")
        #expect(BubblewrapCommand.mountsProc(.whenNeeded, libraries: swift))
        #expect(!BubblewrapCommand.mountsProc(.whenNeeded, libraries: c))
        #expect(!BubblewrapCommand.mountsProc(.never, libraries: swift))
        #expect(BubblewrapCommand.mountsProc(.always, libraries: c))
        let configuration = RuntimeProcessConfiguration(executablePath: Self.program, isolation: Fixtures.sandboxed)
        let options = BubblewrapCommand.options(
            for: configuration, sandbox: SandboxOptions(bubblewrapPath: Fixtures.bubblewrap), libraries: swift)
        #expect(options.prefix(12) == [
            "--unshare-all", "--cap-drop", "ALL", "--hostname", "oasis-core", "--tmpfs", "/tmp", "--dev", "/dev",
            "--proc", "/proc", "--die-with-parent",
        ])
    }
}
