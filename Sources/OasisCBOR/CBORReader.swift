/// Parses bytes into ``CBORValue`` with the checks oasis-core applies to untrusted input:
/// definite lengths only, no tags, no duplicate map keys, valid UTF-8, bounded nesting and
/// bounded array/map sizes, nothing after the item.
struct CBORReader: ~Copyable {
    private let base: UnsafeBufferPointer<UInt8>
    private var position: Int = 0
    private let options: CBORDecoder.Options

    private init(base: UnsafeBufferPointer<UInt8>, options: CBORDecoder.Options) {
        self.base = base
        self.options = options
    }

    /// Parses exactly one item from `bytes`; trailing bytes are an error.
    static func parse(_ bytes: [UInt8], options: CBORDecoder.Options) throws(CBORError) -> CBORValue {
        let result: Result<CBORValue, CBORError> = bytes.withUnsafeBufferPointer { buffer in
            var reader = CBORReader(base: buffer, options: options)
            do {
                let value = try reader.readItem(depth: 0)
                if reader.position != buffer.count {
                    throw CBORError(
                        .trailingBytes, offset: reader.position,
                        "\(buffer.count - reader.position) byte(s) after a complete item")
                }
                return .success(value)
            } catch let error as CBORError {
                return .failure(error)
            } catch {
                return .failure(CBORError(.malformed, "\(error)"))
            }
        }
        return try result.get()
    }

    /// Parses one item from the start of `bytes` and returns it with the number of bytes used.
    static func parsePrefix(
        _ bytes: UnsafeBufferPointer<UInt8>, options: CBORDecoder.Options
    ) throws(CBORError) -> (CBORValue, Int) {
        var reader = CBORReader(base: bytes, options: options)
        let value = try reader.readItem(depth: 0)
        return (value, reader.position)
    }

    private mutating func byte() throws(CBORError) -> UInt8 {
        guard position < base.count else {
            throw CBORError(.unexpectedEnd, offset: position)
        }
        let b = base[position]
        position += 1
        return b
    }

    private mutating func uint(bytes count: Int) throws(CBORError) -> UInt64 {
        guard base.count - position >= count else {
            throw CBORError(.unexpectedEnd, offset: position, "need \(count) byte(s) of argument")
        }
        var value: UInt64 = 0
        for i in 0..<count {
            value = (value << 8) | UInt64(base[position + i])
        }
        position += count
        return value
    }

    /// Reads the argument that follows an initial byte's additional information.
    private mutating func argument(_ info: UInt8, at start: Int) throws(CBORError) -> UInt64 {
        switch info {
        case 0..<24: return UInt64(info)
        case 24: return try uint(bytes: 1)
        case 25: return try uint(bytes: 2)
        case 26: return try uint(bytes: 4)
        case 27: return try uint(bytes: 8)
        case 31:
            throw CBORError(.indefiniteLength, offset: start)
        default:
            throw CBORError(.malformed, offset: start, "reserved additional information \(info)")
        }
    }

    /// A length argument that must fit both in memory and in the remaining input.
    private mutating func length(_ info: UInt8, at start: Int, minimumItemSize: Int) throws(CBORError) -> Int {
        let raw = try argument(info, at: start)
        let remaining = base.count - position
        guard raw <= UInt64(remaining / max(minimumItemSize, 1)) else {
            throw CBORError(.unexpectedEnd, offset: start, "length \(raw) exceeds the \(remaining) byte(s) left")
        }
        return Int(raw)
    }

    private mutating func readItem(depth: Int) throws(CBORError) -> CBORValue {
        let start = position
        let initial = try byte()
        let major = initial >> 5
        let info = initial & 0x1f
        switch major {
        case 0:
            return .unsignedInt(try argument(info, at: start))
        case 1:
            return .negativeInt(try argument(info, at: start))
        case 2:
            let n = try length(info, at: start, minimumItemSize: 1)
            let bytes = Array(base[position..<(position + n)])
            position += n
            return .byteString(bytes)
        case 3:
            let n = try length(info, at: start, minimumItemSize: 1)
            let slice = UnsafeBufferPointer(rebasing: base[position..<(position + n)])
            guard CBORScanner.isValidUTF8(slice) else {
                throw CBORError(.invalidUTF8, offset: start)
            }
            let text = String(decoding: slice, as: UTF8.self)
            position += n
            return .textString(text)
        case 4:
            guard depth < options.maxDepth else {
                throw CBORError(.depthExceeded, offset: start, "more than \(options.maxDepth) nested levels")
            }
            let n = try length(info, at: start, minimumItemSize: 1)
            guard n <= options.maxArrayElements else {
                throw CBORError(
                    .tooManyElements, offset: start, "array of \(n) exceeds \(options.maxArrayElements)")
            }
            var items: [CBORValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n {
                items.append(try readItem(depth: depth + 1))
            }
            return .array(items)
        case 5:
            guard depth < options.maxDepth else {
                throw CBORError(.depthExceeded, offset: start, "more than \(options.maxDepth) nested levels")
            }
            let n = try length(info, at: start, minimumItemSize: 2)
            guard n <= options.maxMapPairs else {
                throw CBORError(.tooManyElements, offset: start, "map of \(n) pairs exceeds \(options.maxMapPairs)")
            }
            var entries: [CBORMapEntry] = []
            entries.reserveCapacity(n)
            for _ in 0..<n {
                let keyStart = position
                let key = try readItem(depth: depth + 1)
                let value = try readItem(depth: depth + 1)
                // Small maps (struct fields) are scanned; large ones use a set.
                if n <= 16 {
                    for entry in entries where entry.key == key {
                        throw CBORError(.duplicateKey, offset: keyStart, "key \(describeKey(key))")
                    }
                }
                entries.append(CBORMapEntry(key: key, value: value))
            }
            if n > 16 {
                var seen = Set<CBORValue>(minimumCapacity: n)
                for entry in entries where !seen.insert(entry.key).inserted {
                    throw CBORError(.duplicateKey, offset: start, "key \(describeKey(entry.key))")
                }
            }
            return .map(entries)
        case 6:
            throw CBORError(.tag, offset: start)
        default:  // 7: simple values and floats
            switch info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            case 23: return .undefined
            case 24:
                let v = try uint(bytes: 1)
                guard v >= 32 else {
                    throw CBORError(.malformed, offset: start, "two-byte simple value \(v) below 32")
                }
                return .simple(UInt8(v))
            case 25:
                let bits = UInt16(try uint(bytes: 2))
                return .float(Double(Float16(bitPattern: bits)))
            case 26:
                let bits = UInt32(try uint(bytes: 4))
                return .float(Double(Float(bitPattern: bits)))
            case 27:
                return .float(Double(bitPattern: try uint(bytes: 8)))
            case 31:
                throw CBORError(.malformed, offset: start, "unexpected break code")
            case 0..<20:
                return .simple(info)
            default:
                throw CBORError(.malformed, offset: start, "reserved simple value \(info)")
            }
        }
    }
}

func describeKey(_ key: CBORValue) -> String {
    switch key {
    case .textString(let s): return "\"\(s)\""
    case .unsignedInt(let u): return String(u)
    case .negativeInt(let n): return negativeIntegerText(n)
    case .byteString(let b): return "h'\(hexString(b))'"
    default: return key.kindName
    }
}

/// The decimal text of the CBOR negative integer `-1 - n`, exact down to -2^64 (where `n + 1`
/// does not fit a `UInt64`).
func negativeIntegerText(_ n: UInt64) -> String {
    n == .max ? "-18446744073709551616" : "-\(n + 1)"
}

/// Lowercase hex of some bytes.
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}
