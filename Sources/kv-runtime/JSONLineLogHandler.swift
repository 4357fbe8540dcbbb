#if canImport(Glibc)
import Glibc
#endif
import Logging
import OasisCommon

/// Writes each record as one JSON object on one line of stderr, in the shape of oasis-core's
/// Rust runtimes (`slog_json` with its default keys):
/// `{"msg":"…","level":"INFO","ts":"2026-11-29T10:39:00.751Z","module":"kv_runtime",…}`,
/// then the metadata (sorted, every value a string; keys that would repeat the four above are
/// left out). The node relays such lines at their own level (`RuntimeLogRecord`), so the
/// runtime's warnings and errors stay warnings and errors there.
struct JSONLineLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line = Self.line(
            level: event.level, message: "\(event.message)", module: event.source, metadata: merged,
            timestamp: UTCTimestamp.now())
        line += "\n"
        // One write per line: a pipe takes up to 4 KiB in one piece, so lines logged by
        // concurrent tasks do not interleave.
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// The JSON object for one record (without the newline); metadata keys sorted.
    static func line(
        level: Logger.Level, message: String, module: String, metadata: Logger.Metadata, timestamp: String
    ) -> String {
        var line = "{\"msg\":" + quoted(message) + ",\"level\":\"" + slogLevel(level) + "\",\"ts\":\"" + timestamp
            + "\",\"module\":" + quoted(module)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where !fixedKeys.contains(key) {
            line += "," + quoted(key) + ":" + quoted("\(value)")
        }
        return line + "}"
    }

    /// The keys every line has; metadata under these names is left out.
    static let fixedKeys: Set<String> = ["msg", "level", "ts", "module"]

    /// slog's short level names.
    static func slogLevel(_ level: Logger.Level) -> String {
        switch level {
        case .trace: "TRCE"
        case .debug: "DEBG"
        case .info, .notice: "INFO"
        case .warning: "WARN"
        case .error: "ERRO"
        case .critical: "CRIT"
        }
    }

    /// A JSON string literal for `text`.
    static func quoted(_ text: String) -> String {
        "\"" + jsonEscaped(text) + "\""
    }
}
