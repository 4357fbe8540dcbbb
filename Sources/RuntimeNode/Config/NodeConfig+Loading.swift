#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LocalConsensus
import OasisCommon
import Yams

extension NodeConfig {
    /// Reads the configuration: defaults, then the YAML file (optional), then the flags
    /// (flags win; a repeatable flag replaces the file's whole list or map).
    ///
    /// `flags` maps dotted keys (the flag names without `--`, e.g. `runtime.paths`) to their
    /// values in order. Repeatable flags may give several values; `runtime.paths` and
    /// `runtime.sgx.signatures` values are `ID=PATH`; `runtime.supported` values may be
    /// comma-separated; booleans are `true` or `false` (`""`, a bare flag, is `true`);
    /// durations are Go text (`500ms`, `2m`). Relative paths in the file resolve against the
    /// file's directory, relative paths in flags against the current directory. `datadir` is
    /// required and comes back absolute.
    ///
    /// In the file, dotted keys are nesting (a flat `runtime.provisioner:` is read too), an
    /// empty value (`paths:`) is the empty string, list or map, and `interval` may also be a
    /// number of seconds. An unknown key, a value of the wrong type, malformed YAML or an
    /// unreadable file is an error that names the key, or the file with line and column.
    ///
    /// Only the shape of each value is checked here (known key, right type, known log level
    /// and format); ``validate()`` does the rest.
    public static func load(configFile: String?, flags: [String: [String]]) throws(NodeConfigError) -> NodeConfig {
        let workingDirectory = FileManager.default.currentDirectoryPath
        var config = NodeConfig(dataDir: "")
        if let configFile {
            let path = NodeConfigText.absolutePath(configFile, base: workingDirectory)
            let root = try readYAML(path: path)
            let reader = YAMLConfigReader(file: path, base: NodeConfigText.directory(of: path))
            try reader.read(root, into: &config)
        }
        try applyFlags(flags, to: &config, base: workingDirectory)
        guard !config.dataDir.isEmpty else {
            throw NodeConfigError(
                key: "datadir", message: "no data directory configured",
                hint: "pass --datadir DIR or set datadir in the config file")
        }
        return config
    }

    /// The largest config file read (a config names at most 64 runtimes, a few KiB): a path
    /// such as `/dev/zero` is refused instead of filling memory.
    static let maxConfigFileSize = 4 << 20

    /// The most values a config file may expand to once its aliases are resolved (a config
    /// has a few hundred): nested anchors ("billion laughs") are refused before Yams composes
    /// them, which for an alias used as a mapping key takes hours.
    static let maxConfigValues = 1_000_000

    /// The deepest nesting of collections a config file may have (it needs four): deeper ones
    /// are refused before Yams composes them, which recurses once per level.
    static let maxConfigDepth = 64

