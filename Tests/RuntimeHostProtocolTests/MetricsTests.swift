import MetricsTestKit
import OasisCommon
import RuntimeHostProtocol
import RuntimeHostProtocolTesting
import Testing

@Suite("RHP connection metrics")
struct MetricsTests {
    @Test("calls count successes, failures and timeouts per request kind and time every call")
    func countersAndLatency() async throws {
        let metrics = TestMetrics()
        let (logger, _) = capturingLogger()
        let release = Gate()
        let pair = try await ConnectionPair.make(
            guestHandler: GuestHandler { body in
                switch body {
                case .runtimeQueryRequest(let query) where query.method == "fail":
                    throw MethodNotSupported()
                case .runtimeAbortRequest:
                    await release.wait()
                    return .runtimeAbortResponse
                default:
                    return body
                }
            }, configuration: Connection.Configuration(metricsFactory: metrics), logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            _ = try await pair.host.call(.runtimePingRequest)
            _ = try await pair.host.call(.runtimePingRequest)
            _ = try? await pair.host.call(.runtimeQueryRequest(RuntimeQueryRequest(method: "fail")))
            _ = try? await pair.host.call(.runtimeAbortRequest, timeout: .milliseconds(20))
            release.open()

            let ping = [("call", "RuntimePingRequest")]
            #expect(try metrics.expectCounter("oasis_rhp_successes", ping).totalValue == 2)
            #expect(try metrics.expectTimer("oasis_rhp_latency", ping).values.count == 2)
            let query = [("call", "RuntimeQueryRequest")]
            #expect(try metrics.expectCounter("oasis_rhp_failures", query).totalValue == 1)
            #expect(try metrics.expectCounter("oasis_rhp_successes", query).totalValue == 0)
            let abort = [("call", "RuntimeAbortRequest")]
            #expect(try metrics.expectCounter("oasis_rhp_timeouts", abort).totalValue == 1)
            #expect(try metrics.expectCounter("oasis_rhp_failures", abort).totalValue == 0)
            // The handshake is timed and counted like any call.
            let info = [("call", "RuntimeInfoRequest")]
            #expect(try metrics.expectCounter("oasis_rhp_successes", info).totalValue == 1)
            // Frame sizes: the 59-byte ping request payload is among the written sizes.
            let written = try metrics.expectRecorder("oasis_codec_size", [("call", "write"), ("module", "rhp/internal")])
            #expect(written.values.contains(59))
        }
    }
}
