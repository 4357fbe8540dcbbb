import Foundation
import ProcessTesting
import RuntimeNode
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Where the test binary's sibling products are (`.build/<config>/`).
enum Products {
    static let directory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(count > 0, "cannot read /proc/self/exe")
        let exe = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(exe[..<exe.lastIndex(of: "/")!])
    }()

    static var runtimeNode: String { directory + "/runtime-node" }
    static var kvRuntime: String { directory + "/kv-runtime" }
}

/// A fresh directory with a short path (socket paths are limited to 107 bytes).
struct ScratchDirectory {
    let path: String

    init() {
        var template = Array("/tmp/rn-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Every path below the directory with its size and mode, to prove nothing was written.
    func listing(_ sub: String? = nil) -> [String] {
        let root = sub ?? path
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var entries: [String] = []
        while let name = walker.nextObject() as? String {
            let attributes = (try? FileManager.default.attributesOfItem(atPath: root + "/" + name)) ?? [:]
            entries.append("\(name) \(attributes[.size] ?? 0) \(attributes[.posixPermissions] ?? 0)")
        }
        return entries.sorted()
    }
}

/// A struct that waits at most `limit` for `condition`, polling; nil when it never held.
func eventually<T>(_ limit: Duration = .seconds(300), poll: Duration = .milliseconds(100), _ condition: () async throws -> T?)
    async rethrows -> T?
{
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if let value = try await condition() { return value }
        try? await Task.sleep(for: poll)
    }
    return try await condition()
}

/// A `runtime-node` process with its output in files.
final class NodeProcess: Sendable {
    let child: ChildProcess
    let stdoutPath: String
    let stderrPath: String

    init(_ arguments: [String], in directory: ScratchDirectory, name: String = "node") throws {
        stdoutPath = directory.path + "/../" + URL(fileURLWithPath: directory.path).lastPathComponent + "-\(name).out"
        stderrPath = directory.path + "/../" + URL(fileURLWithPath: directory.path).lastPathComponent + "-\(name).err"
        child = try ChildProcess.launch(
            executable: Products.runtimeNode, arguments: arguments,
            standardOutput: .file(stdoutPath), standardError: .file(stderrPath))
    }

    var pid: Int32 { child.processIdentifier }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) {
        child.signal(signal)
    }

    /// How the process ended, waiting at most `limit`; nil if it is still running.
    func exitStatus(within limit: Duration) async -> ChildProcess.Termination? {
        await eventually(limit) { child.termination }
    }

    /// Records an issue, with how the process ended and the end of its stderr, unless it exits
    /// with status 0 within `limit`.
    func expectCleanExit(within limit: Duration = .seconds(120), sourceLocation: SourceLocation = #_sourceLocation) async {
        let status = await exitStatus(within: limit)
        guard status != .exited(0) else { return }
        let ended = status.map { "\($0)" } ?? "nothing: still running after \(limit)"
        Issue.record("runtime-node ended with \(ended); its stderr ends:\n\(stderr.suffix(3000))", sourceLocation: sourceLocation)
    }

    /// Kills the process if it still runs, waits for it and removes the output files. The
    /// wait blocks the calling thread, but only for as long as a SIGKILLed process takes to go.
    func cleanUp() {
        child.signal(SIGKILL)
        _ = child.waitUntilExit()
        try? FileManager.default.removeItem(atPath: stdoutPath)
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
}

/// Runs a `runtime-node` client command to completion: how it ended, stdout, stderr.
func runCLI(_ arguments: [String], in directory: ScratchDirectory) async throws
    -> (status: ChildProcess.Termination, out: String, err: String)
{
    let process = try NodeProcess(arguments, in: directory, name: "cli-\(UUID().uuidString.prefix(8))")
    guard let status = await process.exitStatus(within: .seconds(120)) else {
        Issue.record("runtime-node \(arguments) did not finish")
        let result = (ChildProcess.Termination.signaled(SIGKILL), process.stdout, process.stderr)
        process.cleanUp()
        return result
    }
    let result = (status, process.stdout, process.stderr)
    process.cleanUp()
    return result
}

/// Whether a process with `pid` exists.
func processExists(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno != ESRCH
}

/// JSON text as a dictionary.
func jsonObject(_ text: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(object as? [String: Any])
}

/// `GET path` over plain TCP to `address` (`host:port`, IPv4): the response body, or nil.
func httpGet(_ address: String, _ path: String) -> String? {
    let parts = address.split(separator: ":")
    guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    // Generous: the node shares a loaded machine with the rest of the suite.
    var timeout = timeval(tv_sec: 120, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    guard inet_pton(AF_INET, String(parts[0]), &address.sin_addr) == 1 else { return nil }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: \(parts[0])\r\nConnection: close\r\n\r\n".utf8)
    guard send(fd, request, request.count, 0) == request.count else { return nil }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        response += buffer[..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard text.hasPrefix("HTTP/1.1 200"), let split = text.range(of: "\r\n\r\n") else { return nil }
    return String(text[split.upperBound...])
}

/// The suites that run real `runtime-node` processes, one suite at a time: each starts nodes
/// and runtimes, and together they would crowd the two cores the rest of the suite runs on.
@Suite(.serialized) enum NodeProcessSuites {}
