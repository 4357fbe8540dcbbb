#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging

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
        self.timestamp = Self.now()
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

    /// UTC with milliseconds, `2026-11-29T02:30:00.123Z`.
    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return format(seconds: Int(spec.tv_sec), milliseconds: Int(spec.tv_nsec) / 1_000_000)
    }

    static func format(seconds: Int, milliseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
            + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
            + ".\(pad(Int32(milliseconds), 3))Z"
    }
}

/// Escapes `text` for a JSON string (without the quotes); logfmt quotes values the same way.
func jsonEscaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}
