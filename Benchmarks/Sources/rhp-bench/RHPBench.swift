import BenchSupport
import CUDSBaseline
import Foundation
import Logging
import NIOPosix
import ProcessTesting
import RuntimeRegistry
import Synchronization

/// RHP round trips and pipelined calls, each next to the raw Unix-socket baseline (C, same
/// frame sizes) measured in the same run. Prints one `RESULT` line per measurement and a
/// summary of the ratios.
///
/// Modes measured:
/// * `uds`: C client, C echo thread, socketpair; 64 B and 4 KiB frames.
/// * `nio`: the same 64 B frames between two NIO channels on two event loops, no RHP (ping-pong
///   and a window of `depth` frames): the floor the event loop itself sets.
/// * `rhp.thread`: two `Connection`s in this process over a socketpair (host ↔ guest).
/// * `rhp.kv`: our host ↔ the `kv-runtime` process (when its binary is found).
@main
enum RHPBench {
    struct Options {
        var roundTrips = 20_000
        var pipelined = 200_000
        var depth = 64
        var kvRuntime: String?
        /// Only the host ↔ kv-runtime ping round trips (for profiling).
        var pingOnly = false
        /// Only the host ↔ kv-runtime pipelined calls (for profiling).
        var pipelineOnly = false
        /// Only the host ↔ kv-runtime 4 KiB query round trips (for profiling).
        var queryOnly = false
        /// Keep one core busy with a spinning thread for the whole run (baseline and RHP alike),
        /// so that no core sleeps deeply between ping and pong: the "hot" regime.
        var hot = false
        /// Where the pipelined callers run (`--callers pool|loop|both`): the global pool, the
        /// connection's event loop, or both, one after the other (the default).
        var callers: [Bool] = [false, true]

        init(arguments: [String]) {
            var iterator = arguments.dropFirst().makeIterator()
            while let argument = iterator.next() {
                switch argument {
                case "--round-trips": roundTrips = iterator.next().flatMap(Int.init) ?? roundTrips
                case "--pipelined": pipelined = iterator.next().flatMap(Int.init) ?? pipelined
                case "--depth": depth = iterator.next().flatMap(Int.init) ?? depth
                case "--kv-runtime": kvRuntime = iterator.next()
                case "--json": break
                case "--ping-only": pingOnly = true
                case "--pipeline-only": pipelineOnly = true
                case "--query-only": queryOnly = true
                case "--hot": hot = true
                case "--callers":
                    switch iterator.next() {
                    case "pool": callers = [false]
                    case "loop": callers = [true]
                    case "both": callers = [false, true]
                    case let other:
                        FileHandle.standardError.write(Data(
                            "rhp-bench: --callers takes pool, loop or both, not \(other ?? "nothing")\n".utf8))
                        exit(2)
                    }
                default:
                    FileHandle.standardError.write(Data("rhp-bench: unknown argument \(argument)\n".utf8))
                    exit(2)
                }
            }
        }
    }

    /// With `--json`, progress goes to stderr and the rows with goals to stdout as JSON.
    static let json = CommandLine.arguments.contains("--json")

    /// A progress line: stdout, or stderr with `--json`.
    static func say(_ line: String) {
        if json {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        } else {
            print(line)
        }
    }

