// node-bench: sustained localnet throughput through the real pipeline.
//
//   cd Benchmarks && swift run -c release node-bench [--json] [--kv-runtime PATH] [--quick]
//       [--batch N] [--transactions N]   (one batch size, for profiling)
//
// For batch sizes 1, 10 and 100 (the descriptor's max_batch_size), 2×B concurrent clients
// submit kv-runtime `insert`s to a `LocalnetExecutor` on the embedded consensus, with kv-runtime
// hosted unconfined: check-tx, batching, execute over RHP (state read through the host's
// storage proofs), storage apply of the io and state write logs, the consensus block and the
// history commit, all durable (SQLite WAL, synchronous FULL). Figures per batch size:
// * committed transactions/s;
// * submit → commit latency, p50 and p99;
// * where the time goes per transaction: check-tx, execute, storage apply, finalize + history
//   commit (the executor's own stage timers).
// The baseline, measured in the same run, is the floor of a durable round: one SQLite
// transaction with synchronous=FULL on the same disk (C, sqlite3 API). Throughput is compared
// with B such commits per round; latency with one commit. The issue sets no goal: reported.
import BenchSupport
import CSQLiteBaseline
import Foundation
import Logging
import RuntimeNode
import RuntimeRegistry
import Synchronization

@main
struct NodeBench {
    static func main() async throws {
        var json = false
        var quick = false
        var kvRuntime = "../.build/release/kv-runtime"
        var batches = [1, 10, 100]
        var transactions: Int?
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--json": json = true
            case "--quick": quick = true
            case "--kv-runtime": kvRuntime = arguments.next() ?? kvRuntime
            // For profiling one batch size: --batch 100 --transactions 5000.
            case "--batch": batches = [arguments.next().flatMap { Int($0) }].compactMap { $0 }.filter { $0 > 0 }
            case "--transactions": transactions = arguments.next().flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
            default:
                FileHandle.standardError.write(Data(
                    "usage: node-bench [--json] [--quick] [--kv-runtime PATH] [--batch N] [--transactions N]\n".utf8))
                exit(2)
            }
        }
        let kv = URL(fileURLWithPath: kvRuntime).standardizedFileURL.path
        guard FileManager.default.isExecutableFile(atPath: kv) else {
            FileHandle.standardError.write(Data("node-bench: kv-runtime not found at \(kv); pass --kv-runtime PATH\n".utf8))
            exit(2)
        }
        let commit = try durableCommitNanoseconds(count: quick ? 100 : 300)
        progress(String(format: "baseline: one durable SQLite commit = %.2f ms", commit / 1e6))
        var rows: [BenchRow] = []
        guard !batches.isEmpty else {
            FileHandle.standardError.write(Data("node-bench: --batch takes a positive number\n".utf8))
            exit(2)
        }
        for batch in batches {
            let total = transactions ?? (quick ? max(50, batch * 5) : max(300, batch * 20))
            let result = try await measure(batch: batch, transactions: total, kvRuntime: kv)
            progress(result.summary)
            rows.append(BenchRow(
                figure: "localnet committed tx/s, batch \(batch)", ours: result.throughput,
                baseline: 1e9 / commit * Double(batch), unit: "/s", lowerIsBetter: false, maxRatio: .infinity))
            rows.append(BenchRow(
                figure: "localnet submit→commit p50, batch \(batch)", ours: result.p50, baseline: commit, unit: "ns",
                maxRatio: .infinity))
            rows.append(BenchRow(
                figure: "localnet submit→commit p99, batch \(batch)", ours: result.p99, baseline: commit, unit: "ns",
                maxRatio: .infinity))
            for (stage, nanos) in result.split {
                rows.append(BenchRow(
                    figure: "localnet \(stage) per tx (baseline: all stages), batch \(batch)", ours: nanos,
                    baseline: result.split.map(\.1).reduce(0, +), unit: "ns", maxRatio: .infinity))
            }
        }
        report(rows, json: json)
    }

    static func progress(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

let logger = Logger(label: "node-bench") { _ in SwiftLogNoOpLogHandler() }

/// One durable SQLite commit (WAL, synchronous FULL), median over `count` single-row transactions.
func durableCommitNanoseconds(count: Int) throws -> Double {
    let path = NSTemporaryDirectory() + "node-bench-baseline-\(getpid()).sqlite"
    defer {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
    guard let db = baseline_open(path, "FULL", 1) else { throw BenchFailure("cannot open the baseline database") }
    defer { baseline_close(db) }
    let blob = [UInt8](repeating: 7, count: 512)
    var samples: [Double] = []
    let clock = ContinuousClock()
    for round in 0..<Int64(count) {
        let start = clock.now
        guard baseline_insert(db, round, 1, 1, blob, Int32(blob.count)) == 0 else { throw BenchFailure("insert failed") }
        samples.append(nanoseconds(start.duration(to: clock.now)))
    }
    samples.sort()
    return samples[samples.count / 2]
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func nanoseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
}

struct Result {
    var throughput: Double
    var p50: Double
    var p99: Double
    var split: [(String, Double)]
    var summary: String
}

/// The localnet pipeline with `max_batch_size = batch`, `transactions` inserts from 2×batch clients.
func measure(batch: Int, transactions: Int, kvRuntime: String) async throws -> Result {
    let root = NSTemporaryDirectory() + "node-bench-\(getpid())-\(batch)"
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let id = Localnet.kvRuntimeID
    var descriptor = Localnet.descriptor(id)
    descriptor.txnScheduler.maxBatchSize = UInt64(batch)
    descriptor.txnScheduler.batchFlushTimeoutNanoseconds = 50_000_000
    let genesis = ConsensusGenesis(
        chainContext: "node-bench-\(batch)", blockInterval: .seconds(3600), epochInterval: 1_000_000, runtimes: [descriptor])
    let consensus = try LocalConsensus(genesis: genesis, directory: root, logger: logger)
    defer { consensus.close() }
    let options = RuntimeOptions(
        supported: ["\(id)"], provisioner: "unconfined", paths: ["\(id)": kvRuntime], tagIndexerBackend: "sqlite",
        debugDontBlameOasis: true)
    let registry = try await Registry.make(dataDir: root, options: options, consensus: consensus, logger: logger)
    try await registry.finishInitialization()
    let runtime = try registry.runtime(id)

    return try await withThrowingTaskGroup(of: Void.self) { group in
        for service in registry.services { group.addTask { try await service.run() } }
        let (hosted, notifier) = try await RuntimeHostNode(
            factory: NodeHostHandlerFactory(runtime: runtime, logger: logger)).provisionHostedRuntime()
        var events = hosted.events().makeAsyncIterator()
        group.addTask { try await hosted.run() }
        group.addTask { try await notifier.run() }
        let executor = LocalnetExecutor(runtime: runtime, hosted: hosted, consensus: consensus, logger: logger)
        group.addTask { try await executor.run() }
        hosted.start()
        while let event = await events.next() {
            if case .started = event { break }
            if case .failedToStart(let error) = event { throw error }
        }

        let next = Ticket()
        let clock = ContinuousClock()
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { clients in
            for _ in 0..<(2 * batch) {
                clients.addTask {
                    var mine: [Double] = []
                    while true {
                        let n = next.take()
                        if n >= transactions { return mine }
                        let tx = try CBOREncoder().encode(CBORValue.map([
                            CBORMapEntry(key: .textString("args"), value: .map([
                                CBORMapEntry(key: .textString("key"), value: .textString("key-\(n)")),
                                CBORMapEntry(key: .textString("value"), value: .textString("value-\(n)")),
                            ])),
                            CBORMapEntry(key: .textString("method"), value: .textString("insert")),
                        ]))
                        let began = clock.now
                        _ = try await executor.submit(tx)
                        mine.append(nanoseconds(began.duration(to: clock.now)))
                    }
                }
            }
            var all: [Double] = []
            for try await part in clients { all += part }
            return all.sorted()
        }
        let elapsed = nanoseconds(start.duration(to: clock.now))
        let stats = executor.statistics
        let count = Double(max(stats.transactions, 1))
        let split = [
            ("check_tx", stats.checkTxSeconds * 1e9 / count), ("execute", stats.executeSeconds * 1e9 / count),
            ("storage_apply", stats.storageApplySeconds * 1e9 / count),
            ("finalize+history_commit", stats.commitSeconds * 1e9 / count),
        ]
        hosted.stop()
        group.cancelAll()
        let throughput = Double(transactions) / elapsed * 1e9
        let summary = String(
            format: "batch %d: %d tx in %.2f s = %.0f tx/s over %llu rounds; p50 %.2f ms, p99 %.2f ms; per tx: %@",
            batch, transactions, elapsed / 1e9, throughput, stats.batches, latencies[latencies.count / 2] / 1e6,
            latencies[min(latencies.count - 1, latencies.count * 99 / 100)] / 1e6,
            split.map { String(format: "%@ %.0f µs", $0.0, $0.1 / 1000) }.joined(separator: ", "))
        return Result(
            throughput: throughput, p50: latencies[latencies.count / 2],
            p99: latencies[min(latencies.count - 1, latencies.count * 99 / 100)], split: split, summary: summary)
    }
}

/// Hands out 0, 1, 2, … to concurrent clients.
final class Ticket: Sendable {
    private let counter = Atomic<Int>(0)
    func take() -> Int { counter.add(1, ordering: .relaxed).oldValue }
}
