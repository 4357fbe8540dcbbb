/// Sizes in configuration text: a whole number of bytes, optionally with a binary unit.
public enum ByteSize {
    /// The units, largest first (`B` is bytes; the rest are powers of 1,024).
    private static let units: [(name: String, bytes: UInt64)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1),
    ]

    /// `1073741824`, `1073741824B`, `1048576KiB`, `1024MiB` or `1GiB` (the unit in any case,
    /// spaces between number and unit allowed); nil for anything else, fractions, decimal
    /// units (`GB`) and sizes past `UInt64.max` included.
    public static func parse(_ text: String) -> UInt64? {
        let text = trimmed(Substring(text))
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = UInt64(digits) else { return nil }
        let unitText = trimmed(text.dropFirst(digits.count)).lowercased()
        let multiplier: UInt64
        if unitText.isEmpty {
            multiplier = 1
        } else if let unit = units.first(where: { $0.name.lowercased() == unitText }) {
            multiplier = unit.bytes
        } else {
            return nil
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }

    /// Text that ``parse(_:)`` reads back exactly, in the largest unit that divides the size:
    /// `1GiB`, `1536MiB`, `1000B`; `0` for zero.
    public static func text(_ bytes: UInt64) -> String {
        guard bytes > 0 else { return "0" }
        let unit = units.first { bytes % $0.bytes == 0 } ?? ("B", 1)
        return "\(bytes / unit.bytes)\(unit.name)"
    }
}

private func trimmed(_ text: Substring) -> Substring {
    var text = text
    while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
    while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
    return text
}
