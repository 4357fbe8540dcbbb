import BenchSupport
import CSpawnBaseline
import Foundation
import Logging
import NIOCore
import OasisCommon
import RuntimeHost
import RuntimeHostProtocol

/// Spawn-to-`started` of the runtime host with kv-runtime, unconfined and sandboxed, each next
/// to a raw C baseline measured in the same run, iterations interleaved so both see the same
/// load:
/// * unconfined: posix_spawn kv-runtime, accept, send the same `RuntimeInfoRequest` frame our
///   handshake sends, read the answer;
/// * sandboxed: the same through a plain `bwrap` (whole root read-only, /proc, /dev, /tmp, the
///   socket directory bound, all namespaces unshared) — no seccomp filter, no library
///   resolution, no argument stream;
/// * floors (reported, not compared): the same with a C child that echoes one frame.
@main
enum HostBench {
    struct Options {
        var iterations = 100
        var kvRuntime: String?
        var childPing: String?
        var bubblewrap = "/usr/bin/bwrap"
        var json = false

        init(arguments: [String]) {
            var iterator = arguments.dropFirst().makeIterator()
            while let argument = iterator.next() {
                switch argument {
                case "--iterations": iterations = iterator.next().flatMap(Int.init) ?? iterations
                case "--kv-runtime": kvRuntime = iterator.next()
                case "--bwrap": bubblewrap = iterator.next() ?? bubblewrap
                case "--json": json = true
                default:
                    FileHandle.standardError.write(Data("host-bench: unknown argument \(argument)\n".utf8))
                    exit(2)
                }
            }
        }
    }

    static let runtimeID = Namespace.test(seed: "host-bench")
    static let hostInfo = HostInfo(
        consensusBackend: "tendermint", consensusProtocolVersion: Version.consensusProtocol.packed,
        consensusChainContext: "host-bench")

    static func main() async throws {
        var options = Options(arguments: CommandLine.arguments)
        let executableDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        options.childPing = executableDirectory + "/child-ping"
        guard let kv = options.kvRuntime ?? defaultKVRuntime() else {
            throw BenchError("kv-runtime not found; build it (swift build -c release --product kv-runtime) or pass --kv-runtime PATH")
        }
        var logger = Logger(label: "host-bench")
        logger.logLevel = .error

        let request = try handshakeFrame()
        var rows: [BenchRow] = []
        for sandboxed in [false, true] {
            let name = sandboxed ? "sandboxed" : "unconfined"
            let mode: SandboxMode =
                sandboxed ? .sandboxed(SandboxOptions(bubblewrapPath: options.bubblewrap)) : .unconfined
            let provisioner = SandboxProvisioner(hostInfo: hostInfo, mode: mode, logger: logger)
            // Warm-up (the sandbox preflight and library resolution run once, then are cached).
            _ = try await startToStarted(provisioner, path: kv)
            _ = try baseline(kv, request: request, bubblewrap: sandboxed ? options.bubblewrap : nil)
            var ours: [Double] = []
            var raw: [Double] = []
            var floor: [Double] = []
            for _ in 0..<options.iterations {
                ours.append(try await startToStarted(provisioner, path: kv))
                raw.append(try baseline(kv, request: request, bubblewrap: sandboxed ? options.bubblewrap : nil))
                if let child = options.childPing, FileManager.default.isExecutableFile(atPath: child) {
                    floor.append(try baseline(child, request: request, bubblewrap: sandboxed ? options.bubblewrap : nil))
                }
            }
            print("RESULT host.\(name).started median_us=\(median(ours) / 1e3) p90_us=\(percentile(ours, 0.9) / 1e3)")
            print("RESULT raw.\(name).kv-runtime median_us=\(median(raw) / 1e3) p90_us=\(percentile(raw, 0.9) / 1e3)")
            if !floor.isEmpty {
                print("RESULT raw.\(name).c-child median_us=\(median(floor) / 1e3) (floor, not compared)")
            }
            rows.append(BenchRow(
                figure: "spawn → started, \(name), kv-runtime (median)", ours: median(ours), baseline: median(raw),
                unit: "ns", maxRatio: 1.3))
        }
        report(rows, json: options.json)
    }

    /// Nanoseconds from `start()` to the `started` event of a fresh runtime; stops it after.
    static func startToStarted(_ provisioner: SandboxProvisioner, path: String) async throws -> Double {
        let runtime = try await provisioner.newRuntime(HostConfig(runtimeID: runtimeID, path: path))
        let events = runtime.events()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run() }
            let clock = ContinuousClock()
            let start = clock.now
            runtime.start()
            var elapsed: Duration?
            for await event in events {
                switch event {
                case .started: elapsed = start.duration(to: clock.now)
                case .failedToStart(let error): throw BenchError("runtime failed to start: \(error)")
                default: break
                }
                if elapsed != nil { break }
            }
            runtime.stop()
            try await group.waitForAll()
            guard let elapsed else { throw BenchError("no started event") }
            return Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        }
    }

    /// One raw spawn + accept + handshake frame + answer, in nanoseconds.
    static func baseline(_ binary: String, request: [UInt8], bubblewrap: String?) throws -> Double {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/host.sock"
        var argv = [binary]
        if let bubblewrap {
            argv = [
                bubblewrap, "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/", "/", "--proc",
                "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", directory, directory, "--", binary,
            ]
        }
        let environment = ["OASIS_WORKER_HOST=\(socket)"]
        var elapsed: UInt64 = 0
        let rc = withCStrings(argv) { argvPointer in
            withCStrings(environment) { envPointer in
                request.withUnsafeBufferPointer { bytes in
                    spawn_ping_once(socket, argvPointer, envPointer, bytes.baseAddress, bytes.count, &elapsed)
                }
            }
        }
        guard rc == 0 else { throw BenchError("raw baseline failed for \(argv.joined(separator: " "))") }
        return Double(elapsed)
    }

    /// The frame of the handshake request our host sends.
    static func handshakeFrame() throws -> [UInt8] {
        let message = Message(
            id: 0, type: .request,
            body: .runtimeInfoRequest(RuntimeInfoRequest(
                runtimeID: runtimeID, consensusBackend: hostInfo.consensusBackend,
                consensusProtocolVersion: hostInfo.consensusProtocolVersion,
                consensusChainContext: hostInfo.consensusChainContext)))
        var buffer = try Frame.encode(message, allocator: ByteBufferAllocator())
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    static func makeDirectory() throws -> String {
        var template = Array("/tmp/host-bench-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchError("mkdtemp failed")
        }
        return String(cString: made)
    }

    static func defaultKVRuntime() -> String? {
        ["../.build/release/kv-runtime", "../.build/debug/kv-runtime"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
    }

    static func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
