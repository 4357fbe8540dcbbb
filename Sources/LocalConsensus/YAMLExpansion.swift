// libyaml, which Yams builds and links (Yams imports it privately; its module is on our path).
import CYaml

/// The number of values (scalars, sequences, mappings; keys included) a YAML text stands for
/// once every alias is replaced by a copy of its anchor, counted from libyaml's events without
/// building anything, and stopping past `limit`: nil when it is more than `limit`.
///
/// This must run before `Yams.compose`: composing hashes every mapping key to find duplicates,
/// and a key that is an alias of a nested anchor ("billion laughs" used as a key, `? *x9 : 1`)
/// takes that hash through the whole expansion, for hours, before anything else sees the tree.
/// A text libyaml cannot parse counts as far as it got; `Yams.compose` then reports the error.
package func yamlExpandedValueCount(_ text: String, limit: Int) -> Int? {
    var bytes = Array(text.utf8)
    return bytes.withUnsafeMutableBufferPointer { buffer -> Int? in
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return 0 }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
        var anchors: [String: Int] = [:]
        // Open collections: their anchor and the values counted in them so far (themselves included).
        var open: [(anchor: String?, count: Int)] = []
        var total = 0
        func add(_ count: Int, anchor: String?) {
            if let anchor { anchors[anchor] = count }
            if open.isEmpty {
                total = min(total + count, limit + 1)
            } else {
                open[open.count - 1].count = min(open[open.count - 1].count + count, limit + 1)
            }
        }
        func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        }
        while total <= limit {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { break }
            defer { yaml_event_delete(&event) }
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return total
            case YAML_SCALAR_EVENT:
                add(1, anchor: name(event.data.scalar.anchor))
            case YAML_ALIAS_EVENT:
                add(name(event.data.alias.anchor).flatMap { anchors[$0] } ?? 0, anchor: nil)
            case YAML_SEQUENCE_START_EVENT:
                open.append((name(event.data.sequence_start.anchor), 1))
            case YAML_MAPPING_START_EVENT:
                open.append((name(event.data.mapping_start.anchor), 1))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                if let closed = open.popLast() { add(closed.count, anchor: closed.anchor) }
            default:
                break
            }
        }
        return total <= limit ? total : nil
    }
}
