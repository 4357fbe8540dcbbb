// Fuzz target: a line of a runtime's output read as a JSON log record
// (`RuntimeLogRecord.parse`). The runtime is untrusted and the node parses every line it writes.
//
// Input: the bytes as the relay would see one line: cut at the first newline, and decoded as
// UTF-8 with invalid sequences replaced (as `OutputLines` does). Besides "no crash": a record
// written back as JSON (`msg`, the level's name, every field as a string, escaped with the
// node's own `jsonEscaped`) parses to the same record, so no field is lost or altered by the
// parser and escaping agrees with it.
import FuzzSupport
import Logging
import OasisCommon
import RuntimeHost

@main
enum FuzzRuntimeLogMain {
    static func main() {
        runLibFuzzer { data, size in data.map { fuzzRuntimeLog($0, size) } ?? 0 }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRuntimeLog(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let line = String(decoding: input.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    guard let record = RuntimeLogRecord.parse(line) else { return 0 }

    var written = "{\"msg\":\"" + jsonEscaped(record.message) + "\",\"level\":\"" + levelName(record.level) + "\""
    for field in record.fields {
        written += ",\"" + jsonEscaped(field.key) + "\":\"" + jsonEscaped(field.value) + "\""
    }
    written += "}"
    guard let again = RuntimeLogRecord.parse(written) else {
        fatalError("a record written back does not parse: \(written) (from \(line))")
    }
    guard again == record else {
        fatalError("a record written back reads differently: \(again) != \(record) (from \(line))")
    }
    return 0
}

private func levelName(_ level: Logger.Level) -> String {
    switch level {
    case .trace: "TRCE"
    case .debug: "DEBG"
    case .info: "INFO"
    case .notice: "notice"
    case .warning: "WARN"
    case .error: "ERRO"
    case .critical: "CRIT"
    }
}
