import Foundation

/// One measured figure with its baseline from the same run.
public struct BenchRow: Codable, Sendable {
    public var figure: String
    public var ours: Double
    public var baseline: Double
    public var unit: String
    /// The goal, as text (e.g. "ratio <= 1.0").
    public var goal: String
    /// ours / baseline for times; higher-is-better figures invert it in `ratio`.
    public var ratio: Double
    public var met: Bool

    /// `met`, `MISSED`, or `—` for a figure with no goal.
    public var verdict: String { goal.hasPrefix("none") ? "—" : met ? "met" : "MISSED" }

    public init(figure: String, ours: Double, baseline: Double, unit: String, lowerIsBetter: Bool = true,
                maxRatio: Double) {
        self.figure = figure
        self.ours = ours
        self.baseline = baseline
        self.unit = unit
        self.ratio = lowerIsBetter ? ours / baseline : baseline / ours
        if maxRatio.isInfinite {
            self.goal = "none (reported)"
        } else if lowerIsBetter {
            self.goal = "ours/baseline ≤ \(maxRatio)"
        } else {
            self.goal = "ours ≥ baseline/\(maxRatio)"
        }
        self.met = ratio <= maxRatio
    }
}

/// Median time of one call of `body`, in nanoseconds: runs batches sized to take ~10 ms each
/// after a warm-up and returns the median per-call time over `rounds` batches.
public func medianNanoseconds(rounds: Int = 31, _ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    // Warm up and size the batch.
    var batch = 1
    while true {
        let start = clock.now
        for _ in 0..<batch { try body() }
        let elapsed = start.duration(to: clock.now)
        if elapsed > .milliseconds(10) || batch > 1 << 24 { break }
        batch *= 2
    }
    var samples: [Double] = []
    for _ in 0..<rounds {
        let start = clock.now
        for _ in 0..<batch { try body() }
        let elapsed = start.duration(to: clock.now)
        samples.append(Double(elapsed.components.attoseconds) / 1e9 / Double(batch)
            + Double(elapsed.components.seconds) * 1e9 / Double(batch))
    }
    samples.sort()
    return samples[samples.count / 2]
}

/// Prints rows as an aligned table, or as JSON when `json` is set.
public func report(_ rows: [BenchRow], json: Bool) {
    if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try! encoder.encode(rows), as: UTF8.self))
        return
    }
    let header = ["figure", "ours", "baseline", "ratio", "goal", "verdict"]
    let lines = rows.map { row in
        [row.figure, format(row.ours, row.unit), format(row.baseline, row.unit), String(format: "%.2f", row.ratio),
         row.goal, row.verdict]
    }
    let widths = (0..<header.count).map { column in
        ([header] + lines).map { $0[column].count }.max()!
    }
    for line in [header] + lines {
        print(zip(line, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
    }
}

func format(_ value: Double, _ unit: String) -> String {
    switch unit {
    case "ns": value >= 10_000 ? String(format: "%.1f µs", value / 1000) : String(format: "%.0f ns", value)
    default: String(format: "%.1f %@", value, unit)
    }
}
