public import Logging

/// Writes each record as one JSON object per line:
/// `{"ts":"2026-11-29T02:30:00.123Z","level":"info","msg":"runtime started","label":"node","runtime.id":"8000…"}`.
///
/// Every value is a string; nested metadata is flattened to dotted keys, sorted after the fixed
/// `ts`, `level`, `msg` and `label` fields.
public struct JSONLogHandler: LogHandler {
    /// The logger's label, written as `label`.
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
        var line = #"{"ts":""# + record.timestamp + #"","level":""# + record.level.rawValue
        line += #"","msg":""# + jsonEscaped(record.message) + #"","label":""# + jsonEscaped(label) + "\""
        for field in record.fields {
            line += ",\"" + jsonEscaped(field.key) + "\":\"" + jsonEscaped(field.value) + "\""
        }
        line += "}"
        sink.write(line)
    }
}
