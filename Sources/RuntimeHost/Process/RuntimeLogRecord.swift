public import Logging

/// A line of a runtime's output read as a structured log record: one JSON object per line with
/// a string `msg`, as oasis-core's Rust runtimes write them (`slog_json`:
/// `{"msg":"…","level":"INFO","ts":"…","module":"…",…}`) and as `kv-runtime` does.
///
/// The node relays such a line at the record's own level, with its message as the message and
/// every other field as metadata `runtime.log.<key>`, so that a runtime's errors show up as
/// errors. `ts` is dropped (the node stamps its own time). Any other line, or one that is not
/// exactly one well-formed JSON object, is relayed as it is, at info.
///
/// The output is the runtime's, so untrusted: the parser is strict, bounded in depth, and never
/// lets a field replace the node's own metadata (every key gets the `runtime.log.` prefix).
public struct RuntimeLogRecord: Hashable, Sendable {
    /// The record's level; `info` when it names none, or one this parser does not know.
    public var level: Logger.Level
    /// The `msg` field.
    public var message: String
    /// The other fields except `ts`, in line order: strings as they decode, anything else as
    /// its JSON text (`12`, `true`, `null`, `{"code":1}`).
    public var fields: [Field]

    /// One field of a record.
    public struct Field: Hashable, Sendable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public init(level: Logger.Level, message: String, fields: [Field] = []) {
        self.level = level
        self.message = message
        self.fields = fields
    }

    /// The metadata the relay adds for this record's fields: `runtime.log.<key>` for each.
    public var metadata: Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for field in fields { metadata["runtime.log." + field.key] = .string(field.value) }
        return metadata
    }

    /// The record on `line`, or nil if the line is not one JSON object with a string `msg`.
    public static func parse(_ line: String) -> RuntimeLogRecord? {
        var line = line
        return line.withUTF8 { bytes in
            guard bytes.first(where: { !JSONScanner.isWhitespace($0) }) == UInt8(ascii: "{") else { return nil }
            var scanner = JSONScanner(bytes: bytes)
            guard let members = scanner.topLevelObject() else { return nil }
            var message: String?
            var level: Logger.Level?
            var fields: [Field] = []
            for (key, value) in members {
                switch key {
                case "msg" where message == nil:
                    guard case .string(let text) = value else { return nil }
                    message = text
                case "level" where level == nil:
                    if case .string(let name) = value, let known = Self.level(named: name) {
                        level = known
                    } else {
                        level = .info
                        fields.append(Field(key: key, value: value.text))
                    }
                case "ts":
                    continue
                default:
                    fields.append(Field(key: key, value: value.text))
                }
            }
            guard let message else { return nil }
            return RuntimeLogRecord(level: level ?? .info, message: message, fields: fields)
        }
    }

    /// swift-log's level for a level name: slog's short names (`TRCE`, `DEBG`, `INFO`, `WARN`,
    /// `ERRO`, `CRIT`), swift-log's and Go's names, any case.
    static func level(named name: String) -> Logger.Level? {
        switch name.lowercased() {
        case "trce", "trace": .trace
        case "debg", "debug": .debug
        case "info": .info
        case "notice": .notice
        case "warn", "warning": .warning
        case "erro", "error", "err": .error
        case "crit", "critical", "fatal", "panic": .critical
        default: nil
        }
    }
}

/// A strict reader of one JSON object on one line (RFC 8259), for log records.
private struct JSONScanner {
    /// A member's value: a decoded string, or the JSON text of anything else.
    enum Value {
        case string(String)
        case other(String)

        var text: String {
            switch self {
            case .string(let text), .other(let text): text
            }
        }
    }

    /// Objects and arrays nested deeper than this make the line plain text.
    static let maximumDepth = 32

    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// The members of the object that is the whole line (whitespace around it allowed).
    mutating func topLevelObject() -> [(String, Value)]? {
        skipWhitespace()
        guard let members = object(memberDepth: 1) else { return nil }
        skipWhitespace()
        return position == bytes.count ? members : nil
    }

