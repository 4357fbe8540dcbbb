/// Writes canonical CBOR heads and items into a byte buffer.
///
/// Public for types that write their own CBOR on a hot path, next to their `Encodable`
/// conformance (which stays the reference; tests compare the two byte for byte). The writer
/// puts heads and lengths in their shortest form; writing map keys in canonical order
/// (length first, then bytewise) is the caller's part.
public struct CBORWriter {
    /// What has been written so far.
    public var bytes: [UInt8] = []

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        bytes.reserveCapacity(capacity)
    }

    /// A major type with its argument in the shortest form.
    @inline(__always)
    public mutating func writeHead(_ major: UInt8, _ value: UInt64) {
        let m = major << 5
        if value < 24 {
            bytes.append(m | UInt8(value))
        } else if value <= 0xff {
            bytes.append(m | 24)
            bytes.append(UInt8(value))
        } else if value <= 0xffff {
            bytes.append(m | 25)
            bytes.append(UInt8(value >> 8))
            bytes.append(UInt8(truncatingIfNeeded: value))
        } else if value <= 0xffff_ffff {
            bytes.append(m | 26)
            for shift in stride(from: 24, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            }
        } else {
            bytes.append(m | 27)
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            }
        }
    }

    /// A signed integer: major type 0 or 1.
    @inline(__always)
    public mutating func writeInt(_ value: Int64) {
        if value >= 0 {
            writeHead(0, UInt64(value))
        } else {
            writeHead(1, UInt64(bitPattern: -1 &- value))
        }
    }

    /// A text string.
    public mutating func writeText(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            writeHead(3, UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A byte string.
    public mutating func writeBytes(_ data: some Collection<UInt8>) {
        writeHead(2, UInt64(data.count))
        bytes.append(contentsOf: data)
    }

    /// The shortest of float16/32/64 that holds the value exactly (NaN as `f97e00`).
    mutating func writeFloat(_ value: Double) {
        if value.isNaN {
            bytes.append(contentsOf: [0xf9, 0x7e, 0x00])
            return
        }
        let half = Float16(value)
        if Double(half) == value {
            bytes.append(0xf9)
            appendBigEndian(UInt64(half.bitPattern), count: 2)
            return
        }
        let single = Float(value)
        if Double(single) == value {
            bytes.append(0xfa)
            appendBigEndian(UInt64(single.bitPattern), count: 4)
            return
        }
        bytes.append(0xfb)
        appendBigEndian(value.bitPattern, count: 8)
    }

    private mutating func appendBigEndian(_ value: UInt64, count: Int) {
        for i in stride(from: count - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(i * 8)))
        }
    }

    /// `null`.
    public mutating func writeNull() {
        bytes.append(0xf6)
    }

    /// Writes a raw value canonically: map keys sorted length-first, then bytewise.
    public mutating func write(_ value: CBORValue) throws(CBORError) {
        switch value {
        case .unsignedInt(let u): writeHead(0, u)
        case .negativeInt(let n): writeHead(1, n)
        case .byteString(let b): writeBytes(b)
        case .textString(let s): writeText(s)
        case .array(let items):
            writeHead(4, UInt64(items.count))
            for item in items { try write(item) }
        case .map(let entries):
            var encoded: [(key: [UInt8], entry: CBORMapEntry)] = []
            encoded.reserveCapacity(entries.count)
            for entry in entries {
                var keyWriter = CBORWriter(capacity: 16)
                try keyWriter.write(entry.key)
                encoded.append((keyWriter.bytes, entry))
            }
            encoded.sort { canonicalKeyOrder($0.key, $1.key) }
            for i in encoded.indices.dropFirst() where encoded[i - 1].key == encoded[i].key {
                throw CBORError(.unencodable, "duplicate map key \(describeKey(encoded[i].entry.key))")
            }
            writeHead(5, UInt64(encoded.count))
            for item in encoded {
                bytes.append(contentsOf: item.key)
                try write(item.entry.value)
            }
        case .bool(let b): bytes.append(b ? 0xf5 : 0xf4)
        case .null: bytes.append(0xf6)
        case .undefined: bytes.append(0xf7)
        case .simple(let s):
            if s < 24 {
                bytes.append(0xe0 | s)
            } else {
                bytes.append(0xf8)
                bytes.append(s)
            }
        case .float(let d): writeFloat(d)
        }
    }
}

/// RFC 7049 canonical order of encoded map keys: shorter first, then bytewise.
@inline(__always)
func canonicalKeyOrder(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    if a.count != b.count { return a.count < b.count }
    return a.lexicographicallyPrecedes(b)
}
