import Metrics

/// The connection's swift-metrics instruments, labelled by the request's body kind (`call`).
///
/// Created once per connection for every kind, so the hot path only looks them up. Names follow
/// oasis-core (`oasis_rhp_*`, `oasis_codec_size`); timeouts get their own counter.
struct ConnectionMetrics: Sendable {
    struct PerCall: Sendable {
        let successes: Counter
        let failures: Counter
        let timeouts: Counter
        let latency: Metrics.Timer
    }

    /// Indexed by ``Body/Kind/ordinal``.
    private let perCall: [PerCall]
    let frameSizeRead: Recorder
    let frameSizeWrite: Recorder
    /// The peer's requests refused over ``Connection/Configuration/maxConcurrentRequests``.
    let refusedRequests: Counter

    /// Instruments from `factory`, or from the process-wide `MetricsSystem` when `nil`.
    init(factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        var perCall: [PerCall] = []
        for kind in Body.Kind.allCases {
            let dimensions = [("call", kind.rawValue)]
            perCall.append(PerCall(
                successes: Counter(label: "oasis_rhp_successes", dimensions: dimensions, factory: factory),
                failures: Counter(label: "oasis_rhp_failures", dimensions: dimensions, factory: factory),
                timeouts: Counter(label: "oasis_rhp_timeouts", dimensions: dimensions, factory: factory),
                latency: Metrics.Timer(label: "oasis_rhp_latency", dimensions: dimensions, factory: factory)))
        }
        self.perCall = perCall
        frameSizeRead = Recorder(
            label: "oasis_codec_size", dimensions: [("call", "read"), ("module", "rhp/internal")], factory: factory)
        frameSizeWrite = Recorder(
            label: "oasis_codec_size", dimensions: [("call", "write"), ("module", "rhp/internal")], factory: factory)
        refusedRequests = Counter(label: "oasis_rhp_refused_requests", factory: factory)
    }

    subscript(kind: Body.Kind) -> PerCall { perCall[kind.ordinal] }
}
