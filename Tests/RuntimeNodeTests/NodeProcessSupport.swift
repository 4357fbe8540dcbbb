import Foundation
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
func eventually<T>(_ limit: Duration = .seconds(60), poll: Duration = .milliseconds(100), _ condition: () async throws -> T?)
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
final class NodeProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched from the test's task; Foundation's Process is
    // not Sendable but is used here strictly sequentially.
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    init(_ arguments: [String], in directory: ScratchDirectory, name: String = "node") throws {
        stdoutPath = directory.path + "/../" + URL(fileURLWithPath: directory.path).lastPathComponent + "-\(name).out"
        stderrPath = directory.path + "/../" + URL(fileURLWithPath: directory.path).lastPathComponent + "-\(name).err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Products.runtimeNode)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// The exit status once the process has exited, waiting at most `limit`; nil if it is still running.
    func exitStatus(within limit: Duration) async -> Int32? {
        await eventually(limit) { process.isRunning ? nil : process.terminationStatus }
    }

    /// Kills the process if it still runs and removes the output files.
    func cleanUp() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: stdoutPath)
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
}

/// Runs a `runtime-node` client command to completion: (exit status, stdout, stderr).
func runCLI(_ arguments: [String], in directory: ScratchDirectory) async throws -> (status: Int32, out: String, err: String) {
    let process = try NodeProcess(arguments, in: directory, name: "cli-\(UUID().uuidString.prefix(8))")
    defer { process.cleanUp() }
    guard let status = await process.exitStatus(within: .seconds(120)) else {
        Issue.record("runtime-node \(arguments) did not finish")
        return (-1, process.stdout, process.stderr)
    }
    return (status, process.stdout, process.stderr)
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
