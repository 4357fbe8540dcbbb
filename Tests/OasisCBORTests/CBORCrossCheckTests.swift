import Foundation
import OasisCBOR
import Testing

/// Our encoder against Python's `cbor2` in canonical mode, in both directions.
@Suite("CBOR against cbor2")
struct CBORCrossCheckTests {
    @Test("values cbor2 encodes canonically decode and re-encode to the same bytes, 1,000 per family")
    func cbor2ToUs() async throws {
        let output = try await PythonPeer.run("cbor2_peer.py", ["generate", "1000", "7"])
        var families: [String: Int] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            let family = String(parts[0])
            let bytes = try Hex.decode(String(parts[1]))
            let value = try CBORValue(decoding: bytes)
            let ours = try CBOREncoder().encode(value)
            #expect(ours == bytes, "family \(family): cbor2 \(parts[1]) vs ours \(Hex.encode(ours))")
            families[family, default: 0] += 1
        }
        #expect(families.count == 6)
        #expect(families.values.allSatisfy { $0 == 1000 })
    }

    @Test("what we encode is what cbor2 writes for the same value, 1,000 per family")
    func usToCBOR2() async throws {
        var generator = SeededGenerator(seed: 42)
        var lines: [String] = []
        for family in RandomCBOR.Family.allCases {
            for _ in 0..<1000 {
                let value = RandomCBOR.value(family, using: &generator)
                lines.append(Hex.encode(try CBOREncoder().encode(value)))
            }
        }
        let output = try await PythonPeer.run("cbor2_peer.py", ["check"], input: lines.joined(separator: "\n"))
        let mismatches = output.split(separator: "\n").filter { $0.hasPrefix("mismatch") }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        #expect(output.contains("ok \(lines.count)"))
    }

    @Test("typed Codable values encode as cbor2 would encode their maps")
    func typedValues() async throws {
        var generator = SeededGenerator(seed: 9)
        var lines: [String] = []
        for _ in 0..<1000 {
            let record = Record.random(using: &generator)
            let bytes = try CBOREncoder().encode(record)
            #expect(try CBORDecoder().decode(Record.self, from: bytes) == record)
            lines.append(Hex.encode(bytes))
        }
        let output = try await PythonPeer.run("cbor2_peer.py", ["check"], input: lines.joined(separator: "\n"))
        #expect(!output.contains("mismatch"), "\(output.prefix(400))")
        #expect(output.contains("ok 1000"))
    }
}

/// A struct with the shapes oasis types use: mixed-length keys, nested struct, optional,
/// bytes, integer-keyed map.
struct Record: Codable, Equatable {
    var a: UInt64
    var longerFieldName: Int64
    var bytes: [UInt8]
    var text: String
    var nested: [Record]?
    var byNumber: [UInt16: String]
    var flag: Bool

    static func random(using rng: inout SeededGenerator, depth: Int = 0) -> Record {
        Record(
            a: RandomCBOR.boundaryUInt(using: &rng),
            longerFieldName: Int64.random(in: Int64.min...Int64.max, using: &rng),
            bytes: RandomCBOR.bytes(using: &rng),
            text: RandomCBOR.text(using: &rng),
            nested: depth < 2 && Bool.random(using: &rng)
                ? (0..<Int.random(in: 0...3, using: &rng)).map { _ in random(using: &rng, depth: depth + 1) } : nil,
            byNumber: Dictionary(
                uniqueKeysWithValues: (0..<Int.random(in: 0...5, using: &rng)).map { i in
                    (UInt16(i * 300), RandomCBOR.text(using: &rng))
                }),
            flag: Bool.random(using: &rng))
    }
}

/// SplitMix64: a small seeded generator so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random CBOR items that stress the encoder's canonical rules.
enum RandomCBOR {
    enum Family: CaseIterable { case int, bytes, text, map, array, nested }

    static let lengths = [0, 1, 23, 24, 25, 255, 256, 257, 65535, 65536, 65537]
    static let boundaries: [UInt64] = [0, 1, 23, 24, 255, 256, 65535, 65536, 0xffff_ffff, 0x1_0000_0000, .max]

