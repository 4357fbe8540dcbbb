/// Escapes `text` for the inside of a JSON string literal (RFC 8259; without the quotes): `"`
/// and `\` escaped; newline, return and tab as `\n`, `\r`, `\t`; every other C0 control and
/// DEL as `\u00XX`; everything else as it is. The node's log lines (JSON, and the quoted values
/// of logfmt) and `kv-runtime`'s JSON log lines use it.
public func jsonEscaped(_ text: String) -> String {
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
