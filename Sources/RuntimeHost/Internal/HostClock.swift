/// The injected clock of a supervisor, with its type erased: sleeping for a duration and
/// reading the time elapsed since the clock was wrapped.
struct HostClock: Sendable {
    let sleep: @Sendable (Duration) async throws -> Void
    let elapsed: @Sendable () -> Duration

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = clock.now
        sleep = { duration in try await clock.sleep(until: clock.now.advanced(by: duration), tolerance: nil) }
        elapsed = { origin.duration(to: clock.now) }
    }
}
