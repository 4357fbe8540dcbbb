/// The operation did not finish within its bound.
public struct TimedOut: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was waited for.
    public let what: String
    /// The bound.
    public let after: Duration
    public var description: String { "\(what) did not finish within \(after)" }
}

/// Runs `operation`, failing with ``TimedOut`` (and cancelling it) if it takes longer than
/// `limit`. Tests use it to bound every wait without asserting on timing.
public func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: String = "operation", _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TimedOut(what: what, after: limit)
        }
        return value
    }
}

/// Polls `condition` every few milliseconds until it holds, failing after `limit`.
public func waitUntil(
    _ limit: Duration = .seconds(300), _ what: String = "condition", _ condition: @escaping @Sendable () async -> Bool
) async throws {
    let clock = ContinuousClock()
    let end = clock.now + limit
    while !(await condition()) {
        guard clock.now < end else { throw TimedOut(what: what, after: limit) }
        try await Task.sleep(for: .milliseconds(5))
    }
}
