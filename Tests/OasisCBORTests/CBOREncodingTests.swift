import OasisCBOR
import Testing

@Suite("Canonical CBOR encoding")
struct CBOREncodingTests {
    func hex(_ value: some Encodable) throws -> String {
        Hex.encode(try CBOREncoder().encode(value))
    }

    @Test("integers take the shortest head at every width boundary")
    func integerHeads() throws {
        #expect(try hex(UInt64(0)) == "00")
        #expect(try hex(UInt64(23)) == "17")
        #expect(try hex(UInt64(24)) == "1818")
        #expect(try hex(UInt64(255)) == "18ff")
        #expect(try hex(UInt64(256)) == "190100")
        #expect(try hex(UInt64(65535)) == "19ffff")
        #expect(try hex(UInt64(65536)) == "1a00010000")
        #expect(try hex(UInt64(0xffff_ffff)) == "1affffffff")
        #expect(try hex(UInt64(0x1_0000_0000)) == "1b0000000100000000")
        #expect(try hex(Int64(-1)) == "20")
        #expect(try hex(Int64(-24)) == "37")
        #expect(try hex(Int64(-25)) == "3818")
        #expect(try hex(Int64.min) == "3b7fffffffffffffff")
        #expect(try hex(Int8.min) == "387f")
    }

    @Test("byte and text strings carry definite lengths; [UInt8] is a byte string")
    func strings() throws {
        #expect(try hex([UInt8]()) == "40")
        #expect(try hex([UInt8](repeating: 1, count: 24)).hasPrefix("5818"))
        #expect(try hex("") == "60")
        #expect(try hex("a") == "6161")
        #expect(try hex(String(repeating: "x", count: 256)).hasPrefix("790100"))
    }

    @Test("floats use the shortest exact width")
    func floats() throws {
        #expect(try hex(0.0) == "f90000")
        #expect(try hex(1.5) == "f93e00")
        #expect(try hex(65504.0) == "f97bff")
        #expect(try hex(100_000.0) == "fa47c35000")
        #expect(try hex(1.1) == "fb3ff199999999999a")
        #expect(try hex(Double.nan) == "f97e00")
        #expect(try hex(Double.infinity) == "f97c00")
    }

