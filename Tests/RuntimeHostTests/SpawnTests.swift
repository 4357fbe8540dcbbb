import CSandbox
import Glibc
import RuntimeHost
import Testing

/// The C spawn primitive on its own: descriptor maps the Swift layer does not use yet.
@Suite("CSandbox spawn")
struct SpawnTests {
    @Test("a descriptor map that swaps two descriptors delivers each one where it was asked")
    func swappedDescriptors() throws {
        var first: [Int32] = [-1, -1]
        var second: [Int32] = [-1, -1]
        #expect(csb_pipe_cloexec(&first) == 0)
        #expect(csb_pipe_cloexec(&second) == 0)
        defer { (first + second).forEach { close($0) } }
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devNull) }
        // first's write end must land on 4 and second's on 3, whatever numbers they have here;
        // mapping each onto the other's number also catches a naive dup2 order.
        let map: [Int32] = [devNull, 0, devNull, 1, devNull, 2, first[1], 4, second[1], 3]
        let argv = [Fixtures.probe, "say", "4", "to-four", "say", "3", "to-three"]
        var pid: pid_t = 0
        let result = withCStringArray(argv) { argv in
            withCStringArray([]) { envp in csb_spawn(Fixtures.probe, argv, envp, map, 5, 0, &pid) }
        }
        #expect(result == 0)
        close(first[1])
        close(second[1])
        first[1] = -1
        second[1] = -1
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        #expect(readAll(first[0]) == "to-four\n")
        #expect(readAll(second[0]) == "to-three\n")
    }

    @Test("a spawn that cannot exec reports the errno and returns no pid")
    func failedExec() {
        var pid: pid_t = 0
        let result = withCStringArray(["/nonexistent"]) { argv in
            withCStringArray([]) { envp in csb_spawn("/nonexistent", argv, envp, nil, 0, 0, &pid) }
        }
        #expect(result == -ENOENT)
        // The failed child was reaped inside csb_spawn (a waitpid(-1) here would steal other
        // tests' children, so the check is that no pid was handed out).
        #expect(pid == 0)
    }

    @Test("a child starts with no blocked and no ignored signals, whatever the node set")
    func signalsReset() async throws {
        let previous = signal(SIGUSR2, SIG_IGN)
        defer { signal(SIGUSR2, previous) }
        let finished = try await run(probe(["signals"], .unconfined))
        #expect(finished.stdout == ["signals blocked ignored"])
        // The vfork child reset its own copy of the dispositions, not the node's.
        var current = sigaction()
        #expect(sigaction(SIGUSR2, nil, &current) == 0)
        let handler = unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
        #expect(handler == unsafeBitCast(SIG_IGN, to: Int.self))
    }

    @Test("a child spawned to die with its parent outlives the spawning thread and dies with the process")
    func dieWithParent() async throws {
        let finished = try await run(probe(["orphan"], .unconfined))
        let line = try #require(finished.stdout.first { $0.hasPrefix("orphan ") }, "\(finished.stdout)")
        let fields = line.split(separator: " ")
        let pid = try #require(Int32(fields[1]))
        #expect(fields.last == "alive-after-thread=1")
        #expect(await waitUntilGone(pid))
    }

    @Test("the seccomp program exports as BPF instructions")
    func seccompExport() {
        let fd = csb_seccomp_memfd()
        #expect(fd >= 0)
        defer { close(fd) }
        var info = stat()
        #expect(fstat(fd, &info) == 0)
        // sock_filter instructions are 8 bytes; an allow-list of ~300 calls needs hundreds.
        #expect(info.st_size > 8 * 100 && info.st_size % 8 == 0)
    }
}

private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

private func readAll(_ fd: Int32) -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 256)
    while true {
        let count = read(fd, &buffer, buffer.count)
        if count <= 0 { break }
        bytes += buffer[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}