    static func main() async throws {
        let options = Options(arguments: CommandLine.arguments)
        let spinner = options.hot ? Spinner() : nil
        defer { spinner?.stop() }
        /// Names the regime in the rows, so that an idle run and a hot one can share a table.
        let regime = options.hot ? ", hot (one core busy)" : ""
        var rows: [BenchRow] = []
        var logger = Logger(label: "rhp-bench")
        logger.logLevel = .warning
        var summary: [String] = []

        // Baseline: the same sizes as an RHP ping request (59 B payload) and a 4 KiB query.
        let baselinePing = try baselineRoundTrips(payload: 64, count: options.roundTrips)
        report("uds.thread.rtt.64", baselinePing)
        let baseline4K = try baselineRoundTrips(payload: 4096, count: options.roundTrips)
        report("uds.thread.rtt.4096", baseline4K)
        let baselinePipe = try baselinePipelined(payload: 64, total: options.pipelined, depth: options.depth)
        say("RESULT uds.thread.pipe\(options.depth).64 msgs_per_s=\(Int(baselinePipe))")
        // The event loop's own floor: the same frames between two NIO channels, no RHP.
        let nioFloor = Latencies(sorted: try await NIOFloor.roundTrips(
            payload: 64, count: options.roundTrips, warmup: options.roundTrips / 10).sorted())
        report("nio.thread.rtt.64", nioFloor)
        summary.append(ratio("nio floor ping rtt (median)", nioFloor.median, baselinePing.median))
        rows.append(BenchRow(
            figure: "NIO floor: ping rtt between two event loops, no RHP, median" + regime, ours: nioFloor.median * 1000,
            baseline: baselinePing.median * 1000, unit: "ns", maxRatio: .infinity))

        // The event loop's floor for pipelining: the same window of frames, no RHP.
        if !options.pingOnly && !options.queryOnly {
            let nioPipe = try await NIOFloor.pipelined(payload: 64, total: options.pipelined, depth: options.depth)
            say("RESULT nio.thread.pipe\(options.depth).64 msgs_per_s=\(Int(nioPipe))")
            summary.append(String(
                format: "nio floor pipelined: %.0f msgs/s = %.1f%% of raw", nioPipe, 100 * nioPipe / baselinePipe))
            rows.append(BenchRow(
                figure: "NIO floor: pipelined msgs/s, \(options.depth) outstanding, two event loops, no RHP (vs raw msgs/s)"
                    + regime,
                ours: nioPipe, baseline: baselinePipe, unit: "/s", lowerIsBetter: false, maxRatio: .infinity))
        }

        // RHP between two connections in this process.
        if !options.pingOnly && !options.pipelineOnly && !options.queryOnly {
            summary += try await inProcessMeasurements(
                options: options, logger: logger, baselinePing: baselinePing, baseline4K: baseline4K,
                baselinePipe: baselinePipe)
        }

        // RHP between our host and the kv-runtime process.
        if let binary = options.kvRuntime ?? defaultKVRuntime(), FileManager.default.isExecutableFile(atPath: binary) {
            let (lines, kvRows) = try await withKVRuntime(binary: binary, logger: logger) { host in
                var lines: [String] = []
                /// Pipelined calls with the callers on the global pool (as a node's are) and on the
                /// connection's event loop (as the C client and the ping round trips run: one
                /// thread that writes requests and reads answers); returns the rates by place.
                func pipelined() async throws -> [Bool: Double] {
                    var rates: [Bool: Double] = [:]
                    for onLoop in options.callers {
                        let rate = try await rhpPipelined(host, total: options.pipelined, depth: options.depth, onLoop: onLoop)
                        let name = onLoop ? "loop" : "pool"
                        say("RESULT rhp.kv.pipe\(options.depth).ping.\(name) calls_per_s=\(Int(rate))")
                        lines.append(String(
                            format: "rhp.kv pipelined, callers on the %@: %.0f calls/s = %.1f%% of raw", name, rate,
                            100 * rate / baselinePipe))
                        rates[onLoop] = rate
                    }
                    return rates
                }
                if options.pipelineOnly {
                    _ = try await pipelined()
                    return (lines, [BenchRow]())
                }
                if options.queryOnly {
                    let query = try await rhpRoundTrips(host, body: query4K, count: options.roundTrips)
                    report("rhp.kv.rtt.query4k", query)
                    lines.append(ratio("rhp.kv 4 KiB query rtt (median)", query.median, baseline4K.median))
                    return (lines, [BenchRow]())
                }
                let ping = try await rhpRoundTrips(host, body: .runtimePingRequest, count: options.roundTrips)
                report("rhp.kv.rtt.ping", ping)
                lines.append(ratio("rhp.kv ping rtt (median)", ping.median, baselinePing.median))
                lines.append(ratio("rhp.kv ping rtt (p99)", ping.p99, baselinePing.p99))
                if options.pingOnly { return (lines, [BenchRow]()) }
                let query = try await rhpRoundTrips(host, body: query4K, count: options.roundTrips)
                report("rhp.kv.rtt.query4k", query)
                lines.append(ratio("rhp.kv 4 KiB query rtt (median)", query.median, baseline4K.median))
                let rates = try await pipelined()
                var rows = [
                    BenchRow(figure: "rhp ping rtt host↔kv-runtime, median" + regime, ours: ping.median * 1000,
                             baseline: baselinePing.median * 1000, unit: "ns", maxRatio: 2),
                    BenchRow(figure: "rhp 4 KiB query rtt host↔kv-runtime, median" + regime, ours: query.median * 1000,
                             baseline: baseline4K.median * 1000, unit: "ns", maxRatio: .infinity),
                ]
                // Higher is better: ratio = raw / ours, so ≥ 25 % of raw is ratio ≤ 4. The goal
                // is set on callers on the event loop, which like the C client (and the ping
                // round trips above) write requests and read answers on one thread; callers on
                // the global pool add two thread hand-offs per call and are reported beside.
                if let rate = rates[true] {
                    rows.append(BenchRow(
                        figure: "rhp pipelined calls/s, \(options.depth) outstanding, callers on the event loop (vs raw msgs/s)" + regime,
                        ours: rate, baseline: baselinePipe, unit: "/s", lowerIsBetter: false, maxRatio: 4))
                }
                if let rate = rates[false] {
                    rows.append(BenchRow(
                        figure: "rhp pipelined calls/s, \(options.depth) outstanding, callers on the global pool (vs raw msgs/s)" + regime,
                        ours: rate, baseline: baselinePipe, unit: "/s", lowerIsBetter: false, maxRatio: .infinity))
                }
                return (lines, rows)
            }
            summary += lines
            rows += kvRows
        } else {
            say("NOTE kv-runtime binary not found; pass --kv-runtime PATH to measure host ↔ kv-runtime")
        }

        say("SUMMARY")
        for line in summary { say("  " + line) }
        if json { BenchSupport.report(rows, json: true) }
    }

