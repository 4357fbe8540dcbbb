/// Bech32 (BIP-173), the text form of staking addresses. Only what addresses need: encoding
/// 8-bit data under a prefix, and strict decoding back.
enum Bech32 {
    private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (i, c) in charset.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()
    private static let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
    /// BIP-173's length limit, which Go's decoder enforces too.
    private static let maxLength = 90

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        var check: UInt32 = 1
        for value in values {
            let top = check >> 25
            check = (check & 0x1ff_ffff) << 5 ^ UInt32(value)
            for i in 0..<5 where (top >> UInt32(i)) & 1 == 1 {
                check ^= generator[i]
            }
        }
        return check
    }

    private static func expand(_ prefix: [UInt8]) -> [UInt8] {
        prefix.map { $0 >> 5 } + [0] + prefix.map { $0 & 31 }
    }

    /// Regroups bits; `nil` when padding rules are broken on the way back to bytes.
    private static func convert(_ data: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var accumulator = 0
        var bits = 0
        var out: [UInt8] = []
        let mask = (1 << to) - 1
        let keep = (1 << (from + to - 1)) - 1
        for value in data {
            guard Int(value) >> from == 0 else { return nil }
            accumulator = (accumulator << from | Int(value)) & keep
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8(accumulator >> bits & mask))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8(accumulator << (to - bits) & mask)) }
        } else if bits >= from || accumulator << (to - bits) & mask != 0 {
            return nil
        }
        return out
    }

    /// `prefix1<data><checksum>` in lower case.
    static func encode(prefix: String, data: [UInt8]) -> String {
        let hrp = Array(prefix.utf8)
        let values = convert(data, from: 8, to: 5, pad: true)!
        let mod = polymod(expand(hrp) + values + [0, 0, 0, 0, 0, 0]) ^ 1
        let checksum = (0..<6).map { UInt8(mod >> UInt32(5 * (5 - $0)) & 31) }
        let body = (values + checksum).map { charset[Int($0)] }
        return String(decoding: hrp + [UInt8(ascii: "1")] + body, as: UTF8.self)
    }

    /// The prefix (lower case) and the 8-bit data, or `nil` for anything that is not valid Bech32.
    static func decode(_ text: String) -> (prefix: String, data: [UInt8])? {
        let input = Array(text.utf8)
        guard input.count <= maxLength, input.allSatisfy({ $0 >= 33 && $0 <= 126 }) else { return nil }
        let hasLower = input.contains { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }
        let hasUpper = input.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        guard !(hasLower && hasUpper) else { return nil }
        let lower = input.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }
        guard let separator = lower.lastIndex(of: UInt8(ascii: "1")), separator >= 1,
            lower.count - separator - 1 >= 6
        else { return nil }
        let hrp = Array(lower[..<separator])
        var values: [UInt8] = []
        for c in lower[(separator + 1)...] {
            let v = c < 128 ? reverse[Int(c)] : -1
            guard v >= 0 else { return nil }
            values.append(UInt8(v))
        }
        guard polymod(expand(hrp) + values) == 1,
            let data = convert(Array(values.dropLast(6)), from: 5, to: 8, pad: false)
        else { return nil }
        return (String(decoding: hrp, as: UTF8.self), data)
    }
}
