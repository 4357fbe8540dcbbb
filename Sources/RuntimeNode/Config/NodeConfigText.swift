/// Text forms of configuration values: Go durations, lexical paths, YAML quoting.
enum NodeConfigText {
    private static let durationUnits: [(String, Int64)] = [
        ("ns", 1), ("us", 1_000), ("\u{00B5}s", 1_000), ("\u{03BC}s", 1_000), ("ms", 1_000_000),
        ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    /// Go's `time.ParseDuration`: a signed sequence of decimal numbers, each with a unit
    /// (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), e.g. `300ms`, `1.5h`, `2h45m`; `0` alone is zero.
    static func parseDuration(_ text: String) -> Duration? {
        var rest = Substring(text)
        var negative = false
        if let sign = rest.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return .zero }
        guard !rest.isEmpty else { return nil }
        var total: Int64 = 0
        while !rest.isEmpty {
            let whole = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(whole.count)
            var fraction: Substring = ""
            if rest.first == "." {
                rest = rest.dropFirst()
                fraction = rest.prefix { $0.isASCII && $0.isNumber }
                rest = rest.dropFirst(fraction.count)
            }
            guard !whole.isEmpty || !fraction.isEmpty else { return nil }
            let unitText = rest.prefix { !($0.isASCII && $0.isNumber) && $0 != "." }
            guard let unit = durationUnits.first(where: { $0.0 == unitText })?.1 else { return nil }
            rest = rest.dropFirst(unitText.count)

            guard let wholeValue = whole.isEmpty ? 0 : Int64(whole) else { return nil }
            let (scaled, overflow) = wholeValue.multipliedReportingOverflow(by: unit)
            guard !overflow else { return nil }
            var fractionDigits: Int64 = 0
            var scale: Int64 = 1
            for digit in fraction.prefix(18) {
                guard let value = digit.wholeNumberValue else { return nil }
                fractionDigits = fractionDigits * 10 + Int64(value)
                scale *= 10
            }
            // Go's arithmetic: `f * (unit / scale)` in floating point, truncated.
            let part = scaled.addingReportingOverflow(Int64(Double(fractionDigits) * (Double(unit) / Double(scale))))
            guard !part.overflow else { return nil }
            let sum = total.addingReportingOverflow(part.partialValue)
            guard !sum.overflow else { return nil }
            total = sum.partialValue
        }
        return .nanoseconds(negative ? -total : total)
    }

    /// Duration text that ``parseDuration(_:)`` reads back exactly: `2m`, `1h30m`, `45s`,
    /// `500ms`, `1500us`, `7ns`.
    static func durationText(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanos = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        if nanos == 0 { return "0s" }
        let sign = nanos < 0 ? "-" : ""
        let magnitude = nanos.magnitude
        if magnitude % 1_000_000_000 == 0 {
            let total = magnitude / 1_000_000_000
            let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
            var text = sign
            if hours > 0 { text += "\(hours)h" }
            if minutes > 0 { text += "\(minutes)m" }
            if secs > 0 { text += "\(secs)s" }
            return text
        }
        if magnitude % 1_000_000 == 0 { return "\(sign)\(magnitude / 1_000_000)ms" }
        if magnitude % 1_000 == 0 { return "\(sign)\(magnitude / 1_000)us" }
        return "\(sign)\(magnitude)ns"
    }

    /// `path` made absolute against `base` and cleaned lexically (Go's `filepath.Clean`:
    /// no `.`, no `..` past a real parent, no doubled or trailing `/`). `""` stays `""`.
    static func absolutePath(_ path: String, base: String) -> String {
        guard !path.isEmpty else { return "" }
        return cleanPath(path.hasPrefix("/") ? path : base + "/" + path)
    }

    /// Go's `filepath.Clean` for absolute paths.
    static func cleanPath(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The directory part of a path (`/a/b/c.yaml` → `/a/b`).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    /// `text` as a YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
