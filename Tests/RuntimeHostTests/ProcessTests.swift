import Glibc
import Logging
import RuntimeHost
import Testing

@Suite("Unconfined runtime processes")
struct ProcessTests {
    @Test("an unconfined child has exactly stdin, stdout and stderr, even when the node leaks descriptors")
    func exactDescriptors() async throws {
        // A descriptor without close-on-exec, as careless code elsewhere in the node might open.
        let leaky = open("/dev/null", O_RDONLY)
        defer { close(leaky) }
        let finished = try await run(probe(["fds"], .unconfined))
        #expect(finished.stdout == ["fds 0 1 2"])
        #expect(finished.exit.isSuccess)
    }

    @Test(
        "a runtime writes no core dumps, opens at most 4,096 files and is the OOM killer's first choice, unconfined and in the sandbox",
        arguments: [false, true])
    func runtimeLimits(sandboxed: Bool) async throws {
        // The test process itself has a score of its own and may dump core; the child inherits
        // neither. The C probe has no /proc in the sandbox, so the scores are read from outside,
        // for bubblewrap and every process below it.
        let process = try await RuntimeProcess.spawn(probe(["limits", "sleep"], sandboxed ? Fixtures.sandboxed : .unconfined))
        let line = try await firstLines(of: process)[0]
        #expect(line == (sandboxed ? "limits core=0/0 oom_score_adj=?" : "limits core=0/0 oom_score_adj=1000"))
        // 4,096 descriptors, or fewer if the node itself may not have more.
        var own = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &own)
        let openFiles = min(4096, own.rlim_max)
        let tree = descendants(of: process.pid)
        #expect(tree.count == (sandboxed ? 3 : 1), "bubblewrap, its pid-namespace init and the probe")
        for pid in tree {
            #expect(readFile("/proc/\(pid)/oom_score_adj") == "1000\n", "pid \(pid)")
            let limits = readFile("/proc/\(pid)/limits") ?? ""
            #expect(limits.contains(/Max core file size\s+0\s+0\s+bytes/), "pid \(pid)")
            let files = limits.firstMatch(of: /Max open files\s+(\d+)\s+(\d+)/)
            let soft = files.flatMap { UInt64($0.output.1) }
            let hard = files.flatMap { UInt64($0.output.2) }
            #expect(soft == UInt64(openFiles) && hard == UInt64(openFiles), "pid \(pid)")
        }
        #expect(await process.kill() == .signaled(signal: SIGKILL))
    }

    @Test("a memory limit bounds what each process of a runtime may allocate, unconfined and in the sandbox", arguments: [false, true])
    func memoryLimit(sandboxed: Bool) async throws {
        var configuration = probe(["alloc", "16", "alloc", "256", "sleep"], sandboxed ? Fixtures.sandboxed : .unconfined)
        configuration.memoryLimit = 128 << 20
        let process = try await RuntimeProcess.spawn(configuration)
        let lines = try await firstLines(of: process, 2)
        #expect(lines == ["alloc 16 ok", "alloc 256 failed"])
        let tree = descendants(of: process.pid)
        #expect(tree.count == (sandboxed ? 3 : 1), "bubblewrap, its pid-namespace init and the probe")
        for pid in tree {
            let limits = readFile("/proc/\(pid)/limits") ?? ""
            #expect(limits.contains(/Max data size\s+134217728\s+134217728\s+bytes/), "pid \(pid)")
        }
        #expect(await process.kill() == .signaled(signal: SIGKILL))
    }

    @Test("a runtime's memory is read from /proc over its whole process tree, unconfined and in the sandbox", arguments: [false, true])
    func treeMemory(sandboxed: Bool) async throws {
        let process = try await RuntimeProcess.spawn(probe(["hold", "48", "sleep"], sandboxed ? Fixtures.sandboxed : .unconfined))
        let line = try await firstLines(of: process)[0]
        #expect(line == "hold 48 ok")
        let memory = try #require(ProcessTreeMemory.read(root: process.pid))
        #expect(memory.processes == (sandboxed ? 3 : 1), "bubblewrap, its pid-namespace init and the probe")
        // The probe's 48 MiB are touched, so resident, and private writable data.
        #expect(memory.residentBytes >= 48 << 20)
        #expect(memory.largestDataBytes >= 48 << 20)
        #expect(await process.kill() == .signaled(signal: SIGKILL))
        #expect(ProcessTreeMemory.read(root: process.pid) == nil, "a reaped process has nothing to read")
    }

    @Test("an unconfined child's environment is only OASIS_WORKER_HOST with the host socket path")
    func onlyWorkerHost() async throws {
        // The test process has an environment (PATH at least) that must not reach the child. It is
        // not extended here: setenv races with other tests spawning processes.
        try #require(getenv("PATH") != nil)
        let finished = try await run(probe(["env"], .unconfined, socket: "/tmp/runtime-dir/host.sock"))
        #expect(finished.stdout == ["env OASIS_WORKER_HOST=/tmp/runtime-dir/host.sock", "env-end"])
    }

    @Test("an explicit environment reaches the child exactly")
    func explicitEnvironment() async throws {
        var configuration = probe(["env"], .unconfined)
        configuration.environment = ["A": "1"]
        let finished = try await run(configuration)
        #expect(finished.stdout == ["env A=1", "env-end"])
    }

    @Test("exit code 3 reads 'process terminated with exit code 3'")
    func exitCode() async throws {
        let finished = try await run(probe(["exit", "3"], .unconfined))
        #expect(finished.exit == .exited(code: 3))
        #expect(finished.exit.errorText == "process terminated with exit code 3")
        #expect(!finished.exit.isSuccess)
    }

    @Test("a clean exit has no error text")
    func cleanExit() async throws {
        let finished = try await run(probe(["exit", "0"], .unconfined))
        #expect(finished.exit.isSuccess)
        #expect(finished.exit.errorText == nil)
    }

    @Test("SIGKILL from outside reads 'process died due to signal killed'")
    func killedFromOutside() async throws {
        let process = try await RuntimeProcess.spawn(probe(["sleep"], .unconfined))
        #expect(process.exitStatus == nil)
        kill(process.pid, SIGKILL)
        let exit = try await bounded(process) { try? await process.waitForExit() }
        #expect(exit == .signaled(signal: SIGKILL))
        #expect(exit?.errorText == "process died due to signal killed")
    }

    @Test("kill returns after the process has exited, and takes its process group with it")
    func killTakesTheGroup() async throws {
        let process = try await RuntimeProcess.spawn(probe(["fork-sleep"], .unconfined))
        let first = try await firstLines(of: process)[0]
        let grandchild = try #require(first.flatMap { Int32($0.dropFirst("child ".count)) })
        let exit = await process.kill()
        #expect(process.exitStatus == exit)
        #expect(exit == .signaled(signal: SIGKILL))
        #expect(isGone(process.pid))
        #expect(await waitUntilGone(grandchild))
    }

    @Test("kill on an exited process returns its status")
    func killAfterExit() async throws {
        let process = try await RuntimeProcess.spawn(probe(["exit", "7"], .unconfined))
        _ = try await bounded(process) { try? await process.waitForExit() }
        #expect(await process.kill() == .exited(code: 7))
    }

    @Test("waiting is cancellable and leaves the process running")
    func cancelWait() async throws {
        let process = try await RuntimeProcess.spawn(probe(["sleep"], .unconfined))
        let waiter = Task { try await process.waitForExit() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(process.exitStatus == nil)
        #expect(await process.kill() == .signaled(signal: SIGKILL))
    }

    @Test("several tasks can wait for the same exit")
    func manyWaiters() async throws {
        let process = try await RuntimeProcess.spawn(probe(["sleep"], .unconfined))
        let statuses = try await bounded(process) {
            await withTaskGroup(of: ProcessExit?.self) { group in
                for _ in 0..<4 { group.addTask { try? await process.waitForExit() } }
                group.addTask {
                    await process.kill()
                    return nil
                }
                return await group.compactMap { $0 }.reduce(into: [ProcessExit]()) { $0.append($1) }
            }
        }
        #expect(statuses == Array(repeating: .signaled(signal: SIGKILL), count: 4))
    }

    @Test("a missing binary fails to spawn with its path and the reason")
    func missingBinary() async throws {
        let error = await #expect(throws: RuntimeProcessError.self) {
            try await RuntimeProcess.spawn(RuntimeProcessConfiguration(
                executablePath: "/nonexistent/runtime", isolation: .unconfined))
        }
        #expect(error?.code == .spawnFailed)
        #expect(error?.message == "exec /nonexistent/runtime: no such file or directory")
    }

    @Test("unconfined bind data is written before the start, creating missing parents")
    func unconfinedBindData() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/does/not/yet/exist/bound.data"
        let finished = try await run(RuntimeProcessConfiguration(
            executablePath: "/bin/cat", arguments: [path], isolation: .unconfined,
            bindData: [path: Array("hello world".utf8)]))
        #expect(finished.exit.isSuccess)
        #expect(finished.stdout == ["hello world"])
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(directory.path + "/does", &info) == 0 && info.st_mode & 0o777 == 0o700)
    }

    @Test("stdout and stderr lines are relayed to the logger with the logger's runtime.id and the stream")
    func relayToLogger() async throws {
        let store = RecordingLogHandler.Store()
        var logger = Logger(label: "test") { _ in RecordingLogHandler(store: store) }
        logger[metadataKey: "runtime.id"] = "8000000000000000000000000000000000000000000000000000000000000000"
        let process = try await RuntimeProcess.spawn(probe(["stderr", "to stderr", "info"], .unconfined))
        let relayLogger = logger
        try await bounded(process) { await process.relayOutput(to: relayLogger) }
        let records = store.records.withLock { $0 }
        let stderr = records.filter { $0.metadata["runtime.stream"] == "stderr" }.map(\.message)
        let stdout = records.filter { $0.metadata["runtime.stream"] == "stdout" }.map(\.message)
        #expect(stderr == ["to stderr"])
        #expect(stdout.count == 1 && stdout[0].hasPrefix("info hostname="))
        #expect(records.allSatisfy {
            $0.metadata["runtime.id"] == "8000000000000000000000000000000000000000000000000000000000000000"
        })
        _ = try await bounded(process) { try? await process.waitForExit() }
    }
}