    static func boundaryUInt(using rng: inout SeededGenerator) -> UInt64 {
        let base = boundaries.randomElement(using: &rng)!
        let delta = Int64.random(in: -2...2, using: &rng)
        return delta < 0 ? base &- min(UInt64(-delta), base) : (base > .max - UInt64(delta) ? base : base + UInt64(delta))
    }

    /// Top-level strings hit the length boundaries often; nested ones stay short so the
    /// corpus stays small.
    static func length(using rng: inout SeededGenerator, boundaries: Bool) -> Int {
        boundaries && Int.random(in: 0..<10, using: &rng) < 5
            ? lengths.randomElement(using: &rng)! : Int.random(in: 0...40, using: &rng)
    }

    static func bytes(using rng: inout SeededGenerator, boundaries: Bool = false) -> [UInt8] {
        (0..<length(using: &rng, boundaries: boundaries)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    static func text(using rng: inout SeededGenerator, boundaries: Bool = false) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz_ABCDEF0123456789éß漢😀")
        return String((0..<length(using: &rng, boundaries: boundaries)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    static func int(using rng: inout SeededGenerator) -> CBORValue {
        let magnitude = boundaryUInt(using: &rng)
        return Bool.random(using: &rng) ? .unsignedInt(magnitude) : .negativeInt(magnitude)
    }

    static func key(using rng: inout SeededGenerator) -> CBORValue {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<6:
            let n = Int.random(in: 0...30, using: &rng)
            return .textString(String((0..<n).map { _ in "abcdefgh_".randomElement(using: &rng)! }))
        case 6..<8:
            return [.unsignedInt(0), .unsignedInt(23), .unsignedInt(24), .unsignedInt(70000), .negativeInt(0),
                    .negativeInt(24)].randomElement(using: &rng)!
        default:
            return .byteString((0..<Int.random(in: 0...33, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
    }

    static func float(using rng: inout SeededGenerator) -> CBORValue {
        let choices: [Double] = [0, -0.0, 1, 1.5, 65504, 100_000, 1e-7, 3.4028234663852886e38, 1e300,
                                 Double.random(in: -1e6...1e6, using: &rng), .infinity, -.infinity]
        return .float(choices.randomElement(using: &rng)!)
    }

    static func map(using rng: inout SeededGenerator, depth: Int) -> CBORValue {
        var entries: [CBORMapEntry] = []
        var seen = Set<CBORValue>()
        for _ in 0..<Int.random(in: 0...20, using: &rng) {
            let k = key(using: &rng)
            if seen.insert(k).inserted {
                entries.append(CBORMapEntry(key: k, value: any(using: &rng, depth: depth + 1)))
            }
        }
        return .map(entries)
    }

    static func any(using rng: inout SeededGenerator, depth: Int) -> CBORValue {
        let pick = Int.random(in: 0..<(depth < 4 ? 8 : 6), using: &rng)
        switch pick {
        case 0: return int(using: &rng)
        case 1: return .byteString(bytes(using: &rng))
        case 2: return .textString(text(using: &rng))
        case 3: return .bool(Bool.random(using: &rng))
        case 4: return .null
        case 5: return float(using: &rng)
        case 6: return .array((0..<[0, 1, 3, 24].randomElement(using: &rng)!).map { _ in any(using: &rng, depth: depth + 1) })
        default: return map(using: &rng, depth: depth)
        }
    }

    static func value(_ family: Family, using rng: inout SeededGenerator) -> CBORValue {
        switch family {
        case .int: return int(using: &rng)
        case .bytes: return .byteString(bytes(using: &rng, boundaries: true))
        case .text: return .textString(text(using: &rng, boundaries: true))
        case .map: return map(using: &rng, depth: 3)
        case .array: return .array((0..<Int.random(in: 0...30, using: &rng)).map { _ in any(using: &rng, depth: 3) })
        case .nested: return any(using: &rng, depth: 0)
        }
    }
}
