import Metrics
public import Prometheus

/// The process's Prometheus metrics: swift-metrics' backend, so every module that records
/// through `Metrics` (`Counter`, `Gauge`, `Timer`) ends up in ``exposition()``.
public final class NodeMetrics: Sendable {
    /// The registry behind the exposition.
    public let registry: PrometheusCollectorRegistry

    private init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// A static let is initialised once, thread-safely, on first use — exactly the
    /// once-per-process guarantee `MetricsSystem.bootstrap` needs.
    private static let shared: NodeMetrics = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return NodeMetrics(registry: registry)
    }()

    /// Bootstraps `MetricsSystem` with a Prometheus factory on the first call; every call
    /// returns that same instance.
    ///
    /// `MetricsSystem` can be bootstrapped once per process, so nothing else in the process may
    /// bootstrap it (a second bootstrap traps).
    public static func bootstrap() -> NodeMetrics {
        shared
    }

    /// Every metric in the Prometheus text exposition format (version 0.0.4).
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// The `Content-Type` of ``exposition()``.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}
