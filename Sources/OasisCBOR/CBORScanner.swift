/// The head of one CBOR item: its major type, additional information, argument (a length,
/// an integer, or a float's bits) and where its content starts.
struct ItemHead {
    var major: UInt8
    var info: UInt8
    var argument: UInt64
    /// Offset just past the head (the payload of strings, the first child of containers).
    var contentStart: Int
}

/// Navigates items of input that ``CBORScanner/validate(_:options:)`` has accepted. It does not
/// check bounds or rules again: every offset it is given is the start of a validated item.
enum CBORNavigation {
    @inline(__always)
    static func head(_ bytes: [UInt8], at offset: Int) -> ItemHead {
        let initial = bytes[offset]
        let info = initial & 0x1f
        var argument = UInt64(info)
        var next = offset + 1
        if info >= 24 && info <= 27 {
            let count = 1 << Int(info - 24)
            argument = 0
            for i in 0..<count {
                argument = argument << 8 | UInt64(bytes[next + i])
            }
            next += count
        }
        return ItemHead(major: initial >> 5, info: info, argument: argument, contentStart: next)
    }

    /// The offset just past the item that starts at `offset`.
    static func end(_ bytes: [UInt8], at offset: Int) -> Int {
        let h = head(bytes, at: offset)
        switch h.major {
        case 2, 3:
            return h.contentStart + Int(h.argument)
        case 4:
            var position = h.contentStart
            for _ in 0..<h.argument { position = end(bytes, at: position) }
            return position
        case 5:
            var position = h.contentStart
            for _ in 0..<(h.argument * 2) { position = end(bytes, at: position) }
            return position
        default:
            return h.contentStart
        }
    }

    /// A short name of the item's kind, for error messages.
    static func kindName(_ bytes: [UInt8], at offset: Int) -> String {
        let h = head(bytes, at: offset)
        switch h.major {
        case 0: return "unsigned integer"
        case 1: return "negative integer"
        case 2: return "byte string"
        case 3: return "text string"
        case 4: return "array"
        case 5: return "map"
        default:
            switch h.info {
            case 20, 21: return "bool"
            case 22: return "null"
            case 23: return "undefined"
            case 25, 26, 27: return "float"
            default: return "simple value"
            }
        }
    }
}

/// Checks that bytes hold exactly one item that follows the strict rules, without building
/// anything: definite lengths, no tags, valid UTF-8, no duplicate map keys, bounded depth and
/// sizes, nothing after the item. The decoder then reads the bytes in place.
struct CBORScanner: ~Copyable {
    private let base: UnsafeBufferPointer<UInt8>
    private var position = 0
    private let options: CBORDecoder.Options

    private init(base: UnsafeBufferPointer<UInt8>, options: CBORDecoder.Options) {
        self.base = base
        self.options = options
    }

    static func validate(_ bytes: [UInt8], options: CBORDecoder.Options) throws(CBORError) {
        let result: CBORError? = bytes.withUnsafeBufferPointer { buffer -> CBORError? in
            var scanner = CBORScanner(base: buffer, options: options)
            do {
                try scanner.item(depth: 0)
                if scanner.position != buffer.count {
                    return CBORError(
                        .trailingBytes, offset: scanner.position,
                        "\(buffer.count - scanner.position) byte(s) after a complete item")
                }
                return nil
            } catch let error as CBORError {
                return error
            } catch {
                return CBORError(.malformed, "\(error)")
            }
        }
        if let result { throw result }
    }

    private mutating func byte() throws(CBORError) -> UInt8 {
        guard position < base.count else { throw CBORError(.unexpectedEnd, offset: position) }
        defer { position += 1 }
        return base[position]
    }

    private mutating func argument(_ info: UInt8, at start: Int) throws(CBORError) -> UInt64 {
        switch info {
        case 0..<24:
            return UInt64(info)
        case 24...27:
            let count = 1 << Int(info - 24)
            guard base.count - position >= count else {
                throw CBORError(.unexpectedEnd, offset: position, "need \(count) byte(s) of argument")
            }
            var value: UInt64 = 0
            for i in 0..<count { value = value << 8 | UInt64(base[position + i]) }
            position += count
            return value
        case 31:
            throw CBORError(.indefiniteLength, offset: start)
        default:
            throw CBORError(.malformed, offset: start, "reserved additional information \(info)")
        }
    }

    private mutating func length(_ info: UInt8, at start: Int, minimumItemSize: Int) throws(CBORError) -> Int {
        let raw = try argument(info, at: start)
        let remaining = base.count - position
        guard raw <= UInt64(remaining / minimumItemSize) else {
            throw CBORError(.unexpectedEnd, offset: start, "length \(raw) exceeds the \(remaining) byte(s) left")
        }
        return Int(raw)
    }

