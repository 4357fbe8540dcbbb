internal import Synchronization

/// Per-type facts the coders look up on every value, cached so that the common case (a type
/// that is not a dictionary with CBOR map keys) costs a table lookup instead of a dynamic
/// conformance check.
enum TypeTraits {
    private static let dictionaryTypes = Mutex<[ObjectIdentifier: Bool]>([:])

    /// Whether `type` is a `Dictionary` whose keys conform to ``CBORMapKey``.
    static func isCBORDictionary(_ type: any Any.Type) -> Bool {
        let id = ObjectIdentifier(type)
        if let known = dictionaryTypes.withLock({ $0[id] }) { return known }
        let answer = type is any _CBORDictionaryEncodable.Type || type is any _CBORDictionaryDecodable.Type
        dictionaryTypes.withLock { $0[id] = answer }
        return answer
    }
}
