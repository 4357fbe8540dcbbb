import Foundation
import Logging
import Metrics
import OasisCommon
@testable import RuntimeNode
import Synchronization
import Testing

/// Collects what a handler writes.
final class CapturedLines: Sendable {
    private let lines = Mutex<[String]>([])
    var sink: LogSink { LogSink { line in self.lines.withLock { $0.append(line) } } }
    var all: [String] { lines.withLock { $0 } }
}

@Suite("Metrics")
struct ObservabilityMetricsTests {
    @Test("bootstrap returns one instance per process")
    func bootstrapOnce() {
        #expect(NodeMetrics.bootstrap() === NodeMetrics.bootstrap())
    }

    @Test("the metrics server on port 0 serves a counter incremented through swift-metrics")
    func servesMetrics() async throws {
        let metrics = NodeMetrics.bootstrap()
        Counter(label: "observability_test_requests_total", dimensions: [("route", "status")]).increment(by: 3)
        let server = try MetricsServer(
            address: "127.0.0.1:0", metrics: metrics, logger: ControlTestSupport.quietLogger,
            limits: ControlTestSupport.patientLimits)
        #expect(server.boundPort == nil)
        try await server.bind()
        let port = try #require(server.boundPort)
        #expect(port > 0)
        try await ControlTestSupport.serving(server) {
            let reply = try await ControlTestSupport.rawExchange(
                Array("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), tcpPort: port)
            #expect(reply.hasPrefix("HTTP/1.1 200"))
            #expect(reply.contains("Content-Type: text/plain; version=0.0.4"))
            #expect(reply.contains(#"observability_test_requests_total{route="status"} 3"#))

            let other = try await ControlTestSupport.rawExchange(
                Array("GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), tcpPort: port)
            #expect(other.hasPrefix("HTTP/1.1 404"))
        }
    }

    @Test("an unparsable metrics address is refused with one sentence", arguments: [
        "localhost", "127.0.0.1:", ":3000", "127.0.0.1:70000", "127.0.0.1:x", "::1:3000",
    ])
    func badAddress(address: String) {
        let error = #expect(throws: MetricsServerError.self) {
            try MetricsServer(address: address, metrics: NodeMetrics.bootstrap(), logger: ControlTestSupport.quietLogger)
        }
        #expect(
            error?.description
                == "metrics.address must be host:port with a port from 0 to 65535, e.g. 127.0.0.1:3000 (got \"\(address)\")")
    }

    @Test("IPv6 and host names parse")
    func goodAddresses() throws {
        let v6 = try MetricsServer.parse("[::1]:9100")
        #expect(v6.host == "::1" && v6.port == 9100)
        let named = try MetricsServer.parse("localhost:0")
        #expect(named.host == "localhost" && named.port == 0)
    }
}

@Suite("Log formats")
struct ObservabilityLogTests {
    @Test("logfmt: timestamp, level, quoted message, sorted metadata, label last")
    func logfmtLine() throws {
        let captured = CapturedLines()
        var logger = Logger(label: "runtime-node") { LogfmtLogHandler(label: $0, sink: captured.sink) }
        logger[metadataKey: "runtime.id"] = "8000000000000000"
        logger.info(
            "runtime started",
            metadata: ["note": "a b=c \"q\"", "empty": "", "runtime.attempt": .stringConvertible(2)])
        logger.debug("dropped: below the default info level")
        let lines = captured.all
        try #require(lines.count == 1)
        let pattern = #/^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info msg="runtime started" (.*)$/#
        let match = try #require(lines[0].wholeMatch(of: pattern))
        #expect(
            match.1
                == #"empty="" note="a b=c \"q\"" runtime.attempt=2 runtime.id=8000000000000000 label=runtime-node"#)
    }

    @Test("logfmt escapes newlines and flattens nested metadata")
    func logfmtEscapes() throws {
        let captured = CapturedLines()
        let logger = Logger(label: "l") { LogfmtLogHandler(label: $0, sink: captured.sink) }
        logger.warning("two\nlines", metadata: ["runtime": ["id": "ab", "hosted": ["state": "started"]], "msg": "x"])
        let line = try #require(captured.all.first)
        #expect(line.hasSuffix(#"level=warning msg="two\nlines" metadata.msg=x runtime.hosted.state=started runtime.id=ab label=l"#))
        #expect(!line.contains("\n"))
    }

    @Test("json: one object per line with every metadata key flattened")
    func jsonLine() throws {
        let captured = CapturedLines()
        var logger = Logger(label: "runtime-node") { JSONLogHandler(label: $0, sink: captured.sink) }
        logger.logLevel = .debug
        logger.debug(
            "block \"committed\"",
            metadata: ["runtime.id": "8000", "round": .stringConvertible(7), "history": ["last_round": "7"]])
        let line = try #require(captured.all.first)
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["level"] == "debug")
        #expect(object["msg"] == "block \"committed\"")
        #expect(object["label"] == "runtime-node")
        #expect(object["runtime.id"] == "8000")
        #expect(object["round"] == "7")
        #expect(object["history.last_round"] == "7")
        let ts = try #require(object["ts"])
        #expect(ts.wholeMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/#) != nil)
        #expect(line.hasPrefix(#"{"ts":"#))
    }

    @Test("timestamps are UTC with milliseconds")
    func timestamps() {
        #expect(UTCTimestamp.format(seconds: 0, milliseconds: 5) == "1970-01-01T00:00:00.005Z")
        #expect(UTCTimestamp.format(seconds: 1_795_919_400, milliseconds: 123) == "2026-11-29T02:30:00.123Z")
    }

    @Test("makeHandler picks the format and every format name parses")
    func formats() throws {
        #expect(LogFormat.allCases.map(\.rawValue) == ["logfmt", "json"])
        let captured = CapturedLines()
        let handler = NodeLogging.makeHandler(format: .json, label: "x", sink: captured.sink)
        Logger(label: "x") { _ in handler }.error("boom")
        #expect(captured.all.first?.hasPrefix("{") == true)
    }
}