    private mutating func item(depth: Int) throws(CBORError) {
        let start = position
        let initial = try byte()
        let major = initial >> 5
        let info = initial & 0x1f
        switch major {
        case 0, 1:
            _ = try argument(info, at: start)
        case 2:
            position += try length(info, at: start, minimumItemSize: 1)
        case 3:
            let n = try length(info, at: start, minimumItemSize: 1)
            let text = UnsafeBufferPointer(rebasing: base[position..<(position + n)])
            guard Self.isValidUTF8(text) else { throw CBORError(.invalidUTF8, offset: start) }
            position += n
        case 4:
            guard depth < options.maxDepth else {
                throw CBORError(.depthExceeded, offset: start, "more than \(options.maxDepth) nested levels")
            }
            let n = try length(info, at: start, minimumItemSize: 1)
            guard n <= options.maxArrayElements else {
                throw CBORError(.tooManyElements, offset: start, "array of \(n) exceeds \(options.maxArrayElements)")
            }
            for _ in 0..<n { try item(depth: depth + 1) }
        case 5:
            guard depth < options.maxDepth else {
                throw CBORError(.depthExceeded, offset: start, "more than \(options.maxDepth) nested levels")
            }
            let n = try length(info, at: start, minimumItemSize: 2)
            guard n <= options.maxMapPairs else {
                throw CBORError(.tooManyElements, offset: start, "map of \(n) pairs exceeds \(options.maxMapPairs)")
            }
            try map(pairs: n, depth: depth, start: start)
        case 6:
            throw CBORError(.tag, offset: start)
        default:
            switch info {
            case 0..<24:
                break
            case 24:
                let v = try argument(info, at: start)
                guard v >= 32 else { throw CBORError(.malformed, offset: start, "two-byte simple value \(v) below 32") }
            case 25, 26, 27:
                _ = try argument(info, at: start)
            case 31:
                throw CBORError(.malformed, offset: start, "unexpected break code")
            default:
                throw CBORError(.malformed, offset: start, "reserved simple value \(info)")
            }
        }
    }

    private mutating func map(pairs n: Int, depth: Int, start: Int) throws(CBORError) {
        if n <= 16 {
            // Small maps (struct fields): compare each key with the ones before it, in place.
            var keys: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            try withUnsafeMutableBytes(of: &keys) { raw throws(CBORError) in
                let starts = raw.bindMemory(to: Int.self)
                // While every key sorts strictly after the one before it (canonical input), the
                // keys so far are distinct and one comparison per key proves it; from the first
                // key that does not, each key is compared with every earlier one.
                var ascending = true
                for i in 0..<n {
                    let keyStart = position
                    try item(depth: depth + 1)
                    let keyEnd = position
                    ascending = ascending && (i == 0 || sortsAfter(keyStart, starts[i - 1]))
                    if !ascending {
                        for j in 0..<i where try keysEqual(starts[j], keyStart, keyEnd) {
                            let key = try materialize(keyStart)
                            throw CBORError(.duplicateKey, offset: keyStart, "key \(describeKey(key))")
                        }
                    }
                    starts[i] = keyStart
                    try item(depth: depth + 1)
                }
            }
        } else {
            var seen = Set<CBORValue>(minimumCapacity: n)
            for _ in 0..<n {
                let keyStart = position
                try item(depth: depth + 1)
                let key = try materialize(keyStart)
                guard seen.insert(key).inserted else {
                    throw CBORError(.duplicateKey, offset: keyStart, "key \(describeKey(key))")
                }
                try item(depth: depth + 1)
            }
        }
    }

    /// Whether the validated key at `a` equals the one spanning `b..<bEnd`, as values.
    private func keysEqual(_ a: Int, _ b: Int, _ bEnd: Int) throws(CBORError) -> Bool {
        let first = base[a]
        let second = base[b]
        // Same initial byte and same bytes: equal. Text keys in canonical input end here.
        let length = bEnd - b
        if first == second, a + length <= base.count,
            memcmp(base.baseAddress! + a, base.baseAddress! + b, length) == 0
        {
            return true
        }
        let (majorA, majorB) = (first >> 5, second >> 5)
        if majorA != majorB && !(majorA == 7 && majorB == 7) { return false }
        // Different bytes can still be equal values when a head is not in its shortest form.
        switch majorA {
        case 0, 1:
            // The integers themselves; where their content starts differs with the head's width.
            return headArgument(a).0 == headArgument(b).0
        case 2, 3:
            let (lengthA, contentA) = headArgument(a)
            let (lengthB, contentB) = headArgument(b)
            return lengthA == lengthB
                && memcmp(base.baseAddress! + contentA, base.baseAddress! + contentB, Int(lengthA)) == 0
        default:
            return try materialize(a) == materialize(b)
        }
    }

    /// Whether the validated key at `b` has the same major type as the one at `a` and a
    /// strictly greater value: unsigned integers by value, byte and text strings by length and
    /// then bytes. Other kinds answer false (the caller then compares keys one by one).
    private func sortsAfter(_ b: Int, _ a: Int) -> Bool {
        let major = base[a] >> 5
        guard base[b] >> 5 == major, major == 0 || major == 2 || major == 3 else { return false }
        let (argumentA, contentA) = headArgument(a)
        let (argumentB, contentB) = headArgument(b)
        if major == 0 || argumentA != argumentB { return argumentB > argumentA }
        return memcmp(base.baseAddress! + contentB, base.baseAddress! + contentA, Int(argumentA)) > 0
    }

    /// The argument of a validated head and where its content starts.
    private func headArgument(_ offset: Int) -> (UInt64, Int) {
        let info = base[offset] & 0x1f
        guard info >= 24 else { return (UInt64(info), offset + 1) }
        let count = 1 << Int(info - 24)
        var value: UInt64 = 0
        for i in 0..<count { value = value << 8 | UInt64(base[offset + 1 + i]) }
        return (value, offset + 1 + count)
    }

    private func materialize(_ offset: Int) throws(CBORError) -> CBORValue {
        let slice = UnsafeBufferPointer(rebasing: base[offset...])
        return try CBORReader.parsePrefix(slice, options: .trusted).0
    }

    /// UTF-8 validity without building a String; ASCII (every struct key) is the fast path.
    static func isValidUTF8(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var ascii = true
        for b in text where b >= 0x80 {
            ascii = false
            break
        }
        if ascii { return true }
        return String(validating: text, as: UTF8.self) != nil
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
