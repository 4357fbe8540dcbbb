// state-bench: the runtime history against raw SQLite, same shapes, same run.
//
//   cd Benchmarks && swift run -c release state-bench [--json] [--cache DIR]
//
// Figures: commit one round per transaction, commit in batches of 100 and 1000, `block(round)`
// on a 1,000,000-round history (built once and cached), `latestBlock`, and a keep-last prune
// of 100,000 rounds. The baseline runs the same shapes through the sqlite3 C API on a
// `blocks(round INTEGER PRIMARY KEY, data BLOB)` table with the same synchronous setting.
import BenchSupport
import CSQLiteBaseline
import ConsensusAPI
import Foundation
import Logging
import OasisCBOR
import OasisCommon
import RuntimeHistory

@main
struct StateBench {
    static func main() async throws {
        let options = Options(CommandLine.arguments.dropFirst())
        let bench = Bench(options: options)
        try await bench.run()
    }
}

struct Options {
    var json = false
    var cache = "/tmp/state-bench-cache"
    /// Rounds in the lookup database.
    var lookupRounds: Int64 = 1_000_000
    var singleCommits: Int64 = 2_000
    var batch100Commits: Int64 = 20_000
    var batch1000Commits: Int64 = 200_000
    var lookups = 200_000
    var pruneRounds: Int64 = 100_000
    /// Run only the figures whose group is listed (commit, lookup, prune).
    var only: Set<String> = ["commit", "lookup", "prune"]

    init(_ arguments: ArraySlice<String>) {
        var rest = arguments.makeIterator()
        while let argument = rest.next() {
            switch argument {
            case "--json": json = true
            case "--cache": cache = rest.next() ?? cache
            case "--only": only = Set((rest.next() ?? "").split(separator: ",").map(String.init))
            case "--quick":
                lookupRounds = 100_000
                singleCommits = 200
                batch100Commits = 2_000
                batch1000Commits = 20_000
                lookups = 20_000
                pruneRounds = 20_000
            default:
                FileHandle.standardError.write(Data("usage: state-bench [--json] [--cache DIR] [--quick] [--only commit,lookup,prune]\n".utf8))
                exit(2)
            }
        }
    }
}

/// One measured figure: the shared `BenchRow` plus what this benchmark adds (how it was
/// measured, memory before and after).
struct Figure {
    var row: BenchRow
    var detail: String
    var rssBeforeMiB: Double
    var rssAfterMiB: Double

    /// A rate (higher is better): the goal is at least `minShare` of the baseline's rate, and
    /// `minRate` when given. The row's ratio is the slowdown, baseline ÷ ours.
    static func rate(
        _ name: String, ours: Double, baseline: Double, minShare: Double, minRate: Double? = nil, detail: String,
        rss: (Double, Double)
    ) -> Figure {
        var row = BenchRow(
            figure: name, ours: ours, baseline: baseline, unit: "rounds/s", lowerIsBetter: false, maxRatio: 1 / minShare)
        row.goal = "≥ \(Int(minShare * 100))% of raw" + (minRate.map { " and ≥ \(Int($0))/s" } ?? "")
        row.met = ours >= minShare * baseline && ours >= (minRate ?? 0)
        return Figure(row: row, detail: detail, rssBeforeMiB: rss.0, rssAfterMiB: rss.1)
    }

    /// A latency (lower is better): the goal is at most `maxRatio` times the baseline's.
    static func latency(_ name: String, ours: Double, baseline: Double, maxRatio: Double, detail: String,
                        rss: (Double, Double)) -> Figure {
        var row = BenchRow(figure: name, ours: ours, baseline: baseline, unit: "µs/op", maxRatio: maxRatio)
        row.goal = "≤ \(Int(maxRatio))× raw"
        return Figure(row: row, detail: detail, rssBeforeMiB: rss.0, rssAfterMiB: rss.1)
    }
}

/// The runtime all benchmark blocks belong to.
let runtimeID = Namespace.test(seed: "state bench ns")

