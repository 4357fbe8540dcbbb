import Glibc
import Logging
@testable import RuntimeHost
import Synchronization
import Testing

/// Where the test fixtures are: next to the test binary in the build directory.
enum Fixtures {
    static let buildDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(count > 0, "cannot read /proc/self/exe")
        let exe = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(exe[..<exe.lastIndex(of: "/")!])
    }()

    /// The sandbox-probe executable (see Sources/sandbox-probe/main.c).
    static var probe: String { buildDirectory + "/sandbox-probe" }

    /// The system's bubblewrap.
    static let bubblewrap = "/usr/bin/bwrap"

    /// Options for the system's bubblewrap. The preflight's result is cached per bubblewrap
    /// path for the whole test process, failures included, and its default 10 s timeout runs
    /// on wall-clock time: one preflight stalled on a loaded machine would fail every sandboxed
    /// test after it. A generous timeout keeps that to a bubblewrap that really hangs.
    static func sandboxOptions(proc: ProcFilesystem = .whenNeeded) -> SandboxOptions {
        SandboxOptions(bubblewrapPath: bubblewrap, proc: proc, preflightTimeout: .seconds(600))
    }

    static var sandboxed: ProcessIsolation { .sandboxed(sandboxOptions()) }
}

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/runtime-host-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: made!)
    }

    func write(_ name: String, _ text: String) -> String {
        let file = path + "/" + name
        var parent = ""
        for component in file.split(separator: "/").dropLast() {
            parent += "/" + component
            mkdir(parent, 0o700)
        }
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot create \(file)")
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
        return file
    }

    func remove() {
        var child = pid_t()
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("rm"), strdup("-rf"), strdup(path), nil]
        defer { argv.forEach { free($0) } }
        if posix_spawn(&child, "/bin/rm", nil, nil, argv, nil) == 0 {
            var status: Int32 = 0
            waitpid(child, &status, 0)
        }
    }
}

struct TimedOut: Error {}

/// What a finished process printed and how it ended.
struct Finished {
    var exit: ProcessExit
    var stdout: [String]
    var stderr: [String]

    /// The `result <probe> …` line for a probe, without the prefix: "ok" or "errno <n>".
    func result(_ probe: String) -> String? {
        stdout.first { $0.hasPrefix("result \(probe) ") }.map { String($0.dropFirst("result \(probe) ".count)) }
    }
}

/// Runs `body`, but kills `process` and throws if it takes longer than `seconds` (generous:
/// the bound only ends a test whose process hangs, never one on a loaded machine).
func bounded<T: Sendable>(
    _ process: RuntimeProcess, seconds: Int = 120, _ body: @escaping @Sendable () async -> T
) async throws -> T {
    guard let outcome = await withDeadline(.seconds(seconds), { await body() }) else {
        await process.kill()
        throw TimedOut()
    }
    return outcome
}

/// The first `count` lines `process` writes to stdout (nil past its end), within the bound of
/// ``bounded(_:seconds:_:)``. The stream can be iterated once, so later lines are not read.
func firstLines(of process: RuntimeProcess, _ count: Int = 1) async throws -> [String?] {
    try await bounded(process) {
        var lines = process.stdoutLines.makeAsyncIterator()
        var read: [String?] = []
        for _ in 0..<count { read.append(await lines.next()) }
        return read
    }
}

/// Reads both streams to the end and waits for the exit, within a bound.
func finish(_ process: RuntimeProcess) async throws -> Finished {
    try await bounded(process) {
        async let stdout = process.stdoutLines.reduce(into: [String]()) { $0.append($1) }
        async let stderr = process.stderrLines.reduce(into: [String]()) { $0.append($1) }
        let lines = await (stdout, stderr)
        let exit = (try? await process.waitForExit()) ?? .signaled(signal: 0)
        return Finished(exit: exit, stdout: lines.0, stderr: lines.1)
    }
}

/// Spawns and finishes one process.
func run(_ configuration: RuntimeProcessConfiguration) async throws -> Finished {
    try await finish(try await RuntimeProcess.spawn(configuration))
}

/// The probe with `arguments`, in the given mode.
func probe(_ arguments: [String], _ isolation: ProcessIsolation, socket: String? = nil) -> RuntimeProcessConfiguration {
    RuntimeProcessConfiguration(
        executablePath: Fixtures.probe, arguments: arguments, isolation: isolation, hostSocketPath: socket)
}

/// The first 64 KiB of a (small) file as text, or nil if it cannot be read.
func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    let count = read(fd, &buffer, buffer.count)
    return count >= 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
}

/// True when `pid` no longer runs (gone, or a zombie waiting for its reaper).
func isGone(_ pid: Int32) -> Bool {
    if kill(pid, 0) != 0 && errno == ESRCH { return true }
    guard let text = readFile("/proc/\(pid)/stat"), !text.isEmpty else { return true }
    guard let close = text.lastIndex(of: ")") else { return false }
    let state = text[text.index(after: close)...].trimmingPrefix(" ").first
    return state == "Z" || state == "X"
}

/// Waits (bounded; generous for a loaded machine) until `pid` is gone; returns whether it went.
func waitUntilGone(_ pid: Int32, seconds: Int = 120) async -> Bool {
    for _ in 0..<(seconds * 50) {
        if isGone(pid) { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return isGone(pid)
}

/// A TCP listener on 127.0.0.1 with a kernel-chosen port; closed by `close()`.
struct LoopbackListener {
    let fd: Int32
    let port: UInt16

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        precondition(bound, "cannot listen on 127.0.0.1")
        port = UInt16(bigEndian: address.sin_port)
    }

    func close() { _ = Glibc.close(fd) }
}

/// A listening Unix socket at `path`; closed by `close()`.
struct UnixListener {
    let fd: Int32

    init(path: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 && listen(fd, 16) == 0
            }
        }
        precondition(ok, "cannot listen on \(path)")
    }

    func close() { _ = Glibc.close(fd) }
}

/// A log handler that keeps every record, for assertions.
struct RecordingLogHandler: LogHandler {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    final class Store: Sendable {
        let records = Mutex<[Record]>([])
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        merged.merge(event.metadata ?? [:]) { $1 }
        store.records.withLock {
            $0.append(Record(level: event.level, message: event.message.description, metadata: merged))
        }
    }
}

/// `pid` and every process below it, parents first (read from `/proc/<pid>/task/*/children`).
func descendants(of pid: Int32) -> [Int32] {
    ProcessTree.members(root: pid)
}
