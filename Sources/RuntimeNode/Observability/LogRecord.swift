public import Logging
import OasisCommon

/// One log record flattened to text fields, the part both line formats share.
public struct LogRecord: Sendable {
    /// The fixed fields every line carries; metadata keys equal to one of them get a
    /// `metadata.` prefix so they cannot overwrite them.
    static let fixedKeys: Set<String> = ["ts", "level", "msg", "label"]

    /// UTC, ISO 8601 with milliseconds.
    public var timestamp: String
    /// The record's level.
    public var level: Logger.Level
    /// The message.
    public var message: String
    /// The logger's label.
    public var label: String
    /// Metadata flattened to dotted keys, sorted by key.
    public var fields: [(key: String, value: String)]

    /// Merges handler, provider and record metadata (the record's win) and flattens nested values.
    init(event: LogEvent, label: String, handlerMetadata: Logger.Metadata, provider: Logger.MetadataProvider?) {
        var merged = handlerMetadata
        if let provided = provider?.get() {
            merged.merge(provided) { _, new in new }
        }
        if let recorded = event.metadata {
            merged.merge(recorded) { _, new in new }
        }
        var flat: [String: String] = [:]
        for (key, value) in merged {
            Self.flatten(value, key: key, into: &flat)
        }
        if let error = event.error, flat["error"] == nil {
            flat["error"] = "\(error)"
        }
        self.timestamp = UTCTimestamp.now()
        self.level = event.level
        self.message = event.message.description
        self.label = label
        self.fields = flat.map { (key: Self.fixedKeys.contains($0.key) ? "metadata.\($0.key)" : $0.key, value: $0.value) }
            .sorted { $0.key < $1.key }
    }

    private static func flatten(_ value: Logger.Metadata.Value, key: String, into flat: inout [String: String]) {
        switch value {
        case .string(let text): flat[key] = text
        case .stringConvertible(let convertible): flat[key] = convertible.description
        case .dictionary(let dictionary):
            for (subkey, subvalue) in dictionary {
                flatten(subvalue, key: "\(key).\(subkey)", into: &flat)
            }
        case .array(let array): flat[key] = "[" + array.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
