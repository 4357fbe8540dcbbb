import Glibc
import RuntimeHost
import Testing

/// The escape probes of docs/THREAT_MODEL.md: the same fixture, the same attempts, once in the
/// sandbox (everything must fail) and once unconfined (the probes must be able to succeed, or
/// a failure in the sandbox would prove nothing).
@Suite("Sandbox escape probes")
struct EscapeProbeTests {
    /// The host files a runtime must not see: one outside its binds, and another runtime's
    /// state.
    struct Host {
        let directory = TemporaryDirectory()
        let listener = LoopbackListener()
        var secret: String { directory.path + "/node-secret" }
        var otherRuntime: String {
            directory.path + "/runtimes/8000000000000000000000000000000000000000000000000000000000000001/local.db"
        }
        var entrypointStandIn: String { directory.path + "/entrypoint" }

        init() {
            _ = directory.write("node-secret", "the node's key")
            _ = directory.write(
                "runtimes/8000000000000000000000000000000000000000000000000000000000000001/local.db", "state")
            _ = directory.write("entrypoint", "binary")
            _ = directory.write("libc.so.6", "library")
        }

        func close() {
            listener.close()
            directory.remove()
        }

        var libraryStandIn: String { directory.path + "/libc.so.6" }

        func probes(entrypoint: String, library: String) -> [String] {
            [
                "read", secret, "connect", "127.0.0.1", String(listener.port), "ptrace", "mount", "unshare",
                "userns", "write", entrypoint, "write", library, "read", otherRuntime,
                "signal", String(getpid()), "read", "/proc/\(getpid())/environ",
            ]
        }
    }

    @Test(
        "in the sandbox every escape attempt fails, with or without /proc",
        arguments: [ProcFilesystem.never, .always])
    func sandboxedProbesFail(proc: ProcFilesystem) async throws {
        let host = Host()
        defer { host.close() }
        let sandbox = ProcessIsolation.sandboxed(Fixtures.sandboxOptions(proc: proc))
        let attempts = host.probes(entrypoint: "/entrypoint", library: "/usr/lib/libc.so.6")
        let finished = try await run(probe(attempts, sandbox))
        let results = finished.stdout.filter { $0.hasPrefix("result ") }
        #expect(results.allSatisfy { !$0.hasSuffix(" ok") }, "\(results)")
        // The reasons: the files are not there, loopback is another network namespace's, the
        // filter says EPERM, the entrypoint is busy (it runs; its bind is read-only too), and
        // a bound library is on a read-only bind.
        #expect(results == [
            "result read errno \(ENOENT)",
            "result connect errno \(ECONNREFUSED)",
            "result ptrace errno \(EPERM)",
            "result mount errno \(EPERM)",
            "result unshare errno \(EPERM)",
            "result userns errno \(EPERM)",
            "result write errno \(ETXTBSY)",
            "result write errno \(EROFS)",
            "result read errno \(ENOENT)",
            "result signal errno \(ESRCH)",
            "result read errno \(ENOENT)",
        ], "\(finished.stderr)")
        #expect(finished.exit.isSuccess)
    }

    @Test("unconfined, the same probes succeed where nothing but the sandbox stops them")
    func unconfinedProbesSucceed() async throws {
        let host = Host()
        defer { host.close() }
        let attempts = host.probes(entrypoint: host.entrypointStandIn, library: host.libraryStandIn)
        let finished = try await run(probe(attempts, .unconfined))
        let results = finished.stdout.filter { $0.hasPrefix("result ") }
        #expect(results.count == 11, "\(finished.stdout) \(finished.stderr)")
        #expect(finished.result("signal") == "ok")
        #expect(results.filter { $0 == "result read ok" }.count == 3, "\(results)")
        #expect(results.filter { $0 == "result write ok" }.count == 2, "\(results)")
        #expect(finished.result("connect") == "ok")
        if hasSystemAdministration() {
            // Root with CAP_SYS_ADMIN (not in a restricted container) may do all of these.
            for allowed in ["ptrace", "mount", "unshare", "userns"] {
                #expect(finished.result(allowed) == "ok", "\(allowed)")
            }
        }
    }
}

/// True when this process has CAP_SYS_ADMIN in its effective set (/proc/self/status CapEff).
private func hasSystemAdministration() -> Bool {
    guard let status = readFile("/proc/self/status"),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
        let mask = UInt64(line.dropFirst("CapEff:".count).drop { $0 == " " || $0 == "\t" }, radix: 16)
    else { return false }
    return geteuid() == 0 && mask & (1 << 21) != 0
}