    /// The file's YAML tree; `nil` for an empty file.
    private static func readYAML(path: String) throws(NodeConfigError) -> Node? {
        func unreadable(_ why: String) -> NodeConfigError {
            NodeConfigError(
                key: nil, message: "cannot read config file '\(path)': \(why)",
                description: "cannot read config file '\(path)': \(why); "
                    + "pass an existing, readable YAML file to --config")
        }
        let bytes: [UInt8]
        do {
            bytes = try BoundedFile.read(path, limit: maxConfigFileSize)
        } catch {
            throw unreadable(error.description)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw unreadable("it is not UTF-8 text") }
        switch YAMLExpansion.measure(text, maxValues: maxConfigValues, maxDepth: maxConfigDepth) {
        case .within:
            break
        case .tooManyValues:
            throw NodeConfigError(
                key: nil, message: "config file '\(path)' expands to more than \(maxConfigValues) values",
                description: "config file '\(path)' expands to more than \(maxConfigValues) values (anchors and "
                    + "aliases count once per use); a config has far fewer, so remove the nested aliases")
        case .tooDeep:
            throw NodeConfigError(
                key: nil, message: "config file '\(path)' nests more than \(maxConfigDepth) levels deep",
                description: "config file '\(path)' nests more than \(maxConfigDepth) levels deep (aliases count "
                    + "with what they stand for); a config has four, so remove the nesting")
        }
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw malformed(error, path: path)
        } catch {
            throw NodeConfigError(
                key: nil, message: "config file '\(path)' is not valid YAML: \(error)",
                description: "config file '\(path)' is not valid YAML: \(error)")
        }
    }

    /// A Yams error as one line with the file, line and column.
    private static func malformed(_ error: YamlError, path: String) -> NodeConfigError {
        var problem: String
        var mark: Mark? = nil
        switch error {
        case .scanner(let context, let text, let at, _), .parser(let context, let text, let at, _),
            .composer(let context, let text, let at, _):
            problem = text
            if let context {
                problem += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            mark = at
        case .duplicatedKeysInMapping(let duplicates, let context):
            problem = "duplicate keys \(duplicates.joined(separator: ", ")) in a mapping"
            mark = context.mark
        case .reader(let text, _, _, _):
            problem = text
        default:
            problem = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
        }
        let location = mark.map { "'\(path)' line \($0.line), column \($0.column)" } ?? "'\(path)'"
        let message = "malformed YAML in config file \(location): \(problem)"
        return NodeConfigError(key: nil, message: message, description: message + "; fix the file's syntax")
    }

    /// Applies the command-line values, each replacing what the file said.
    private static func applyFlags(
        _ flags: [String: [String]], to config: inout NodeConfig, base: String
    ) throws(NodeConfigError) {
        // Table order, so that with several bad flags the same one is reported every time.
        let unknown = flags.keys.filter { definition($0) == nil }.sorted()
        if let key = unknown.first {
            let known = definitions.map { "--" + $0.option.key }.joined(separator: ", ")
            throw NodeConfigError(
                key: key, message: "unknown flag --\(key)",
                description: "unknown flag --\(key); known configuration flags: \(known)")
        }
        for definition in definitions {
            guard let values = flags[definition.option.key], !values.isEmpty else { continue }
            let key = definition.option.key
            func refused(_ problem: NodeOptionValueProblem) -> NodeConfigError {
                let hint = problem.hint.map { "; \($0)" } ?? ""
                return NodeConfigError(
                    key: key, message: problem.message,
                    description: "config key \(key) (flag --\(key)): \(problem.message)\(hint)")
            }
            do {
                let value = try flagValue(values, kind: definition.kind, base: base)
                try definition.store(&config, value)
            } catch {
                throw refused(error)
            }
        }
    }

    /// A flag's values as one value of `kind`; single-valued kinds take the last.
    private static func flagValue(
        _ values: [String], kind: NodeOptionKind, base: String
    ) throws(NodeOptionValueProblem) -> NodeOptionValue {
        let last = values[values.count - 1]
        switch kind {
        case .string:
            return .string(last)
        case .path:
            return .string(NodeConfigText.absolutePath(last, base: base))
        case .bool:
            switch last.lowercased() {
            // A bare `--debug.dont_blame_oasis` arrives as "" and means true, as with pflag.
            case "true", "1", "": return .bool(true)
            case "false", "0": return .bool(false)
            default: throw NodeOptionValueProblem(message: "expected true or false (got '\(last)')")
            }
        case .uint64:
            guard let number = UInt64(last) else {
                throw NodeOptionValueProblem(message: "expected a non-negative integer (got '\(last)')")
            }
            return .uint64(number)
        case .duration:
            return .duration(try duration(last))
        case .byteSize:
            return .byteSize(try byteSize(last))
        case .list:
            return .list(
                values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty })
        case .pathMap:
            // A single empty value sets the map to empty (set but empty is not unset).
            if values == [""] { return .map([:]) }
            var map: [String: String] = [:]
            for value in values {
                guard let equals = value.firstIndex(of: "="), equals != value.startIndex else {
                    throw NodeOptionValueProblem(
                        message: "expected ID=PATH (got '\(value)')", hint: "give one --flag ID=PATH per runtime")
                }
                map[String(value[..<equals])] = NodeConfigText.absolutePath(
                    String(value[value.index(after: equals)...]), base: base)
            }
            return .map(map)
        }
    }

    /// Go duration text, or a plain number of seconds.
    static func duration(_ text: String) throws(NodeOptionValueProblem) -> Duration {
        if let parsed = GoDuration.parse(text) { return parsed }
        if let seconds = Double(text), seconds.isFinite { return try duration(seconds: seconds, text: text) }
        throw NodeOptionValueProblem(
            message: "expected a duration like 500ms, 2m or 1h30m, or a number of seconds (got '\(text)')")
    }

    /// A size: bytes, or a whole number of KiB, MiB, GiB or TiB.
    static func byteSize(_ text: String) throws(NodeOptionValueProblem) -> UInt64 {
        if let bytes = ByteSize.parse(text) { return bytes }
        throw NodeOptionValueProblem(
            message: "expected a size in bytes or a whole number of KiB, MiB, GiB or TiB, like 2GiB (got '\(text)')")
    }

    /// A number of seconds (written as `text`) as a duration; refused past Int64 nanoseconds,
    /// where a plain `Int64(_:)` would trap.
    static func duration(seconds: Double, text: String) throws(NodeOptionValueProblem) -> Duration {
        guard let nanoseconds = Int64(exactly: (seconds * 1e9).rounded()) else {
            throw NodeOptionValueProblem(message: "\(text) seconds is too long a duration (at most about 292 years)")
        }
        return .nanoseconds(nanoseconds)
    }
}

