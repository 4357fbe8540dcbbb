/// The bit string a key is stored under in the Merkle trie (docs/STORAGE.md §2).
///
/// Each key byte becomes nine bits, a `1` followed by the byte's eight bits (most significant
/// first), and the string ends with a single `0`. The encoding is prefix-free (no key's string
/// is a prefix of another's), so every key is a leaf and every branch has two children, and it
/// keeps order: comparing encoded strings bit by bit gives the keys' lexicographic byte order,
/// with a key sorting before its extensions. Nothing is ever materialised; these helpers answer
/// questions about the encoded string straight from the key bytes.
enum MerkleKeyBits {
    /// The encoded bit at `position`. Positions past the end read as `0`; only searches ask
    /// for them, and a search's answer is always confirmed by comparing whole keys.
    @inline(__always)
    static func bit(_ key: [UInt8], at position: UInt32) -> UInt8 {
        let group = Int(position / 9)
        let offset = position % 9
        guard group < key.count else { return 0 }
        if offset == 0 { return 1 }
        return (key[group] >> (8 - offset)) & 1
    }

    /// The first position where the encodings of `a` and `b` differ, `nil` when the keys are
    /// equal. Because the encoding is prefix-free, the position always lies inside both strings.
    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> UInt32? {
        let shared = min(a.count, b.count)
        var index = 0
        while index < shared && a[index] == b[index] { index += 1 }
        if index < shared {
            let differing = a[index] ^ b[index]
            return UInt32(index) * 9 + 1 + UInt32(differing.leadingZeroBitCount)
        }
        // One key is a prefix of the other: its terminator `0` meets the other's `1` marker.
        return a.count == b.count ? nil : UInt32(index) * 9
    }

    /// Whether `key` starts with `prefix` (byte-wise).
    @inline(__always)
    static func hasPrefix(_ key: [UInt8], _ prefix: [UInt8]) -> Bool {
        key.count >= prefix.count && key.starts(with: prefix)
    }

    /// Lexicographic byte order.
    @inline(__always)
    static func less(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }
}
