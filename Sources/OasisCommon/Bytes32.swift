/// 32 bytes held inline as four big-endian words: no allocation, cheap to hash and compare.
/// The storage of ``Namespace``, ``Hash`` and ``PublicKey``.
public struct Bytes32: Hashable, Sendable, Comparable {
    @usableFromInline var w0, w1, w2, w3: UInt64

    /// All zero bytes.
    public static let zero = Bytes32(w0: 0, w1: 0, w2: 0, w3: 0)

    @usableFromInline init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    /// `nil` unless `bytes` has exactly 32 elements.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var i = 0
        for b in bytes {
            switch i >> 3 {
            case 0: words.0 = words.0 << 8 | UInt64(b)
            case 1: words.1 = words.1 << 8 | UInt64(b)
            case 2: words.2 = words.2 << 8 | UInt64(b)
            default: words.3 = words.3 << 8 | UInt64(b)
            }
            i += 1
        }
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// The 32 bytes in order.
    public var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
            for (i, word) in [w0, w1, w2, w3].enumerated() {
                for j in 0..<8 {
                    buffer[i * 8 + j] = UInt8(truncatingIfNeeded: word >> UInt64(56 - 8 * j))
                }
            }
            count = 32
        }
    }

    /// The first byte.
    public var firstByte: UInt8 { UInt8(truncatingIfNeeded: w0 >> 56) }

    /// The first eight bytes as a big-endian integer.
    public var firstWord: UInt64 { w0 }

    public static func < (a: Bytes32, b: Bytes32) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }
}
