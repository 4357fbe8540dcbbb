import OasisCBOR
import OasisCommon
import Testing

/// spec/core.md §10, cases 1–18.
@Suite("Namespace")
struct NamespaceTests {
    let zeros48 = String(repeating: "0", count: 48)

    func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("a key-manager namespace parses with only its key-manager flag (1)")
    func keyManager() throws {
        let ns = try Namespace(hex: "4000000000000000ffffffffffffffffffffffffffffffffffffffffffffffff")
        #expect(ns.isKeyManager)
        #expect(!ns.isTest)
    }

    @Test("a flagless namespace parses (2)")
    func plain() throws {
        let ns = try Namespace(hex: "0000000000000000000000000000000000000000000000000000000000000001")
        #expect(!ns.isKeyManager && !ns.isTest)
    }

    @Test("a test namespace parses (3) and both flags may be set (4)")
    func testFlags() throws {
        #expect(try Namespace(hex: "8000000000000000" + zeros48).isTest)
        let both = try Namespace(hex: "c000000000000000" + zeros48)
        #expect(both.isTest && both.isKeyManager)
    }

    @Test("reserved flag bits are malformed (5, 6)")
    func reservedBits() {
        #expect(message { _ = try Namespace(hex: "2000000000000000" + zeros48) } == "malformed namespace")
        #expect(message { _ = try Namespace(hex: "0000000000000001" + zeros48) } == "malformed namespace")
    }

    @Test("31 or 33 bytes are malformed (7)")
    func wrongLength() {
        #expect(message { _ = try Namespace(hex: String(repeating: "00", count: 31)) } == "malformed namespace")
        #expect(message { _ = try Namespace(hex: String(repeating: "00", count: 33)) } == "malformed namespace")
        #expect(message { _ = try Namespace(bytes: [0, 1, 2, 3, 4]) } == "malformed namespace")
    }

    @Test("a bad hex character is the hex decoder's error, not malformed (8)")
    func badCharacter() throws {
        let text = try #require(message { _ = try Namespace(hex: "g" + String(repeating: "0", count: 63)) })
        #expect(text.contains("invalid byte"))
        #expect(text != "malformed namespace")
    }

    @Test("the invalid byte is quoted as Go's %#U quotes it: printable runes only, Latin-1 included")
    func invalidByteQuoting() {
        let rest = String(repeating: "0", count: 62)
        #expect(message { _ = try Namespace(hex: "0g" + rest) } == "encoding/hex: invalid byte: U+0067 'g'")
        #expect(message { _ = try Namespace(hex: "0 " + rest) } == "encoding/hex: invalid byte: U+0020 ' '")
        // Not printable: no quoted rune at all.
        #expect(message { _ = try Namespace(hex: "0\n" + rest) } == "encoding/hex: invalid byte: U+000A")
        #expect(message { _ = try Namespace(hex: "0\u{7f}" + rest) } == "encoding/hex: invalid byte: U+007F")
        // Go converts the byte, not the character, to a rune: "é" is c3 a9, so U+00C3 'Ã'.
        #expect(message { _ = try Namespace(hex: "0é" + rest) } == "encoding/hex: invalid byte: U+00C3 'Ã'")
        // U+00A0 (no-break space) and U+00AD (soft hyphen) are not printable in Go.
        #expect(message { _ = try Namespace(hex: "0\u{a0}" + rest) } == "encoding/hex: invalid byte: U+00C2 'Â'")
        #expect(Hex.DecodeError.invalidByte(0xa0).description == "encoding/hex: invalid byte: U+00A0")
        #expect(Hex.DecodeError.invalidByte(0xad).description == "encoding/hex: invalid byte: U+00AD")
        #expect(Hex.DecodeError.invalidByte(0x85).description == "encoding/hex: invalid byte: U+0085")
        #expect(Hex.DecodeError.invalidByte(0xff).description == "encoding/hex: invalid byte: U+00FF 'ÿ'")
    }

    @Test("an odd length is the hex decoder's odd-length error (9)")
    func oddLength() {
        #expect(message { _ = try Namespace(hex: String(repeating: "0", count: 63)) } == "encoding/hex: odd length hex string")
    }

    @Test("upper-case hex parses and prints back in lower case (10)")
    func upperCase() throws {
        let ns = try Namespace(hex: "4000000000000000" + String(repeating: "F", count: 48))
        #expect(ns.description == "4000000000000000" + String(repeating: "f", count: 48))
    }

    @Test("the empty hash's bytes are a malformed namespace, yet can be held unchecked (11)")
    func emptyHashBytes() throws {
        let bytes = Hash.empty.bytes
        #expect(message { _ = try Namespace(bytes: bytes) } == "malformed namespace")
        let held = Namespace(unchecked: Hash.empty.raw)
        #expect(held.bytes == bytes)
        #expect(!held.isValid)
    }

    @Test("a 5-byte input is refused and nothing is built (12)")
    func fiveBytes() {
        #expect(message { _ = try Namespace(bytes: [1, 2, 3, 4, 5]) } == "malformed namespace")
    }

    @Test("test namespaces derive from the seed's SHA-512/256 (13–15)")
    func testFromSeed() {
        #expect(Namespace.test(seed: "history test ns 1").description
            == "800000000000000076ab361daab63d01cba917c44f7478b748d85e3920a18c64")
        #expect(Namespace.test(seed: "history test ns 2").description
            == "800000000000000012f44b9a13eb8946a4c3158001be011067b48dd8a5bf0130")
        #expect(Namespace.test(seed: "runtime 1").description
            == "80000000000000009071f0f5eaa60330b15596490fffdd814b58fe11c5689381")
        #expect(Namespace.test(seed: "runtime 1", keyManager: true).description
            == "c0000000000000009071f0f5eaa60330b15596490fffdd814b58fe11c5689381")
    }

    @Test("NewNamespace with a reserved flag fails, and the unchecked form keeps the value (16)")
    func reservedNewNamespace() throws {
        let id = [UInt8](repeating: 7, count: 24)
        #expect(message { _ = try Namespace(id: id, flags: 1 << 61) } == "malformed namespace")
        let kept = try Namespace(uncheckedID: id, flags: 1 << 61)
        #expect(kept.bytes[0] == 0x20)
        #expect(!kept.isValid)
    }

    @Test("the text form is padded standard base64 (17)")
    func textForm() throws {
        #expect(Namespace(unchecked: .zero).base64 == "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        let km = try Namespace(hex: "4000000000000000ffffffffffffffffffffffffffffffffffffffffffffffff")
        #expect(km.base64 == "QAAAAAAAAAD///////////////////////////////8=")
        #expect(try Namespace(base64: km.base64) == km)
    }

    @Test("comparison with an absent namespace is false (18)")
    func equalNil() {
        let ns: Namespace? = nil
        #expect(Namespace.test(seed: "x") != ns)
    }

    @Test("CBOR carries a 32-byte byte string and refuses any other size or reserved bits")
    func cbor() throws {
        let ns = Namespace.test(seed: "cbor")
        let bytes = try CBOREncoder().encode(ns)
        #expect(bytes.prefix(2) == [0x58, 0x20])
        #expect(try CBORDecoder().decode(Namespace.self, from: bytes) == ns)
        let short = try CBOREncoder().encode([UInt8](repeating: 0, count: 31))
        #expect(throws: (any Error).self) { try CBORDecoder().decode(Namespace.self, from: short) }
        let reserved = try CBOREncoder().encode([0x20] + [UInt8](repeating: 0, count: 31))
        #expect(throws: (any Error).self) { try CBORDecoder().decode(Namespace.self, from: reserved) }
    }
}