/// Walks the YAML tree against the option table: every key must be an option or lead to one.
private struct YAMLConfigReader {
    let file: String
    let base: String

    /// The sections (key prefixes) and the option keys directly under each, in table order.
    private static let children: [String: [String]] = {
        var children: [String: [String]] = [:]
        for definition in NodeConfig.definitions {
            let parts = definition.option.key.split(separator: ".").map(String.init)
            for depth in 0..<parts.count {
                let parent = parts[..<depth].joined(separator: ".")
                if !(children[parent]?.contains(parts[depth]) ?? false) {
                    children[parent, default: []].append(parts[depth])
                }
            }
        }
        return children
    }()

    func read(_ root: Node?, into config: inout NodeConfig) throws(NodeConfigError) {
        guard let root, root.null == nil else { return }
        guard let mapping = root.mapping else {
            throw NodeConfigError(
                key: nil, message: "config file '\(file)' must be a mapping of keys",
                description: "config file '\(file)' must be a YAML mapping of keys like `datadir: DIR` "
                    + "(line \(root.mark?.line ?? 1))")
        }
        try readSection(mapping, prefix: "", into: &config)
    }

    private func location(_ node: Node) -> String {
        guard let mark = node.mark else { return "in \(file)" }
        return "in \(file) line \(mark.line)"
    }

    private func readSection(
        _ mapping: Node.Mapping, prefix: String, into config: inout NodeConfig
    ) throws(NodeConfigError) {
        for (keyNode, value) in mapping {
            guard let name = keyNode.scalar?.string else {
                throw NodeConfigError(
                    key: prefix.isEmpty ? nil : prefix, message: "a key that is not text",
                    description: "config file \(file): keys must be plain text (\(location(keyNode)))")
            }
            let key = prefix.isEmpty ? name : "\(prefix).\(name)"
            if let definition = NodeConfig.definition(key) {
                do {
                    try definition.store(&config, try self.value(value, kind: definition.kind))
                } catch {
                    let hint = error.hint.map { "; \($0)" } ?? ""
                    throw NodeConfigError(
                        key: key, message: error.message,
                        description: "config key \(key) (\(location(value))): \(error.message)\(hint)")
                }
            } else if Self.children[key] != nil {
                if value.null != nil { continue }  // An empty section sets nothing.
                guard let section = value.mapping else {
                    let expected = Self.children[key, default: []].joined(separator: ", ")
                    throw NodeConfigError(
                        key: key, message: "expected a mapping with keys \(expected)",
                        description: "config key \(key) (\(location(value))): expected a mapping with keys \(expected)")
                }
                try readSection(section, prefix: key, into: &config)
            } else {
                let known = Self.children[prefix, default: []].joined(separator: ", ")
                let under = prefix.isEmpty ? "known top-level keys" : "known keys under \(prefix)"
                let message = "unknown config key \(key); \(under): \(known)"
                throw NodeConfigError(
                    key: key, message: message,
                    description: "unknown config key \(key) (\(location(keyNode))); \(under): \(known)")
            }
        }
    }