/// A ~1 KiB block: a header with six storage signatures whose bytes vary by round.
func benchBlock(round: UInt64) -> AnnotatedBlock {
    var state = round &* 0x9E37_79B9_7F4A_7C15 | 1
    func bytes(_ n: Int) -> [UInt8] {
        (0..<n).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }
    var block = Block.genesis(namespace: runtimeID, timestamp: 1_700_000_000 + round)
    block.header.round = round
    block.header.stateRoot = try! Hash(bytes: bytes(32))
    block.header.ioRoot = try! Hash(bytes: bytes(32))
    block.header.storageSignatures = (0..<6).map { _ in
        Signature(publicKey: try! PublicKey(bytes: bytes(32)), signature: try! RawSignature(bytes: bytes(64)))
    }
    return AnnotatedBlock(consensusHeight: Int64(round) + 1, block: block)
}

/// Resident set size of this process, MiB.
func residentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kib / 1024
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

final class Bench {
    let options: Options
    let clock = ContinuousClock()
    let logger = Logger(label: "state-bench") { _ in SwiftLogNoOpLogHandler() }
    var figures: [Figure] = []

    init(options: Options) {
        self.options = options
    }

    func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func directory(_ name: String, fresh: Bool) throws -> String {
        let path = options.cache + "/" + name
        if fresh { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func openHistory(_ dir: String, pruner: PrunerStrategy = .none, maxRoundsPerPass: Int = 10_000) throws -> RuntimeHistory {
        try RuntimeHistory(
            directory: dir, runtimeID: runtimeID,
            configuration: HistoryConfiguration(pruner: pruner, maxRoundsPerPass: maxRoundsPerPass, deleteBatchSize: 1_000),
            logger: logger)
    }

    func openBaseline(_ path: String, fresh: Bool) throws -> OpaquePointer {
        guard let handle = baseline_open(path, "FULL", fresh ? 1 : 0) else {
            throw BenchError("cannot open the baseline database \(path)")
        }
        return handle
    }

    func run() async throws {
        note("state-bench: cache \(options.cache)")
        let blobLength = try CBOREncoder().encode(benchBlock(round: 123_456)).count
        note("block CBOR size: \(blobLength) bytes")
        let blob = (0..<blobLength).map { UInt8(truncatingIfNeeded: $0 &* 131) }

        if options.only.contains("commit") { try await commitFigures(blob: blob) }
        if options.only.contains("lookup") { try await lookupFigures(blob: blob) }
        if options.only.contains("prune") { try await pruneFigure(blob: blob) }

        printReport()
    }

    // MARK: Commits

    /// Ours and the baseline take turns, `slices` times, so a change in machine load during the
    /// run (the machine is shared) hits both alike.
    static let slices: Int64 = 5

    func commitFigures(blob: [UInt8]) async throws {
        for (name, count, perTxn) in [
            ("commit, 1 round/txn", options.singleCommits, Int64(1)),
            ("commit, 100 rounds/txn", options.batch100Commits, Int64(100)),
            ("commit, 1000 rounds/txn", options.batch1000Commits, Int64(1000)),
        ] {
            let rssBefore = residentMiB()
            let dir = try directory("commit", fresh: true)
            let history = try openHistory(dir)
            let raw = try openBaseline(dir + "/raw.sqlite", fresh: true)
            var latencies: [Double] = []
            latencies.reserveCapacity(Int(count / perTxn))
            // Only the commit calls are timed: a caller has its blocks already.
            var ours = Duration.zero
            var baseline = Duration.zero
            var rssSamples: [Double] = []  // after each slice: memory must stay flat
            let slice = count / Self.slices
            for part in 0..<Self.slices {
                var round = part * slice
                let end = part == Self.slices - 1 ? count : round + slice
                let rawStart = clock.now
                guard baseline_insert(raw, round, end - round, perTxn, blob, Int32(blob.count)) == 0 else {
                    throw BenchError("baseline insert failed")
                }
                baseline += clock.now - rawStart
                while round < end {
                    let last = min(round + perTxn, end)
                    let batch = (round..<last).map { HistoryCommit(block: benchBlock(round: UInt64($0)), roundResults: nil) }
                    let before = clock.now
                    if perTxn == 1 {
                        try await history.commit(batch[0].block, roundResults: nil)
                    } else {
                        try await history.commit(batch)
                    }
                    let took = clock.now - before
                    ours += took
                    latencies.append(seconds(took) * 1e6)
                    round = last
                }
                rssSamples.append(residentMiB())
            }
            history.close()
            baseline_close(raw)
            let oursRate = Double(count) / seconds(ours)
            let baselineRate = Double(count) / seconds(baseline)
            latencies.sort()
            add(Figure.rate(
                name, ours: oursRate, baseline: baselineRate, minShare: 0.5,
                detail: String(
                    format: "%lld rounds; per call median %.0f µs, p99 %.0f µs; RSS after each fifth %@ MiB", count,
                    percentile(latencies, 0.5), percentile(latencies, 0.99),
                    rssSamples.map { String(format: "%.1f", $0) }.joined(separator: ", ")),
                rss: (rssBefore, residentMiB())))
        }
        try? FileManager.default.removeItem(atPath: options.cache + "/commit")
    }

    // MARK: Lookups

    /// The cached 1,000,000-round databases, built once (ours in batches of 1000).
    func lookupDatabases(blob: [UInt8]) async throws -> (ours: String, raw: String) {
        let dir = try directory("lookup-\(options.lookupRounds)", fresh: false)
        let marker = dir + "/complete"
        if FileManager.default.fileExists(atPath: marker) {
            note("using the cached \(options.lookupRounds)-round databases in \(dir)")
            return (dir, dir + "/raw.sqlite")
        }
        note("building \(options.lookupRounds)-round databases in \(dir) (once)")
        _ = try directory("lookup-\(options.lookupRounds)", fresh: true)
        let history = try openHistory(dir)
        var round: Int64 = 0
        while round < options.lookupRounds {
            let end = min(round + 1000, options.lookupRounds)
            try await history.commit((round..<end).map {
                HistoryCommit(block: benchBlock(round: UInt64($0)), roundResults: nil)
            })
            round = end
        }
        history.close()
        let raw = try openBaseline(dir + "/raw.sqlite", fresh: true)
        guard baseline_insert(raw, 0, options.lookupRounds, 1000, blob, Int32(blob.count)) == 0,
            baseline_checkpoint(raw) == 0
        else { throw BenchError("baseline build failed") }
        baseline_close(raw)
        guard FileManager.default.createFile(atPath: marker, contents: Data()) else {
            throw BenchError("cannot write \(marker)")
        }
        return (dir, dir + "/raw.sqlite")
    }

    func lookupFigures(blob: [UInt8]) async throws {
        let (oursDir, rawPath) = try await lookupDatabases(blob: blob)
        var generator = SplitMix(seed: 42)
        let rounds = (0..<options.lookups).map { _ in Int64(generator.next() % UInt64(options.lookupRounds)) }
        let history = try openHistory(oursDir)
        let raw = try openBaseline(rawPath, fresh: false)
        var checksum: UInt64 = 0
        var rawChecksum: UInt64 = 0
        // Warm the page cache and the statement caches of both.
        for round in rounds.prefix(10_000) { checksum &+= try await history.block(round: UInt64(round)).header.timestamp }
        _ = baseline_lookup(raw, Array(rounds.prefix(10_000)), 10_000, &rawChecksum)

        // block(round)
        var rssBefore = residentMiB()
        var latencies: [Double] = []
        latencies.reserveCapacity(rounds.count)
        var ours = Duration.zero
        var baseline = Duration.zero
        let slice = rounds.count / Int(Self.slices)
        for part in 0..<Int(Self.slices) {
            let chunk = Array(rounds[(part * slice)..<(part == Int(Self.slices) - 1 ? rounds.count : (part + 1) * slice)])
            let rawStart = clock.now
            guard baseline_lookup(raw, chunk, Int64(chunk.count), &rawChecksum) == 0 else {
                throw BenchError("baseline lookup failed")
            }
            baseline += clock.now - rawStart
            for round in chunk {
                let before = clock.now
                let block = try await history.block(round: UInt64(round))
                let took = clock.now - before
                ours += took
                latencies.append(seconds(took) * 1e6)
                checksum &+= block.header.timestamp
            }
        }
        var rssAfter = residentMiB()
        let oursLookup = seconds(ours) / Double(rounds.count) * 1e6
        let rawLookup = seconds(baseline) / Double(rounds.count) * 1e6
        latencies.sort()
        add(Figure.latency(
            "block(round), \(options.lookupRounds) rounds", ours: oursLookup, baseline: rawLookup, maxRatio: 3,
            detail: String(
                format: "%d random lookups; median %.2f µs, p99 %.2f µs (includes CBOR decoding)", rounds.count,
                percentile(latencies, 0.5), percentile(latencies, 0.99)),
            rss: (rssBefore, rssAfter)))

        // latestBlock
        rssBefore = residentMiB()
        latencies.removeAll(keepingCapacity: true)
        ours = .zero
        baseline = .zero
        let calls = options.lookups / Int(Self.slices)
        for _ in 0..<Int(Self.slices) {
            let rawStart = clock.now
            guard baseline_latest(raw, Int64(calls), &rawChecksum) == 0 else { throw BenchError("baseline latest failed") }
            baseline += clock.now - rawStart
            for _ in 0..<calls {
                let before = clock.now
                let block = try await history.latestBlock()
                let took = clock.now - before
                ours += took
                latencies.append(seconds(took) * 1e6)
                checksum &+= block.header.round
            }
        }
        rssAfter = residentMiB()
        history.close()
        baseline_close(raw)
        let oursLatest = seconds(ours) / Double(calls * Int(Self.slices)) * 1e6
        let rawLatest = seconds(baseline) / Double(calls * Int(Self.slices)) * 1e6
        latencies.sort()
        add(Figure.latency(
            "latestBlock, \(options.lookupRounds) rounds", ours: oursLatest, baseline: rawLatest, maxRatio: 3,
            detail: String(
                format: "%d calls; median %.2f µs, p99 %.2f µs (ours from memory, raw from SQLite)", calls * Int(Self.slices),
                percentile(latencies, 0.5), percentile(latencies, 0.99)),
            rss: (rssBefore, rssAfter)))
        note("checksums \(checksum) \(rawChecksum)")
    }

    // MARK: Prune

    func pruneFigure(blob: [UInt8]) async throws {
        let kept: Int64 = 1_000
        let total = options.pruneRounds + kept
        let slice = options.pruneRounds / Self.slices
        let dir = try directory("prune", fresh: true)
        let history = try openHistory(dir, pruner: .keepLast(UInt64(kept - 1)), maxRoundsPerPass: Int(slice))
        let raw = try openBaseline(dir + "/raw.sqlite", fresh: true)
        var round: Int64 = 0
        while round < total {
            let end = min(round + 1000, total)
            try await history.commit((round..<end).map {
                HistoryCommit(block: benchBlock(round: UInt64($0)), roundResults: nil)
            })
            round = end
        }
        guard baseline_insert(raw, 0, total, 1000, blob, Int32(blob.count)) == 0 else {
            throw BenchError("baseline insert failed")
        }
        // Each fifth: one bounded keep-last pass for ours, the same rounds deleted for raw.
        let rssBefore = residentMiB()
        var ours = Duration.zero
        var baseline = Duration.zero
        var batches = 0
        for part in 0..<Self.slices {
            var start = clock.now
            let report = await history.pruner.prunePass()
            ours += clock.now - start
            guard report.outcome == .pruned, report.deleted == Int(slice) else {
                throw BenchError("prune pass: \(report.outcome), deleted \(report.deleted)")
            }
            batches += report.batches
            start = clock.now
            let deleted = baseline_prune(raw, part * slice, (part + 1) * slice, 1000)
            baseline += clock.now - start
            guard deleted == slice else { throw BenchError("baseline pruned \(deleted)") }
        }
        let rssAfter = residentMiB()
        history.close()
        baseline_close(raw)
        let oursRate = Double(slice * Self.slices) / seconds(ours)
        let rawRate = Double(slice * Self.slices) / seconds(baseline)
        add(Figure.rate(
            "keep-last prune, \(options.pruneRounds) rounds", ours: oursRate, baseline: rawRate, minShare: 0.5,
            minRate: 60_000,
            detail: "\(Self.slices) passes of \(slice) rounds, \(batches) delete transactions of 1000 rounds",
            rss: (rssBefore, rssAfter)))
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: Report

    func add(_ figure: Figure) {
        figures.append(figure)
        note(String(format: "%@: ours %.1f, raw %.1f %@", figure.row.figure, figure.row.ours, figure.row.baseline,
                    figure.row.unit))
    }

    /// The shared table (or JSON), then how each figure was measured and the memory it used
    /// (to standard error with `--json`, so standard output stays JSON).
    func printReport() {
        report(figures.map(\.row), json: options.json)
        let details = figures.map {
            String(format: "%@: %@; RSS %.1f → %.1f MiB", $0.row.figure, $0.detail, $0.rssBeforeMiB, $0.rssAfterMiB)
        }
        if options.json {
            note(details.joined(separator: "\n"))
        } else {
            print("")
            for line in details { print(line) }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A small deterministic generator for the lookup rounds.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
