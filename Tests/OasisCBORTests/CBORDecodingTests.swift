import Foundation
import OasisCBOR
import Testing

@Suite("Strict CBOR decoding")
struct CBORDecodingTests {
    struct Point: Codable, Equatable {
        var x: UInt32
        var y: Int32

        enum CodingKeys: String, CodingKey { case x, y }

        init(x: UInt32, y: Int32) {
            self.x = x
            self.y = y
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            x = try c.decode(UInt32.self, forKey: .x, orZero: 0)
            y = try c.decode(Int32.self, forKey: .y, orZero: 0)
        }
    }

    struct Wrapper: Codable, Equatable {
        var point: Point
        var points: [Point]
    }

    func kind(of bytes: [UInt8], as type: (some Decodable).Type = CBORValue.self,
              options: CBORDecoder.Options = .strict) -> CBORError.Kind? {
        do {
            _ = try CBORDecoder(options: options).decode(type, from: bytes)
            return nil
        } catch let error as CBORError {
            return error.kind
        } catch {
            return nil
        }
    }

    func error(of bytes: [UInt8], as type: (some Decodable).Type) -> CBORError? {
        do {
            _ = try CBORDecoder().decode(type, from: bytes)
            return nil
        } catch {
            return error as? CBORError
        }
    }

    @Test("empty input is an unexpected end")
    func empty() {
        #expect(kind(of: []) == .unexpectedEnd)
    }

    @Test("truncated items fail with the offset where input ran out")
    func truncated() throws {
        #expect(kind(of: [0x19, 0x01]) == .unexpectedEnd)  // u16 with one byte
        #expect(kind(of: [0x43, 0x01, 0x02]) == .unexpectedEnd)  // 3-byte string, 2 given
        #expect(kind(of: [0x82, 0x01]) == .unexpectedEnd)  // array of 2, 1 given
        #expect(kind(of: [0xa1, 0x61, 0x61]) == .unexpectedEnd)  // map value missing
        // A huge claimed length fails before any allocation.
        #expect(kind(of: [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) == .unexpectedEnd)
        #expect(kind(of: [0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]) == .unexpectedEnd)
        // The claimed length is checked against what is left before reading any element.
        let e = try #require(error(of: [0x82, 0x01], as: CBORValue.self))
        #expect(e.offset == 0)
        #expect(e.description.contains("length 2 exceeds the 1 byte(s) left"))
        #expect(error(of: [0x81, 0x81], as: CBORValue.self)?.offset == 1)  // the inner array
    }

    @Test("a byte after the item is refused")
    func trailingByte() {
        #expect(kind(of: [0x01, 0x00]) == .trailingBytes)
        #expect(kind(of: [0xa0, 0xa0]) == .trailingBytes)
    }

    @Test("duplicate map keys are refused, in small and large maps")
    func duplicateKeys() {
        #expect(kind(of: [0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02]) == .duplicateKey)
        var large: [UInt8] = [0xb8, 20]
        for i in 0..<19 { large += [0x18, UInt8(24 + i), 0x00] }
        large += [0x18, 24, 0x01]  // same key as the first
        #expect(kind(of: large) == .duplicateKey)
    }

    @Test("keys that are equal as values are duplicates even when their heads differ")
    func duplicateNonShortestKeys() {
        // "a" written with a one-byte head and with a needless length byte.
        #expect(kind(of: [0xa2, 0x61, 0x61, 0x01, 0x78, 0x01, 0x61, 0x02]) == .duplicateKey)
        // 1 written shortest and as a u8 argument.
        #expect(kind(of: [0xa2, 0x01, 0x00, 0x18, 0x01, 0x00]) == .duplicateKey)
        // Same length, different text: not duplicates.
        #expect(kind(of: [0xa2, 0x61, 0x61, 0x01, 0x61, 0x62, 0x02]) == nil)
    }

    @Test("a duplicate after keys in canonical order is found, whatever its head")
    func duplicateAfterAscendingKeys() {
        // "a", "b", "c" ascending, then "b" again: shortest head and a needless length byte.
        let ascending: [UInt8] = [0x61, 0x61, 0x01, 0x61, 0x62, 0x02, 0x61, 0x63, 0x03]
        #expect(kind(of: [0xa3] + ascending) == nil)
        #expect(kind(of: [0xa4] + ascending + [0x61, 0x62, 0x04]) == .duplicateKey)
        #expect(kind(of: [0xa4] + ascending + [0x78, 0x01, 0x62, 0x04]) == .duplicateKey)
        // A longer key sorts later; then the first key again.
        #expect(kind(of: [0xa5] + ascending + [0x62, 0x61, 0x61, 0x04, 0x61, 0x61, 0x05]) == .duplicateKey)
        // Integers 1, 2, 3, then 2 written with a u8 argument; mixed key kinds, then a repeat.
        #expect(kind(of: [0xa4, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x18, 0x02, 0x00]) == .duplicateKey)
        #expect(kind(of: [0xa3, 0x01, 0x00, 0x61, 0x61, 0x00, 0x01, 0x00]) == .duplicateKey)
        // Byte-string keys ascending, then the first one again.
        #expect(kind(of: [0xa3, 0x41, 0x01, 0x00, 0x41, 0x02, 0x00, 0x41, 0x01, 0x00]) == .duplicateKey)
    }