    /// A YAML node as a value of `kind`, paths resolved against the file's directory.
    private func value(_ node: Node, kind: NodeOptionKind) throws(NodeOptionValueProblem) -> NodeOptionValue {
        let isNull = node.null != nil
        switch kind {
        case .string, .path:
            if isNull { return .string("") }
            guard let scalar = node.scalar else {
                throw NodeOptionValueProblem(message: "expected a string, not \(shape(node))")
            }
            return .string(kind == .path ? NodeConfigText.absolutePath(scalar.string, base: base) : scalar.string)
        case .bool:
            guard node.scalar != nil, let flag = node.bool else {
                throw NodeOptionValueProblem(message: "expected true or false, not \(shape(node))")
            }
            return .bool(flag)
        case .uint64:
            guard let text = node.scalar?.string, tagged(node, .int), let number = UInt64(text) else {
                throw NodeOptionValueProblem(message: "expected a non-negative integer, not \(shape(node))")
            }
            return .uint64(number)
        case .duration:
            guard let scalar = node.scalar else {
                throw NodeOptionValueProblem(message: "expected a duration like 2m, not \(shape(node))")
            }
            if tagged(node, .int) || tagged(node, .float), let seconds = node.float, seconds.isFinite {
                return .duration(try NodeConfig.duration(seconds: seconds, text: scalar.string))
            }
            return .duration(try NodeConfig.duration(scalar.string))
        case .byteSize:
            guard let scalar = node.scalar else {
                throw NodeOptionValueProblem(message: "expected a size like 2GiB, not \(shape(node))")
            }
            return .byteSize(try NodeConfig.byteSize(scalar.string))
        case .list:
            if isNull { return .list([]) }
            if let sequence = node.sequence {
                var items: [String] = []
                for item in sequence {
                    guard let text = item.scalar?.string, item.null == nil else {
                        throw NodeOptionValueProblem(
                            message: "expected a list of strings, but an item is \(shape(item))")
                    }
                    items.append(text)
                }
                return .list(items)
            }
            guard let scalar = node.scalar else {
                throw NodeOptionValueProblem(message: "expected a list of strings, not \(shape(node))")
            }
            let items = scalar.string.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return .list(items.filter { !$0.isEmpty })
        case .pathMap:
            if isNull { return .map([:]) }
            guard let mapping = node.mapping else {
                throw NodeOptionValueProblem(message: "expected a mapping of runtime ID to path, not \(shape(node))")
            }
            var map: [String: String] = [:]
            for (key, path) in mapping {
                guard let id = key.scalar?.string, let text = path.scalar?.string, path.null == nil else {
                    throw NodeOptionValueProblem(
                        message: "expected a mapping of runtime ID to path, but an entry is \(shape(path))")
                }
                map[id] = NodeConfigText.absolutePath(text, base: base)
            }
            return .map(map)
        }
    }

    /// Whether the node's resolved tag is `name` (a plain `5` is `int`, a quoted `"5"` is `str`).
    private func tagged(_ node: Node, _ name: Tag.Name) -> Bool {
        node.tag.description == name.rawValue
    }

    /// What a node is, for errors: `a list`, `a mapping`, `'abc'`, `nothing`.
    private func shape(_ node: Node) -> String {
        if node.null != nil { return "nothing" }
        if node.sequence != nil { return "a list" }
        if node.mapping != nil { return "a mapping" }
        return "'\(node.scalar?.string ?? "")'"
    }
}
