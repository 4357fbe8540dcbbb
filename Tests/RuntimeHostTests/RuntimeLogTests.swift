import Glibc
import Logging
import OasisCommon
import Testing

@testable import RuntimeHost

@Suite("A runtime's log lines, read and relayed")
struct RuntimeLogTests {
    typealias Field = RuntimeLogRecord.Field

    @Test("an oasis-core (slog) JSON line is a record at its own level, with its fields and without ts")
    func slogLine() {
        let line = #"{"msg":"dispatcher: round failed","level":"ERRO","ts":"2021-06-01T10:00:00.123Z","module":"runtime/dispatcher","round":12,"ok":false,"err":null}"#
        #expect(RuntimeLogRecord.parse(line) == RuntimeLogRecord(
            level: .error, message: "dispatcher: round failed",
            fields: [
                Field(key: "module", value: "runtime/dispatcher"), Field(key: "round", value: "12"),
                Field(key: "ok", value: "false"), Field(key: "err", value: "null"),
            ]))
    }

    @Test(
        "level names: slog's short ones, swift-log's and Go's, any case; none or an unknown one is info",
        arguments: [
            ("TRCE", Logger.Level.trace), ("trace", .trace), ("DEBG", .debug), ("Debug", .debug), ("INFO", .info),
            ("notice", .notice), ("WARN", .warning), ("warning", .warning), ("ERRO", .error), ("error", .error),
            ("CRIT", .critical), ("critical", .critical), ("fatal", .critical),
        ])
    func levels(name: String, level: Logger.Level) {
        #expect(RuntimeLogRecord.parse(#"{"msg":"m","level":"\#(name)"}"#)?.level == level)
    }

    @Test("a record without a level is info; an unknown level is info and kept as a field")
    func missingOrUnknownLevel() {
        #expect(RuntimeLogRecord.parse(#"{"msg":"m"}"#) == RuntimeLogRecord(level: .info, message: "m"))
        #expect(RuntimeLogRecord.parse(#"{"msg":"m","level":"LOUD"}"#)
            == RuntimeLogRecord(level: .info, message: "m", fields: [Field(key: "level", value: "LOUD")]))
        #expect(RuntimeLogRecord.parse(#"{"msg":"m","level":3}"#)
            == RuntimeLogRecord(level: .info, message: "m", fields: [Field(key: "level", value: "3")]))
    }

    @Test("strings decode every JSON escape, surrogate pairs included; a lone surrogate becomes U+FFFD")
    func escapes() {
        let line = #"{"msg":"a\"b\\c\/d\n\t\r\b\f\u00e9\ud83d\ude00 é","k\u0065y":"\udc00x\ud800"}"#
        #expect(RuntimeLogRecord.parse(line) == RuntimeLogRecord(
            level: .info, message: "a\"b\\c/d\n\t\r\u{08}\u{0C}é😀 é",
            fields: [Field(key: "key", value: "\u{FFFD}x\u{FFFD}")]))
    }

    @Test("nested objects and arrays and numbers are kept as their JSON text")
    func nestedValues() {
        let line = #" { "msg" : "m" , "err" : {"code": 1, "list": [1, "x", [], {}]}, "n": -1.5e+3, "e": [] } "#
        #expect(RuntimeLogRecord.parse(line)?.fields == [
            Field(key: "err", value: #"{"code": 1, "list": [1, "x", [], {}]}"#), Field(key: "n", value: "-1.5e+3"),
            Field(key: "e", value: "[]"),
        ])
    }

    @Test(
        "anything but one well-formed object with a string msg is not a record",
        arguments: [
            "plain text", "", "   ", "{}", #"{"level":"INFO"}"#, #"{"msg":1}"#, #"{"msg":null}"#, #"{"msg":"x""#,
            #"{"msg":"x"} trailing"#, #"{"msg":"x"}{"msg":"y"}"#, "{\"msg\":\"raw \u{01} control\"}", #"{"msg":"bad \q escape"}"#,
            #"{"msg":"short \u12"}"#, #"{"msg":"x",}"#, #"{"msg":"x" "a":1}"#, #"{"msg":"x","n":01}"#, #"{"msg":"x","n":1.}"#,
            #"{"msg":"x","n":-}"#, #"{"msg":"x","b":tru}"#, #"{"msg":"x","a":[1,]}"#, #"{'msg':'x'}"#, #"["msg","x"]"#,
            #"{"msg":"x","deep":"# + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}",
        ])
    func notRecords(line: String) {
        #expect(RuntimeLogRecord.parse(line) == nil)
    }

    @Test("no prefix of a record is a record, and no one-byte change crashes the parser")
    func truncationsAndChanges() {
        let line = #"{"msg":"a\"b\u00e9\ud83d\ude00","level":"WARN","n":[1,-2.5e3,{"k":[true,false,null]}],"s":"x"}"#
        #expect(RuntimeLogRecord.parse(line) != nil)
        let bytes = Array(line.utf8)
        for end in 0..<bytes.count {
            #expect(RuntimeLogRecord.parse(String(decoding: bytes[..<end], as: UTF8.self)) == nil, "prefix of \(end) bytes")
        }
        var changed = 0
        for index in bytes.indices {
            for replacement in [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "{"), UInt8(ascii: "]"), 0x00, 0xFF] {
                var mutated = bytes
                mutated[index] = replacement
                if RuntimeLogRecord.parse(String(decoding: mutated, as: UTF8.self)) != nil { changed += 1 }
            }
        }
        #expect(changed < bytes.count * 6)
    }

    @Test("a record's fields become runtime.log.<key> metadata, so none replaces the node's own")
    func metadataPrefix() {
        let record = RuntimeLogRecord.parse(#"{"msg":"m","runtime.id":"forged","module":"x"}"#)
        #expect(record?.metadata == ["runtime.log.runtime.id": "forged", "runtime.log.module": "x"])
    }

    @Test("the relay logs a record at its level with its fields, and any other line at info as it is")
    func relay() async throws {
        let script = #"""
            printf '%s\n' '{"msg":"cannot open db","level":"ERRO","module":"storage","path":"/x"}' >&2
            printf '%s\n' 'plain line'
            printf '%s\n' '{"msg":"slow round","level":"WARN","ts":"2021-06-01T10:00:00Z"}'
            """#
        let process = try await RuntimeProcess.spawn(RuntimeProcessConfiguration(
            executablePath: "/bin/sh", arguments: ["-c", script], isolation: .unconfined))
        let store = RecordingLogHandler.Store()
        let logger = Logger(label: "test") { _ in RecordingLogHandler(store: store) }
        _ = try await bounded(process) { await process.relayOutput(to: logger) }
        _ = try await process.waitForExit()

        let records = store.records.withLock { $0 }
        let error = try #require(records.first { $0.message == "cannot open db" })
        #expect(error.level == .error)
        #expect(error.metadata == ["runtime.stream": "stderr", "runtime.log.module": "storage", "runtime.log.path": "/x"])
        let plain = try #require(records.first { $0.message == "plain line" })
        #expect(plain.level == .info)
        #expect(plain.metadata == ["runtime.stream": "stdout"])
        let warning = try #require(records.first { $0.message == "slow round" })
        #expect(warning.level == .warning)
        #expect(warning.metadata == ["runtime.stream": "stdout"])
        #expect(records.count == 3)
    }

    @Test("kv-runtime logs JSON lines that the relay reads back at their level")
    func kvRuntimeLogs() async throws {
        // Without OASIS_WORKER_HOST kv-runtime logs one critical line and exits 2.
        let process = try await RuntimeProcess.spawn(RuntimeProcessConfiguration(
            executablePath: Fixtures.buildDirectory + "/kv-runtime", isolation: .unconfined))
        let store = RecordingLogHandler.Store()
        let logger = Logger(label: "test") { _ in RecordingLogHandler(store: store) }
        _ = try await bounded(process) { await process.relayOutput(to: logger) }
        #expect(try await process.waitForExit() == .exited(code: 2))

        let records = store.records.withLock { $0 }
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record.level == .critical)
        #expect(record.message == "kv-runtime: OASIS_WORKER_HOST is not set; the host sets it to its RHP socket path")
        #expect(record.metadata == ["runtime.stream": "stderr", "runtime.log.module": "kv_runtime"])
    }

    @Test("lines over the rate limit are dropped and counted in one warning; the relay still reads them all")
    func rateLimited() async throws {
        // The clock never moves: ten lines pass, the other forty are dropped.
        let process = try await RuntimeProcess.spawn(RuntimeProcessConfiguration(
            executablePath: "/bin/sh", arguments: ["-c", "for i in $(seq 1 50); do echo line $i; done"],
            isolation: .unconfined))
        let store = RecordingLogHandler.Store()
        let logger = Logger(label: "test") { _ in RecordingLogHandler(store: store) }
        _ = try await bounded(process) {
            await process.relayOutput(
                to: logger, rateLimit: OutputRateLimit(burst: 10, linesPerSecond: 5), clock: ManualClock())
        }
        #expect(try await process.waitForExit() == .exited(code: 0))

        let records = store.records.withLock { $0 }
        #expect(records.map(\.message).prefix(10) == ArraySlice((1...10).map { "line \($0)" }))
        #expect(records.count == 11)
        let warning = try #require(records.last)
        #expect(warning.level == .warning)
        #expect(warning.metadata["runtime.dropped_lines"] == "40")
        #expect(warning.message.contains("dropped 40 lines"))
    }

    @Test("the bucket refills with time: drops are reported with the next line that passes")
    func bucketRefills() {
        var bucket = OutputRateLimit.Bucket(limit: OutputRateLimit(burst: 2, linesPerSecond: 4))
        #expect(bucket.admit(at: .zero) == .pass(droppedBefore: 0))
        #expect(bucket.admit(at: .zero) == .pass(droppedBefore: 0))
        #expect(bucket.admit(at: .milliseconds(100)) == .drop)  // 0.4 of a line earned
        #expect(bucket.admit(at: .milliseconds(200)) == .drop)  // 0.8
        #expect(bucket.admit(at: .milliseconds(300)) == .pass(droppedBefore: 2))  // 1.2: one line
        #expect(bucket.admit(at: .milliseconds(300)) == .drop)
        #expect(bucket.admit(at: .seconds(10)) == .pass(droppedBefore: 1))  // full again, but only 2
        #expect(bucket.admit(at: .seconds(10)) == .pass(droppedBefore: 0))
        #expect(bucket.admit(at: .seconds(10)) == .drop)
        #expect(bucket.takeDropped() == 1)

        var unlimited = OutputRateLimit.Bucket(limit: .unlimited)
        for _ in 0..<1_000 { #expect(unlimited.admit(at: .zero) == .pass(droppedBefore: 0)) }
    }
}