    @Test("map keys sort length-first, then bytewise, whatever the insertion order")
    func keyOrder() throws {
        // Message's keys come out as id, body, message_type, span_context.
        struct Envelope: Encodable {
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: AnyCodingKey.self)
                try c.encode([UInt8](), forKey: AnyCodingKey("span_context"))
                try c.encode(UInt8(1), forKey: AnyCodingKey("message_type"))
                try c.encode([String: UInt8](), forKey: AnyCodingKey("body"))
                try c.encode(UInt64(0), forKey: AnyCodingKey("id"))
            }
        }
        #expect(try hex(Envelope()) == "a46269640064626f6479a06c6d6573736167655f74797065016c7370616e5f636f6e7465787440")
        // Integer keys sort by encoded length too: 24 (1818) after 23 (17) and -1 (20).
        let map: [UInt64: Bool] = [24: true, 23: false, 1000: true]
        #expect(try hex(map) == "a317f41818f51903e8f5")
    }

    @Test("dictionaries with CBOR map keys become native maps, not arrays or text keys")
    func dictionaryKeys() throws {
        let byNumber: [UInt8: String] = [2: "b", 1: "a"]
        #expect(try hex(byNumber) == "a2016161026162")
        let back = try CBORDecoder().decode([UInt8: String].self, from: try CBOREncoder().encode(byNumber))
        #expect(back == byNumber)
    }

    @Test("omitempty leaves out zero values; nil can write null")
    func goTags() throws {
        struct Tagged: Encodable {
            var count: UInt32 = 0
            var name = ""
            var list: [UInt8] = []
            var pointer: [String]?
            var bytes: [UInt8] = []

            enum CodingKeys: String, CodingKey { case count, name, list, pointer, bytes }

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encodeOmitEmpty(count, forKey: .count)
                try c.encodeOmitEmpty(name, forKey: .name)
                try c.encodeOmitEmpty(list, forKey: .list)
                try c.encodeOrNull(pointer, forKey: .pointer)
                try c.encodeBytes(bytes, forKey: .bytes)
            }
        }
        #expect(try hex(Tagged()) == "a26562797465734067706f696e746572f6")
        #expect(try hex(Tagged(count: 1, name: "n", pointer: [])) == "a4646e616d65616e6562797465734065636f756e74016770" + "6f696e74657280")
    }

    @Test("a type that writes the same key twice fails to encode")
    func duplicateWrite() {
        struct Twice: Encodable {
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: AnyCodingKey.self)
                try c.encode(1, forKey: AnyCodingKey("a"))
                try c.encode(2, forKey: AnyCodingKey("a"))
            }
        }
        #expect(throws: CBORError.self) { try CBOREncoder().encode(Twice()) }
    }

    @Test("a raw map with a key twice fails to encode, naming that key")
    func duplicateRawKey() {
        // Sorted, the two "a" keys come first; the key in between in the input is not the one named.
        let value = CBORValue.map([
            CBORMapEntry(key: .textString("a"), value: .unsignedInt(1)),
            CBORMapEntry(key: .textString("zz"), value: .unsignedInt(2)),
            CBORMapEntry(key: .textString("a"), value: .unsignedInt(3)),
        ])
        #expect(throws: CBORError(.unencodable, "duplicate map key \"a\"")) { try value.encoded() }
    }

    @Test("NFC and NFD spellings of a text key are two keys, sorted by their bytes")
    func canonicallyEquivalentKeys() throws {
        // "é" as "e" + U+0301 (65 cc 81) and as U+00E9 (c3 a9): the shorter encoding first.
        let expected = "a262c3a9016365cc8102"
        let value = CBORValue.map([
            CBORMapEntry(key: .textString("e\u{301}"), value: .unsignedInt(2)),
            CBORMapEntry(key: .textString("\u{e9}"), value: .unsignedInt(1)),
        ])
        #expect(Hex.encode(try value.encoded()) == expected)
        #expect(try hex(value) == expected)
        struct Both: Encodable {
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: AnyCodingKey.self)
                try c.encode(UInt8(2), forKey: AnyCodingKey("e\u{301}"))
                try c.encode(UInt8(1), forKey: AnyCodingKey("\u{e9}"))
            }
        }
        #expect(try hex(Both()) == expected)
    }

    @Test("raw values pass through and re-encode canonically")
    func rawValues() throws {
        let unsorted = CBORValue.map([
            CBORMapEntry(key: .textString("bb"), value: .null),
            CBORMapEntry(key: .textString("a"), value: .array([.bool(true), .negativeInt(9)])),
        ])
        let bytes = try CBOREncoder().encode(unsorted)
        #expect(Hex.encode(bytes) == "a2616182f529626262f6")
        let decoded = try CBORDecoder().decode(CBORValue.self, from: bytes)
        #expect(try decoded.encoded() == bytes)
        #expect(decoded["a"] == .array([.bool(true), .negativeInt(9)]))
    }

    @Test("nested containers and super encoders are written in place")
    func nestedContainers() throws {
        struct Nested: Encodable {
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: AnyCodingKey.self)
                var inner = c.nestedContainer(keyedBy: AnyCodingKey.self, forKey: AnyCodingKey("m"))
                try inner.encode(true, forKey: AnyCodingKey("t"))
                var list = c.nestedUnkeyedContainer(forKey: AnyCodingKey("l"))
                try list.encode(UInt8(1))
                var sup = c.superEncoder(forKey: AnyCodingKey("s")).singleValueContainer()
                try sup.encode("x")
            }
        }
        #expect(try hex(Nested()) == "a3616c8101616da16174f561736178")
    }
}
