/// Exponential restart backoff: `initial`, then ×`multiplier` per step, each interval capped at
/// `maximum`, with a random spread of ±`jitter` (a fraction) around the interval. Unlike v21.1
/// it never gives up and never falls back to retrying back to back. Intervals are whole
/// nanoseconds.
struct Backoff: Sendable {
    private let initial: Double
    private let multiplier: Double
    private let maximum: Double
    private let jitter: Double
    /// The current interval, in nanoseconds.
    private var interval: Double

    init(initial: Duration, multiplier: Double, maximum: Duration, jitter: Double) {
        self.initial = Self.nanoseconds(initial)
        self.multiplier = multiplier
        self.maximum = Self.nanoseconds(maximum)
        self.jitter = jitter
        self.interval = self.initial
    }

    /// The delay before the next attempt; moves the interval on.
    mutating func next() -> Duration {
        let current = min(interval, maximum)
        interval = min(current * multiplier, maximum)
        var delay = current
        if jitter > 0 { delay = min(current * (1 + Double.random(in: -jitter...jitter)), maximum) }
        return .nanoseconds(Int64(delay.rounded()))
    }

    /// Back to the initial interval (after a start that stayed healthy).
    mutating func reset() {
        interval = initial
    }

    private static func nanoseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1e9 + Double(attoseconds / 1_000_000_000)
    }
}
