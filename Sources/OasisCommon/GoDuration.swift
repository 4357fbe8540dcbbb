/// Go's `time.Duration` text, as oasis-core's configuration and messages use it.
public enum GoDuration {
    private static let durationUnits: [(String, Int64)] = [
        ("ns", 1), ("us", 1_000), ("\u{00B5}s", 1_000), ("\u{03BC}s", 1_000), ("ms", 1_000_000),
        ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    /// Go's `time.ParseDuration`: a signed sequence of decimal numbers, each with a unit
    /// (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), e.g. `300ms`, `1.5h`, `2h45m`; `0` alone is zero.
    public static func parse(_ text: String) -> Duration? {
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

    /// Duration text that ``parse(_:)`` reads back exactly: `2m`, `1h30m`, `45s`,
    /// `500ms`, `1500us`, `7ns`.
    public static func compactText(_ duration: Duration) -> String {
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


    /// Go's `time.Duration.String()`: `500ms`, `1.5s`, `2m0s`, `1h0m0s`, so errors quote
    /// durations the way oasis-core prints them.
    public static func string(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let totalNanos = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        if totalNanos == 0 { return "0s" }
        let negative = totalNanos < 0
        let nanos = totalNanos.magnitude
        var text: String
        if nanos < 1_000_000_000 {
            let (unit, scale): (String, UInt64) =
                nanos < 1_000 ? ("ns", 1) : nanos < 1_000_000 ? ("µs", 1_000) : ("ms", 1_000_000)
            text = decimal(nanos, scale: scale) + unit
        } else {
            let hours = nanos / 3_600_000_000_000
            let minutes = nanos / 60_000_000_000 % 60
            let secondPart = nanos % 60_000_000_000
            text = ""
            if hours > 0 { text += "\(hours)h" }
            if hours > 0 || minutes > 0 { text += "\(minutes)m" }
            text += decimal(secondPart, scale: 1_000_000_000) + "s"
        }
        return negative ? "-" + text : text
    }

    /// `value / scale` with the fraction's trailing zeros dropped.
    private static func decimal(_ value: UInt64, scale: UInt64) -> String {
        let whole = value / scale
        var fraction = value % scale
        guard fraction > 0 else { return "\(whole)" }
        var digits = String(scale).count - 1
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let padded = String(repeating: "0", count: digits - String(fraction).count) + String(fraction)
        return "\(whole).\(padded)"
    }
}