    @Test("integer keys equal as values are duplicates in typed dictionaries, on both paths")
    func duplicateNonShortestIntegerKeys() {
        var codable = CBORDecoder.Options.strict
        codable.usesFastDecoding = false
        // 1 written shortest and as a u8 argument, with different values: neither value wins.
        let one: [UInt8] = [0xa2, 0x01, 0x00, 0x18, 0x01, 0x01]
        #expect(kind(of: one, as: [UInt64: UInt8].self) == .duplicateKey)
        #expect(kind(of: one, as: [UInt64: UInt8].self, options: codable) == .duplicateKey)
        #expect(kind(of: one, as: [UInt64: UInt8].self, options: .trusted) == .duplicateKey)
        #expect(kind(of: one, as: [UInt8: CBORValue].self) == .duplicateKey)
        // 2 as a u16 argument after 1 and 2: in canonical order until the repeat.
        let two: [UInt8] = [0xa3, 0x01, 0x00, 0x02, 0x00, 0x19, 0x00, 0x02, 0x01]
        #expect(kind(of: two, as: [UInt32: UInt8].self) == .duplicateKey)
        #expect(kind(of: two, as: [UInt32: UInt8].self, options: codable) == .duplicateKey)
        // -1 shortest and as a u8 argument, in a struct that ignores unknown keys.
        let minusOne: [UInt8] = [0xa2, 0x20, 0x00, 0x38, 0x00, 0x01]
        #expect(kind(of: minusOne, as: Point.self, options: .trusted) == .duplicateKey)
        // Different integers with different heads are not duplicates.
        #expect(kind(of: [0xa2, 0x01, 0x00, 0x18, 0x02, 0x01], as: [UInt64: UInt8].self) == nil)
        #expect(kind(of: [0xa2, 0x20, 0x00, 0x38, 0x01, 0x01], as: Point.self, options: .trusted) == nil)
    }

