/// The origin-form request target (`/v1/status?runtime=ab&round=3`) split into a path and
/// percent-decoded query parameters.
struct RequestTarget: Equatable {
    var path: String
    var query: [String: String]

    init(path: String, query: [String: String]) {
        self.path = path
        self.query = query
    }

    /// Splits `uri`; `nil` when the query is not valid percent-encoding or not UTF-8, which the
    /// server answers with 400 rather than guessing what the client meant.
    init?(uri: String) {
        let (path, rawQuery) =
            if let mark = uri.firstIndex(of: "?") {
                (String(uri[..<mark]), uri[uri.index(after: mark)...])
            } else {
                (uri, Substring())
            }
        var query: [String: String] = [:]
        for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let equals = pair.firstIndex(of: "=") {
                name = pair[..<equals]
                value = pair[pair.index(after: equals)...]
            } else {
                name = pair
                value = ""
            }
            guard let decodedName = Self.formDecode(name), let decodedValue = Self.formDecode(value) else {
                return nil
            }
            query[decodedName] = decodedValue
        }
        self.path = path
        self.query = query
    }

    /// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte.
    static func formDecode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
