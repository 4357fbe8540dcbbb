public import Logging
import OasisCommon

/// How one log record becomes one line.
public protocol LogLineFormat: Sendable {
    /// The line for `record` of a logger labelled `label`.
    static func line(_ record: LogRecord, label: String) -> String
}

/// A `LogHandler` writing one line per record to a sink, in `Format`.
public struct LineLogHandler<Format: LogLineFormat>: LogHandler {
    /// The logger's label.
    public let label: String
    /// Records below this level are dropped (by `Logger`).
    public var logLevel: Logger.Level = .info
    /// Metadata added to every record of this handler.
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata, read at each record.
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: LogSink

    /// A handler for `label` writing to `sink`.
    public init(label: String, sink: LogSink = .standardError) {
        self.init(label: label, sink: sink, metadataProvider: nil)
    }

    /// A handler for `label` writing to `sink`, with a metadata provider (`LoggingSystem`'s factories pass one).
    public init(label: String, sink: LogSink = .standardError, metadataProvider: Logger.MetadataProvider?) {
        self.label = label
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    /// One key of ``metadata``.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Formats `event` and hands the line to the sink.
    public func log(event: LogEvent) {
        let record = LogRecord(event: event, label: label, handlerMetadata: metadata, provider: metadataProvider)
        sink.write(Format.line(record, label: label))
    }
}

/// One logfmt line per record:
/// `ts=2026-11-29T02:30:00.123Z level=info msg="runtime started" runtime.id=8000… label=node`.
///
/// Metadata follows `msg` sorted by key, nested dictionaries flattened to dotted keys. A value
/// is quoted when it is empty or holds a space, `"`, `=` or a control character, with JSON's
/// escapes inside the quotes.
public typealias LogfmtLogHandler = LineLogHandler<LogfmtFormat>

/// One JSON object per line:
/// `{"ts":"2026-11-29T02:30:00.123Z","level":"info","msg":"runtime started","label":"node","runtime.id":"8000…"}`.
///
/// Every value is a string; nested metadata is flattened to dotted keys, sorted after the fixed
/// `ts`, `level`, `msg` and `label` fields.
public typealias JSONLogHandler = LineLogHandler<JSONLineFormat>

/// The logfmt layout of ``LogfmtLogHandler``.
public enum LogfmtFormat: LogLineFormat {
    public static func line(_ record: LogRecord, label: String) -> String {
        var line = "ts=\(record.timestamp) level=\(record.level.rawValue) msg=\(value(record.message))"
        for field in record.fields {
            line += " \(key(field.key))=\(value(field.value))"
        }
        return line + " label=\(value(label))"
    }

    /// Keys cannot be quoted in logfmt; characters that would end them become `_`.
    static func key(_ key: String) -> String {
        guard !key.isEmpty else { return "_" }
        return String(
            String.UnicodeScalarView(
                key.unicodeScalars.map { $0 == " " || $0 == "=" || $0 == "\"" || $0.value < 0x20 ? "_" : $0 }))
    }

    static func value(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains {
                $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F
            }
        return needsQuotes ? "\"" + jsonEscaped(value) + "\"" : value
    }
}

/// The JSON layout of ``JSONLogHandler``.
public enum JSONLineFormat: LogLineFormat {
    public static func line(_ record: LogRecord, label: String) -> String {
        var line = #"{"ts":""# + record.timestamp + #"","level":""# + record.level.rawValue
        line += #"","msg":""# + jsonEscaped(record.message) + #"","label":""# + jsonEscaped(label) + "\""
        for field in record.fields {
            line += ",\"" + jsonEscaped(field.key) + "\":\"" + jsonEscaped(field.value) + "\""
        }
        return line + "}"
    }
}