    /// Ping, 4 KiB query and pipelined calls between two connections in this process; returns
    /// the summary lines.
    static func inProcessMeasurements(
        options: Options, logger: Logger, baselinePing: Latencies, baseline4K: Latencies, baselinePipe: Double
    ) async throws -> [String] {
        let thread = try await inProcessPair(logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await thread.host.run() }
            group.addTask { try await thread.guest.run() }
            thread.guest.initGuest()
            _ = try await thread.host.initHost(runtimeID: benchRuntimeID, hostInfo: benchHostInfo, timeout: .seconds(10))
            var summary: [String] = []
            let ping = try await rhpRoundTrips(thread.host, body: .runtimePingRequest, count: options.roundTrips)
            report("rhp.thread.rtt.ping", ping)
            summary.append(ratio("rhp.thread ping rtt (median)", ping.median, baselinePing.median))
            let query = try await rhpRoundTrips(thread.host, body: query4K, count: options.roundTrips)
            report("rhp.thread.rtt.query4k", query)
            summary.append(ratio("rhp.thread 4 KiB query rtt (median)", query.median, baseline4K.median))
            let rate = try await rhpPipelined(thread.host, total: options.pipelined, depth: options.depth)
            say("RESULT rhp.thread.pipe\(options.depth).ping calls_per_s=\(Int(rate))")
            summary.append(String(format: "rhp.thread pipelined: %.0f calls/s = %.1f%% of raw", rate, 100 * rate / baselinePipe))
            await thread.host.close()
            await thread.guest.close()
            try await group.waitForAll()
            return summary
        }
    }

    /// A 4 KiB query: `get_runtime_id` with 4 KiB of arguments (ignored by kv-runtime and echoed by
    /// the in-process guest), so the request frame is about 4 KiB.
    static let query4K = Body.runtimeQueryRequest(RuntimeQueryRequest(
        method: "get_runtime_id", args: .byteString([UInt8](repeating: 0x42, count: 4096))))

    // MARK: Measurements

    struct Latencies {
        var sorted: [Double]  // microseconds
        var median: Double { sorted[sorted.count / 2] }
        var p99: Double { sorted[Swift.min(sorted.count - 1, sorted.count * 99 / 100)] }
        var min: Double { sorted[0] }
        var mean: Double { sorted.reduce(0, +) / Double(sorted.count) }
    }

    static func report(_ name: String, _ latencies: Latencies) {
        say(String(
            format: "RESULT %@ median_us=%.2f p99_us=%.2f min_us=%.2f mean_us=%.2f n=%d", name, latencies.median,
            latencies.p99, latencies.min, latencies.mean, latencies.sorted.count))
    }

    static func ratio(_ what: String, _ value: Double, _ baseline: Double) -> String {
        String(format: "%@: %.2f µs = %.2f× raw (%.2f µs)", what, value, value / baseline, baseline)
    }

    static func baselineRoundTrips(payload: Int, count: Int) throws -> Latencies {
        var echo = uds_echo()
        guard uds_echo_start(&echo) == 0 else { throw BenchError("cannot start the C echo thread") }
        defer { uds_echo_stop(&echo) }
        let warmup = count / 10
        var samples = [UInt64](repeating: 0, count: warmup + count)
        guard uds_round_trips(echo.client_fd, payload, warmup + count, &samples) == 0 else {
            throw BenchError("baseline round trips failed")
        }
        return Latencies(sorted: samples.dropFirst(warmup).map { Double($0) / 1000 }.sorted())
    }

    static func baselinePipelined(payload: Int, total: Int, depth: Int) throws -> Double {
        var echo = uds_echo()
        guard uds_echo_start(&echo) == 0 else { throw BenchError("cannot start the C echo thread") }
        defer { uds_echo_stop(&echo) }
        var elapsed: UInt64 = 0
        guard uds_pipelined(echo.client_fd, payload, total, Int32(depth), &elapsed) == 0 else {
            throw BenchError("baseline pipelining failed")
        }
        return Double(total) / (Double(elapsed) / 1e9)
    }

    static func rhpRoundTrips(_ connection: Connection, body: Body, count: Int) async throws -> Latencies {
        // The caller runs on the connection's event loop: answers resume it without a hand-off.
        try await withTaskExecutorPreference(connection.eventLoopTaskExecutor) {
            try await timedRoundTrips(connection, body: body, count: count)
        }
    }

    static func timedRoundTrips(_ connection: Connection, body: Body, count: Int) async throws -> Latencies {
        let clock = ContinuousClock()
        let warmup = count / 10
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for i in 0..<(warmup + count) {
            let start = clock.now
            _ = try await connection.call(body)
            let elapsed = clock.now - start
            if i >= warmup {
                let (seconds, attoseconds) = elapsed.components
                samples.append(Double(seconds) * 1e6 + Double(attoseconds) / 1e12)
            }
        }
        return Latencies(sorted: samples.sorted())
    }

    /// `depth` callers in a task group, each issuing calls back to back, `total` calls in all.
    static func rhpPipelined(_ connection: Connection, total: Int, depth: Int, onLoop: Bool = false) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<depth {
                let share = total / depth + (worker < total % depth ? 1 : 0)
                let caller: @Sendable () async throws -> Void = {
                    for _ in 0..<share { _ = try await connection.call(.runtimePingRequest) }
                }
                // (A nil preference is not the same as none: it still makes the runtime look
                // the preference up at every resumption.)
                if onLoop {
                    group.addTask(executorPreference: connection.eventLoopTaskExecutor, operation: caller)
                } else {
                    group.addTask(operation: caller)
                }
            }
            try await group.waitForAll()
        }
        let (seconds, attoseconds) = (clock.now - start).components
        return Double(total) / (Double(seconds) + Double(attoseconds) / 1e18)
    }

    // MARK: Setups

    /// Echoes requests; answers ping with Empty (at once, on the event loop, as kv-runtime
    /// does) and the handshake as a v21.1 runtime.
    struct EchoGuest: RequestHandler {
        func immediateAnswer(to request: Body) -> Body? {
            if case .runtimePingRequest = request { return .empty }
            return nil
        }

        func handle(_ request: Body) async throws -> Body {
            switch request {
            case .runtimeInfoRequest:
                .runtimeInfoResponse(RuntimeInfoResponse(protocolVersion: .runtimeHostProtocol, runtimeVersion: Version(major: 1)))
            case .runtimePingRequest: .empty
            default: request
            }
        }
    }

    static func inProcessPair(logger: Logger) async throws -> (host: Connection, guest: Connection) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw BenchError("socketpair failed") }
        let host = try await Connection.adopting(connectedSocket: fds[0], handler: UnsupportedRequestHandler(), logger: logger)
        let guest = try await Connection.adopting(
            connectedSocket: fds[1], handler: EchoGuest(),
            configuration: Connection.Configuration(servesRequestsOnEventLoop: true), logger: logger)
        return (host, guest)
    }

    static func withKVRuntime<T: Sendable>(
        binary: String, logger: Logger, _ body: @Sendable (Connection) async throws -> T
    ) async throws -> T {
        let directory = NSTemporaryDirectory() + "rhp-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/rhp.sock"
        let listener = try await ConnectionListener.bind(unixSocketPath: socketPath)
        let child = try ChildProcess.launch(
            executable: binary,
            environment: ProcessInfo.processInfo.environment.merging(
                ["OASIS_WORKER_HOST": socketPath, "KV_RUNTIME_LOG_LEVEL": "warning"]) { _, new in new })
        defer {
            child.signal(SIGTERM)
            _ = child.waitUntilExit()
        }
        let host = try await listener.accept(handler: UnsupportedRequestHandler(), logger: logger, timeout: .seconds(10))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await host.run() }
            _ = try await host.initHost(runtimeID: benchRuntimeID, hostInfo: benchHostInfo, timeout: .seconds(10))
            let lines = try await body(host)
            await host.close()
            try await group.waitForAll()
            await listener.close()
            return lines
        }
    }

    static func defaultKVRuntime() -> String? {
        let candidates = ["../.build/release/kv-runtime", "../.build/debug/kv-runtime"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let benchRuntimeID = Namespace.test(seed: "rhp-bench")
    static let benchHostInfo = HostInfo(
        consensusBackend: "tendermint", consensusProtocolVersion: Version.consensusProtocol.packed,
        consensusChainContext: "rhp-bench")
}

/// A thread that spins until stopped, keeping one core from going idle.
final class Spinner: @unchecked Sendable {
    private let running = Atomic<Bool>(true)

    init() {
        let thread = Thread { [self] in
            var counter: UInt64 = 0
            while running.load(ordering: .relaxed) { counter &+= 1 }
            _ = counter
        }
        thread.start()
    }

    func stop() { running.store(false, ordering: .relaxed) }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