    @Test("text keys compare as bytes: NFC and NFD spellings of a key are two keys")
    func canonicallyEquivalentTextKeys() throws {
        let nfc: [UInt8] = [0x62, 0xc3, 0xa9]  // "é" as U+00E9
        let nfd: [UInt8] = [0x63, 0x65, 0xcc, 0x81]  // "é" as "e" + U+0301
        let bytes: [UInt8] = [0xa2] + nfc + [0x01] + nfd + [0x02]
        #expect(CBORValue.textString("\u{e9}") != .textString("e\u{301}"))
        #expect(Set<CBORValue>([.textString("\u{e9}"), .textString("e\u{301}")]).count == 2)
        // A raw value keeps both keys and writes them back as they came.
        let value = try CBORValue(decoding: bytes)
        #expect(try value.encoded() == bytes)
        #expect(try CBORDecoder().decode(CBORValue.self, from: bytes) == value)
        #expect(value["\u{e9}"] == .unsignedInt(1))
        #expect(value["e\u{301}"] == .unsignedInt(2))
        // The same in a map of more than 16 pairs, where keys go through a set.
        var large: [UInt8] = [0xb1]
        for letter in UInt8(ascii: "a")...UInt8(ascii: "o") { large += [0x61, letter, 0x00] }
        large += nfc + [0x01] + nfd + [0x02]
        #expect(try CBORValue(decoding: large).encoded() == large)
        #expect(try CBORDecoder().decode(CBORValue.self, from: large).encoded() == large)
        // A Swift dictionary cannot hold both: the map is refused, on both paths, rather than
        // one entry dropped.
        var codable = CBORDecoder.Options.strict
        codable.usesFastDecoding = false
        for options in [CBORDecoder.Options.strict, codable, .trusted] {
            #expect(kind(of: bytes, as: [String: UInt8].self, options: options) == .duplicateKey)
            #expect(kind(of: bytes, as: [String: CBORValue].self, options: options) == .duplicateKey)
            #expect(kind(of: large, as: [String: UInt8].self, options: options) == .duplicateKey)
            #expect(kind(of: [0xa1, 0x61, 0x6d] + bytes, as: [String: [String: UInt8]].self, options: options)
                == .duplicateKey)
        }
        let nested = try #require(error(of: [0xa1, 0x61, 0x6d] + bytes, as: [String: [String: UInt8]].self))
        #expect(nested.kind == .duplicateKey)
        #expect(nested.offset == 8)  // the second spelling
        #expect(nested.path?.hasPrefix("\"m\".") == true)
    }

    @Test("float keys compare as their canonical encodings: 0.0 and -0.0 are two keys, two NaN keys are one")
    func floatKeys() throws {
        #expect(CBORValue.float(0.0) != .float(-0.0))
        #expect(CBORValue.float(.nan) == .float(.nan))
        #expect(CBORValue.float(.nan) == .float(Double(nan: 5, signaling: false)))
        #expect(Set<CBORValue>([.float(0.0), .float(-0.0), .float(.nan), .float(-.nan)]).count == 3)
        let zeros: [UInt8] = [0xa2, 0xf9, 0x00, 0x00, 0x01, 0xf9, 0x80, 0x00, 0x02]
        // The canonical NaN and one with a payload, which is written back as the canonical one.
        let nans: [UInt8] = [0xa2, 0xf9, 0x7e, 0x00, 0x01, 0xf9, 0x7e, 0x01, 0x02]
        // The same in maps of more than 16 pairs, where keys go through a set.
        var prefix: [UInt8] = [0xb1]
        for letter in UInt8(ascii: "a")...UInt8(ascii: "o") { prefix += [0x61, letter, 0x00] }
        let largeZeros = prefix + zeros.dropFirst()
        let largeNans = prefix + nans.dropFirst()
        for bytes in [zeros, largeZeros] {
            let value = try CBORValue(decoding: bytes)
            #expect(try value.encoded() == bytes)
            #expect(try CBORDecoder().decode(CBORValue.self, from: bytes) == value)
        }
        for bytes in [nans, largeNans] {
            #expect(throws: CBORError.self) { try CBORValue(decoding: bytes) }
            #expect(kind(of: bytes, as: CBORValue.self) == .duplicateKey)
        }
    }

    @Test("decoding from a parsed value gives what decoding the bytes gives")
    func fromValue() throws {
        let point = Point(x: 7, y: -3)
        let bytes = try CBOREncoder().encode(point)
        let value = try CBORValue(decoding: bytes)
        #expect(try CBORDecoder().decode(Point.self, from: value) == point)
        #expect(try CBORDecoder().decode(Point.self, from: bytes) == point)
    }

    @Test("indefinite lengths are refused for every kind")
    func indefinite() {
        for initial: UInt8 in [0x5f, 0x7f, 0x9f, 0xbf] {
            #expect(kind(of: [initial, 0xff]) == .indefiniteLength)
        }
        #expect(kind(of: [0xff]) == .malformed)  // a stray break
    }

    @Test("tags are refused")
    func tags() {
        #expect(kind(of: [0xc1, 0x1a, 0x51, 0x4b, 0x67, 0xb0]) == .tag)  // epoch time tag
        #expect(kind(of: [0xd8, 0x20, 0x60]) == .tag)
    }

    @Test("reserved additional information is malformed")
    func reserved() {
        #expect(kind(of: [0x1c]) == .malformed)
        #expect(kind(of: [0x5d]) == .malformed)
        #expect(kind(of: [0xf8, 0x10]) == .malformed)  // two-byte simple value below 32
    }

    @Test("text must be valid UTF-8")
    func invalidUTF8() {
        #expect(kind(of: [0x62, 0xc3, 0x28]) == .invalidUTF8)
    }

    @Test("32 levels of nesting are fine, 33 are too deep")
    func depth() throws {
        let ok = [UInt8](repeating: 0x81, count: 31) + [0x80]
        _ = try CBORValue(decoding: ok)
        let deep = [UInt8](repeating: 0x81, count: 32) + [0x80]
        #expect(kind(of: deep) == .depthExceeded)
        let deepMaps = [UInt8](repeating: 0, count: 0) + Array(repeating: [0xa1, 0x60], count: 33).flatMap { $0 } + [0x00]
        #expect(kind(of: deepMaps) == .depthExceeded)
    }

    @Test("arrays and maps longer than 131,072 are refused unless trusted")
    func sizeLimits() throws {
        var big: [UInt8] = [0x9a, 0x00, 0x02, 0x00, 0x01]  // 131,073 elements
        big += [UInt8](repeating: 0x00, count: 131_073)
        #expect(kind(of: big) == .tooManyElements)
        let value = try CBORValue(decoding: big, options: .trusted)
        guard case .array(let items) = value else { Issue.record("not an array"); return }
        #expect(items.count == 131_073)
        var exact: [UInt8] = [0x9a, 0x00, 0x02, 0x00, 0x00]
        exact += [UInt8](repeating: 0x00, count: 131_072)
        _ = try CBORValue(decoding: exact)
    }

    @Test("an unknown field is refused strictly and ignored when trusted, naming the key and path")
    func unknownField() throws {
        let bytes = try CBOREncoder().encode(CBORValue.map([
            CBORMapEntry(key: .textString("point"), value: .map([
                CBORMapEntry(key: .textString("x"), value: .unsignedInt(1)),
                CBORMapEntry(key: .textString("zz"), value: .unsignedInt(2)),
            ])),
            CBORMapEntry(key: .textString("points"), value: .array([])),
        ]))
        let e = try #require(error(of: bytes, as: Wrapper.self))
        #expect(e.kind == .unknownField)
        #expect(e.path == "point")
        #expect(e.description.contains("\"zz\""))
        let trusted = try CBORDecoder(options: .trusted).decode(Wrapper.self, from: bytes)
        #expect(trusted == Wrapper(point: Point(x: 1, y: 0), points: []))
    }

    @Test("type mismatches and range errors name the field")
    func mismatches() throws {
        let bytes = try CBOREncoder().encode(CBORValue.map([
            CBORMapEntry(key: .textString("point"), value: .map([])),
            CBORMapEntry(key: .textString("points"), value: .array([
                .map([CBORMapEntry(key: .textString("x"), value: .negativeInt(0))]),
            ])),
        ]))
        let e = try #require(error(of: bytes, as: Wrapper.self))
        #expect(e.kind == .invalidValue)
        #expect(e.path == "points[0].x")

        let wrongKind = try CBOREncoder().encode(CBORValue.map([
            CBORMapEntry(key: .textString("point"), value: .textString("no")),
        ]))
        #expect(error(of: wrongKind, as: Wrapper.self)?.kind == .typeMismatch)
    }

    @Test("missing keys take Go's zero values when the type says so")
    func missingIsZero() throws {
        #expect(try CBORDecoder().decode(Point.self, from: [0xa0]) == Point(x: 0, y: 0))
        // Synthesized Codable still requires its keys, with a clear error.
        #expect(kind(of: [0xa1, 0x65, 0x70, 0x6f, 0x69, 0x6e, 0x74, 0xa0], as: Wrapper.self) == .missingField)
    }

    @Test("integers decode across widths and signs")
    func integers() throws {
        let d = CBORDecoder()
        #expect(try d.decode(UInt64.self, from: [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) == .max)
        #expect(try d.decode(Int64.self, from: [0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) == .min)
        #expect(try d.decode(Int8.self, from: [0x38, 0x7f]) == -128)
        #expect(kind(of: [0x38, 0x80], as: Int8.self) == .invalidValue)
        #expect(kind(of: [0x20], as: UInt8.self) == .invalidValue)
        #expect(kind(of: [0x19, 0x01, 0x00], as: UInt8.self) == .invalidValue)
    }

    @Test("the most negative CBOR integer, -2^64, is named exactly in errors and JSON keys")
    func mostNegativeInteger() throws {
        let lowest: [UInt8] = [0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        #expect(error(of: lowest, as: Int64.self)?.detail == "-18446744073709551616 does not fit Int64")
        let twice = [0xa2] + lowest + [0xf6] + lowest + [0xf6]
        #expect(error(of: twice, as: CBORValue.self)?.detail == "key -18446744073709551616")
        let value = CBORValue.map([CBORMapEntry(key: .negativeInt(.max), value: .null)])
        let json = try JSONEncoder().encode(value)
        #expect(String(decoding: json, as: UTF8.self) == #"{"-18446744073709551616":null}"#)
    }

    @Test("byte fields accept null as empty, as Go does")
    func nullBytes() throws {
        #expect(try CBORDecoder().decode([UInt8].self, from: [0xf6]) == [])
        #expect(try CBORDecoder().decode(GoBytes.self, from: [0xf6]).bytes == [])
        #expect(kind(of: [0x80], as: [UInt8].self) == .typeMismatch)
    }

    @Test("malformed input of any shape never crashes the decoder")
    func fuzzish() {
        var rng = SeededGenerator(seed: 1)
        for _ in 0..<20_000 {
            let n = Int.random(in: 0...24, using: &rng)
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? CBORValue(decoding: bytes)
            _ = try? CBORDecoder().decode(Wrapper.self, from: bytes)
        }
    }
}
