/// Text forms of configuration values: Go durations, lexical paths, YAML quoting.
enum NodeConfigText {
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
                // YAML allows none of these unescaped, not even quoted: C0 and C1 controls, DEL
                // (U+0085 is allowed, but escaping it is harmless), U+FFFE and U+FFFF.
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                } else if scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\\u" + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