    /// Reads an object at the position: its members in order, each value decoded if it is a
    /// string, else as its JSON text; values are read at `memberDepth`.
    private mutating func object(memberDepth: Int) -> [(String, Value)]? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var members: [(String, Value)] = []
        skipWhitespace()
        if take(UInt8(ascii: "}")) { return members }
        repeat {
            skipWhitespace()
            guard let key = string() else { return nil }
            skipWhitespace()
            guard take(UInt8(ascii: ":")) else { return nil }
            skipWhitespace()
            let start = position
            guard let value = value(depth: memberDepth) else { return nil }
            if case .string = value {
                members.append((key, value))
            } else {
                members.append((key, .other(text(from: start))))
            }
            skipWhitespace()
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}")) ? members : nil
    }

    /// Reads one value; a string is decoded, anything else only checked (its text is cut out
    /// by the caller).
    private mutating func value(depth: Int) -> Value? {
        guard position < bytes.count else { return nil }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            return string().map(Value.string)
        case UInt8(ascii: "{"):
            guard depth < Self.maximumDepth else { return nil }
            return object(memberDepth: depth + 1) != nil ? .other("") : nil
        case UInt8(ascii: "["):
            guard depth < Self.maximumDepth else { return nil }
            position += 1
            skipWhitespace()
            if take(UInt8(ascii: "]")) { return .other("") }
            repeat {
                skipWhitespace()
                guard value(depth: depth + 1) != nil else { return nil }
                skipWhitespace()
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]")) ? .other("") : nil
        case UInt8(ascii: "t"):
            return literal("true") ? .other("") : nil
        case UInt8(ascii: "f"):
            return literal("false") ? .other("") : nil
        case UInt8(ascii: "n"):
            return literal("null") ? .other("") : nil
        default:
            return number() ? .other("") : nil
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func number() -> Bool {
        _ = take(UInt8(ascii: "-"))
        if take(UInt8(ascii: "0")) {
            // no leading zeros
        } else {
            guard digits() else { return false }
        }
        if take(UInt8(ascii: ".")) {
            guard digits() else { return false }
        }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
            guard digits() else { return false }
        }
        return true
    }

    /// One or more decimal digits.
    private mutating func digits() -> Bool {
        let start = position
        while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
            position += 1
        }
        return position > start
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count else { return false }
        for index in 0..<count where bytes[position + index] != word.utf8Start[index] {
            return false
        }
        position += count
        return true
    }

    /// A string at the position, decoded; nil if malformed (a raw control character, a bad
    /// escape, no closing quote). Lone surrogates decode as U+FFFD.
    private mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        var scalars = String.UnicodeScalarView()
        var runStart = position
        func flushRun(_ end: Int) {
            if end > runStart {
                let run = String(decoding: UnsafeBufferPointer(rebasing: bytes[runStart..<end]), as: UTF8.self)
                scalars.append(contentsOf: run.unicodeScalars)
            }
        }
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                flushRun(position)
                position += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                flushRun(position)
                position += 1
                guard let scalar = escape() else { return nil }
                scalars.append(scalar)
                runStart = position
            case 0..<0x20:
                return nil
            default:
                position += 1
            }
        }
        return nil
    }

    /// The character of the escape after a backslash.
    private mutating func escape() -> Unicode.Scalar? {
        guard position < bytes.count else { return nil }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            guard let unit = hex4() else { return nil }
            switch unit {
            case 0xD800..<0xDC00:
                // A high surrogate: a low one must follow to make a character.
                let save = position
                if take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4(), (0xDC00..<0xE000).contains(low) {
                    return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                }
                position = save
                return "\u{FFFD}"
            case 0xDC00..<0xE000:
                return "\u{FFFD}"
            default:
                return Unicode.Scalar(unit)
            }
        default:
            return nil
        }
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.count - position >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, Self.isWhitespace(bytes[position]) { position += 1 }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    private func text(from start: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }
}
