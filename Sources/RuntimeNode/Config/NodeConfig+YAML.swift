import OasisCommon
extension NodeConfig {
    /// The configuration as YAML that ``load(configFile:flags:)`` reads back to an equal
    /// configuration: every key of ``options`` in table order, nested by its dotted key, strings
    /// double-quoted, durations as Go text. An unset `runtime.paths` is left out; a set but
    /// empty one is written as `{}`. Paths should be absolute (as after loading): relative ones
    /// would be read back against the file's directory.
    public func yaml() -> String {
        var lines = ["# runtime-node configuration; flags given to `runtime-node run` override these values."]
        var openSections: [String] = []
        for definition in Self.definitions {
            guard let value = definition.current(self) else { continue }
            let parts = definition.option.key.split(separator: ".").map(String.init)
            let sections = Array(parts.dropLast())
            // Close the sections this key is not in, open the ones it needs.
            var shared = 0
            while shared < min(sections.count, openSections.count), sections[shared] == openSections[shared] {
                shared += 1
            }
            openSections = Array(openSections.prefix(shared))
            for depth in shared..<sections.count {
                lines.append(String(repeating: "  ", count: depth) + sections[depth] + ":")
                openSections.append(sections[depth])
            }
            let indent = String(repeating: "  ", count: sections.count)
            let name = parts[parts.count - 1]
            switch value {
            case .string(let text):
                lines.append("\(indent)\(name): \(NodeConfigText.quoted(text))")
            case .bool(let flag):
                lines.append("\(indent)\(name): \(flag)")
            case .uint64(let number):
                lines.append("\(indent)\(name): \(number)")
            case .byteSize(let bytes):
                lines.append("\(indent)\(name): \(NodeConfigText.quoted(ByteSize.text(bytes)))")
            case .duration(let duration):
                lines.append("\(indent)\(name): \(NodeConfigText.quoted(GoDuration.compactText(duration)))")
            case .list(let items):
                if items.isEmpty {
                    lines.append("\(indent)\(name): []")
                } else {
                    lines.append("\(indent)\(name):")
                    lines += items.map { "\(indent)  - \(NodeConfigText.quoted($0))" }
                }
            case .map(let map):
                if map.isEmpty {
                    lines.append("\(indent)\(name): {}")
                } else {
                    lines.append("\(indent)\(name):")
                    for (key, value) in map.sorted(by: { $0.key < $1.key }) {
                        let quotedKey = NodeConfigText.quoted(key)
                        // YAML limits an implicit key to 1024 characters; a longer one (never a
                        // valid runtime ID, but the file must still read back) takes the
                        // explicit form.
                        if quotedKey.count > 1024 {
                            lines.append("\(indent)  ? \(quotedKey)")
                            lines.append("\(indent)  : \(NodeConfigText.quoted(value))")
                        } else {
                            lines.append("\(indent)  \(quotedKey): \(NodeConfigText.quoted(value))")
                        }
                    }
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
