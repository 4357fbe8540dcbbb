import Glibc
import RuntimeHost
import Testing

@Suite("Sandbox preflight")
struct PreflightTests {
    @Test("a missing bubblewrap binary fails a sandboxed start with one sentence naming it and the fix")
    func missingBinary() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let bwrap = directory.path + "/bwrap"
        let error = await #expect(throws: RuntimeProcessError.self) {
            try await RuntimeProcess.spawn(probe(["info"], .sandboxed(SandboxOptions(bubblewrapPath: bwrap))))
        }
        #expect(error?.code == .preflightFailed)
        #expect(error?.message == "sandbox preflight failed: \(bwrap) not found (apt-get install bubblewrap, "
            + "or run with --runtime.provisioner unconfined --debug.dont_blame_oasis)")
    }

    @Test("a bubblewrap that cannot build a sandbox fails the start with one sentence, and leaves no process")
    func brokenBinary() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let pidFile = directory.path + "/pid"
        let script =
            "#!/bin/sh\necho $$ > \(pidFile)\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
        let bwrap = directory.write("bwrap", script)
        chmod(bwrap, 0o755)
        // A generous preflight timeout (wall-clock): on a loaded machine the script could take
        // longer than the default 10 s, and the preflight would fail with another sentence.
        let options = SandboxOptions(bubblewrapPath: bwrap, preflightTimeout: .seconds(600))
        let error = await #expect(throws: RuntimeProcessError.self) {
            try await RuntimeProcess.spawn(probe(["info"], .sandboxed(options)))
        }
        #expect(error?.code == .preflightFailed)
        #expect(error?.message == "sandbox preflight failed: \(bwrap) could not run a sandbox with user namespaces "
            + "and a seccomp filter (process terminated with exit code 1: bwrap: No permissions to create new "
            + "namespace); allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), "
            + "or run with --runtime.provisioner unconfined --debug.dont_blame_oasis")
        let pid = try #require(Int32((readFile(pidFile) ?? "").filter { !$0.isWhitespace }))
        #expect(isGone(pid))
        // The cached result answers the second start the same way, without running anything.
        unlink(pidFile)
        let again = await #expect(throws: RuntimeProcessError.self) {
            try await RuntimeProcess.spawn(probe(["info"], .sandboxed(options)))
        }
        #expect(again == error)
        #expect(access(pidFile, F_OK) != 0)
    }

    @Test("a bubblewrap that hangs is killed at the preflight's timeout, and leaves no process")
    func hangingBinary() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let pidFile = directory.path + "/pid"
        let bwrap = directory.write("bwrap", "#!/bin/sh\necho $$ > \(pidFile)\nexec sleep 1000\n")
        chmod(bwrap, 0o755)
        let options = SandboxOptions(bubblewrapPath: bwrap, preflightTimeout: .milliseconds(500))
        let error = await #expect(throws: RuntimeProcessError.self) {
            try await RuntimeProcess.spawn(probe(["info"], .sandboxed(options)))
        }
        #expect(error?.code == .preflightFailed)
        #expect(
            error?.message.hasPrefix("sandbox preflight failed: \(bwrap) did not finish a trivial sandbox") == true)
        // On a loaded machine the 500 ms can run out before the script has written its pid: it
        // was killed before it got that far, and there is no pid to look for.
        if let pid = Int32((readFile(pidFile) ?? "").filter({ !$0.isWhitespace })) {
            #expect(isGone(pid))
        }
        // A timeout says the host was slow, not that the sandbox cannot work: it is not cached,
        // and the next check runs again (here against a bubblewrap that now succeeds).
        unlink(bwrap)
        let fixed = directory.write("bwrap", "#!/bin/sh\nexit 0\n")
        chmod(fixed, 0o755)
        #expect(fixed == bwrap)
        // Same path (the cache's key), but a generous timeout: with the 500 ms a loaded machine
        // could time this check out too, and it would fail with the same sentence.
        try await SandboxPreflight.check(SandboxOptions(bubblewrapPath: bwrap, preflightTimeout: .seconds(600)))
    }

    @Test("a bubblewrap that cannot be spawned fails the preflight, and the next check runs again")
    func unspawnableBinary() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        // Executable, but neither a script nor a loadable binary: exec fails with ENOEXEC.
        let bwrap = directory.write("bwrap", "\u{7f}ELF, but cut short")
        chmod(bwrap, 0o755)
        let options = SandboxOptions(bubblewrapPath: bwrap, preflightTimeout: .seconds(600))
        let error = await #expect(throws: RuntimeProcessError.self) { try await SandboxPreflight.check(options) }
        #expect(error?.message.hasPrefix("sandbox preflight failed: \(bwrap) could not be started") == true, "\(String(describing: error))")
        // Not cached: the failure may have been the host's moment (no processes or descriptors
        // left), so the next check runs again, here against a bubblewrap that now works.
        unlink(bwrap)
        let fixed = directory.write("bwrap", "#!/bin/sh\nexit 0\n")
        chmod(fixed, 0o755)
        try await SandboxPreflight.check(options)
    }

    @Test("the system bubblewrap passes the preflight")
    func workingBinary() async throws {
        try await SandboxPreflight.check(Fixtures.sandboxOptions())
    }
}
