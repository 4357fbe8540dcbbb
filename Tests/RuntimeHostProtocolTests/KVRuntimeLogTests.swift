import Logging
import RuntimeHost
import Testing

@testable import kv_runtime

@Suite("kv-runtime's JSON log lines")
struct KVRuntimeLogTests {
    @Test(
        "every line reads back as the record it was written from, whatever characters it holds",
        arguments: [Logger.Level.trace, .debug, .info, .warning, .error, .critical])
    func roundTrip(level: Logger.Level) {
        let message = "quote \" backslash \\ newline \n tab \t nul \u{0} del \u{7F} é 😀 {\"msg\":\"inner\"}"
        let metadata: Logger.Metadata = [
            "rhp.socket": "/tmp/a b=c", "error": "line1\nline2", "zeta": "\u{1F}", "msg": "not the message",
        ]
        let line = JSONLineLogHandler.line(
            level: level, message: message, module: "kv_runtime", metadata: metadata, timestamp: "2026-11-29T10:00:00.000Z")
        #expect(!line.contains("\n"))
        let record = RuntimeLogRecord.parse(line)
        #expect(record == RuntimeLogRecord(
            level: level, message: message,
            fields: [
                .init(key: "module", value: "kv_runtime"), .init(key: "error", value: "line1\nline2"),
                .init(key: "rhp.socket", value: "/tmp/a b=c"), .init(key: "zeta", value: "\u{1F}"),
            ]))
    }
}
