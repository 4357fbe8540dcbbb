// libyaml, which Yams builds and links (Yams imports it privately; its module is on our path).
import CYaml

/// What a YAML text stands for once every alias is replaced by a copy of its anchor, measured
/// from libyaml's events without building anything.
package enum YAMLExpansion: Equatable, Sendable {
    /// Within both bounds.
    case within
    /// More values (scalars, sequences, mappings; keys included) than the bound.
    case tooManyValues
    /// Collections nested deeper than the bound.
    case tooDeep

    /// Measures `text`, stopping as soon as a bound is passed.
    ///
    /// This must run before `Yams.compose`. Composing hashes every mapping key to find
    /// duplicates: a key that is an alias of a nested anchor ("billion laughs" used as a key,
    /// `? *x9 : 1`) takes that hash through the whole expansion, for hours, and a key that is a
    /// deeply nested collection (`? - - - … `) takes it down as many recursive calls, which
    /// overflows the stack a few thousand levels down (a 2 KiB file does it under
    /// AddressSanitizer). Yams's own walks of the tree recurse the same way. A text libyaml
    /// cannot parse counts as far as it got; `Yams.compose` then reports the error.
    package static func measure(_ text: String, maxValues: Int, maxDepth: Int) -> YAMLExpansion {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer -> YAMLExpansion in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return .within }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            // An anchor's expanded size and the height of its collections (0 for a scalar).
            var anchors: [String: (count: Int, height: Int)] = [:]
            // Open collections: their anchor, the values counted in them so far (themselves
            // included) and the greatest height of their children so far.
            var open: [(anchor: String?, count: Int, height: Int)] = []
            var total = 0
            var deepest = 0
            func add(_ count: Int, height: Int, anchor: String?) {
                if let anchor { anchors[anchor] = (count, height) }
                deepest = max(deepest, open.count + height)
                if open.isEmpty {
                    total = min(total + count, maxValues + 1)
                } else {
                    open[open.count - 1].count = min(open[open.count - 1].count + count, maxValues + 1)
                    open[open.count - 1].height = max(open[open.count - 1].height, height)
                }
            }
            func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            }
            while total <= maxValues {
                guard deepest <= maxDepth else { return .tooDeep }
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { break }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return .within
                case YAML_SCALAR_EVENT:
                    add(1, height: 0, anchor: name(event.data.scalar.anchor))
                case YAML_ALIAS_EVENT:
                    let anchor = name(event.data.alias.anchor).flatMap { anchors[$0] }
                    add(anchor?.count ?? 0, height: anchor?.height ?? 0, anchor: nil)
                case YAML_SEQUENCE_START_EVENT:
                    open.append((name(event.data.sequence_start.anchor), 1, 0))
                    deepest = max(deepest, open.count)
                case YAML_MAPPING_START_EVENT:
                    open.append((name(event.data.mapping_start.anchor), 1, 0))
                    deepest = max(deepest, open.count)
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    if let closed = open.popLast() {
                        add(closed.count, height: closed.height + 1, anchor: closed.anchor)
                    }
                default:
                    break
                }
            }
            if total > maxValues { return .tooManyValues }
            return deepest > maxDepth ? .tooDeep : .within
        }
    }
}
