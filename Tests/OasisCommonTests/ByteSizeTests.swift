import OasisCommon
import Testing

@Suite("Byte sizes in configuration text")
struct ByteSizeTests {
    @Test("a number of bytes, or a whole number of KiB, MiB, GiB or TiB in any case")
    func parses() {
        let cases: [(String, UInt64)] = [
            ("0", 0), ("1073741824", 1 << 30), ("1073741824B", 1 << 30), ("1048576KiB", 1 << 30), ("1024MiB", 1 << 30),
            ("1GiB", 1 << 30), ("1gib", 1 << 30), ("2 GiB", 2 << 30), (" 512MiB ", 512 << 20), ("1TiB", 1 << 40),
            ("16777215B", 16_777_215),
        ]
        for (text, bytes) in cases {
            #expect(ByteSize.parse(text) == bytes, "\(text)")
        }
    }

    @Test("fractions, decimal units, signs, stray text and sizes past UInt64.max are refused")
    func refuses() {
        for text in ["", "GiB", "1.5GiB", "2GB", "2G", "-1", "+1", "1 GiB x", "1e9", "0x10", "16777216TiB", "99999999999999999999"] {
            #expect(ByteSize.parse(text) == nil, "\(text)")
        }
    }

    @Test("text is in the largest unit that divides the size, and reads back exactly")
    func text() {
        let cases: [(UInt64, String)] = [
            (0, "0"), (1000, "1000B"), (1024, "1KiB"), (1536 << 20, "1536MiB"), (1 << 30, "1GiB"), (3 << 40, "3TiB"),
            (UInt64.max, "\(UInt64.max)B"),
        ]
        for (bytes, text) in cases {
            #expect(ByteSize.text(bytes) == text)
            #expect(ByteSize.parse(text) == bytes)
        }
    }
}
