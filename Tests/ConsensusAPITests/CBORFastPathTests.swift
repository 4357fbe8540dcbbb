import ConsensusAPI
@testable import OasisCBOR
import OasisCommon
import Testing

/// The fast decode path (`CBORFastDecodable`) against the Codable path on the same bytes: the
/// fixtures, and every one-step mutation of them (a field removed, an unknown key added, a
/// value of the wrong kind or range, an array cut short or grown, truncations).
@Suite("CBOR fast decode path agrees with the Codable path")
struct CBORFastPathTests {
    static let descriptors: [RuntimeDescriptor] = [
        RuntimeDescriptor(), Fixtures.genesisTestRuntime(), Fixtures.keyManagerRuntime(), Fixtures.populated(),
    ]

    static let headers: [BlockHeader] = {
        let genesis = Block.genesis(namespace: .test(seed: "fast"), timestamp: 1_700_000_000)
        var signed = Block.empty(after: genesis, timestamp: 1_700_000_006, type: .normal).header
        signed.storageSignatures = [Signature(publicKey: .filled(lastByte: 3), signature: .zero)]
        var empty = signed
        empty.storageSignatures = []
        return [BlockHeader(), genesis.header, signed, empty]
    }()

    static let roundResults: [RoundResults] = [
        RoundResults(),
        RoundResults(messages: [MessageEvent(module: "test", code: 1, index: 0)]),
        RoundResults(
            messages: [MessageEvent(module: "test", code: 42, index: 1)],
            goodComputeEntities: [.filled(lastByte: 0), .filled(lastByte: 2)], badComputeEntities: [.filled(lastByte: 1)]),
    ]

    static let optionSets: [(String, CBORDecoder.Options)] = [("strict", .strict), ("trusted", .trusted)]

    /// What differs between the two paths on `bytes`, or nil when they agree: both succeed
    /// with equal values, or both fail with the same kind of error (a non-CBOR error of the
    /// Codable path, such as the `DecodingError` types throw for bytes they refuse, is either
    /// the same error or `.invalidValue` on the fast path). The public `decode` must give exactly the Codable path's result or error.
    static func disagreement<T: Decodable & CBORFastDecodable & Equatable>(
        _ type: T.Type, _ bytes: [UInt8], _ options: CBORDecoder.Options
    ) -> String? {
        var codableOptions = options
        codableOptions.usesFastDecoding = false
        let codable = Result { try CBORDecoder(options: codableOptions).decode(T.self, from: bytes) }
        let fast = Result { try CBORDecoder(options: options).decodeFastOnly(T.self, from: bytes) }
        let chosen = Result { try CBORDecoder(options: options).decode(T.self, from: bytes) }
        switch (codable, fast) {
        case (.success(let a), .success(let b)):
            if a != b { return "values differ: codable \(a), fast \(b)" }
        case (.failure(let a), .failure(let b)):
            let fastKind = (b as? CBORError)?.kind
            if let a = a as? CBORError {
                if a.kind != fastKind { return "error kinds differ: codable \(a), fast \(b)" }
            } else if fastKind != .invalidValue && "\(a)" != "\(b)" {
                return "codable threw \(a), fast threw \(b)"
            }
        case (.success, .failure(let b)):
            return "only the fast path failed: \(b)"
        case (.failure(let a), .success):
            return "only the Codable path failed: \(a)"
        }
        switch (codable, chosen) {
        case (.success(let a), .success(let b)) where a == b: return nil
        case (.failure(let a), .failure(let b)) where "\(a)" == "\(b)": return nil
        default: return "decode gave \(chosen), the Codable path \(codable)"
        }
    }

    /// Values that stand in for any item: each kind, and integers around the type limits.
    static let replacements: [CBORValue] = [
        .null, .undefined, .bool(true), .float(1.5), .unsignedInt(0), .unsignedInt(7), .unsignedInt(300),
        .unsignedInt(70_000), .unsignedInt(1 << 40), .unsignedInt(.max), .negativeInt(0), .negativeInt(1 << 40),
        .textString(""), .textString("x"), .byteString([]), .byteString([0]), .byteString([0, 1]),
        .byteString([UInt8](repeating: 0, count: 32)), .byteString([UInt8](repeating: 0xff, count: 32)),
        .byteString([UInt8](repeating: 0, count: 64)), .array([]), .array([.unsignedInt(1)]), .map([]),
        .map([CBORMapEntry(key: .textString("zz"), value: .null)]),
    ]

    /// Every one-step change of `value` at any depth.
    static func mutations(of value: CBORValue) -> [CBORValue] {
        var out: [CBORValue] = []
        switch value {
        case .map(let entries):
            out.append(.map(entries + [CBORMapEntry(key: .textString("zz_unknown"), value: .unsignedInt(1))]))
            out.append(.map(entries + [CBORMapEntry(key: .unsignedInt(99), value: .unsignedInt(1))]))
            for i in entries.indices {
                var removed = entries
                removed.remove(at: i)
                out.append(.map(removed))
                var rekeyed = entries
                rekeyed[i].key = .byteString([1])
                out.append(.map(rekeyed))
                for replacement in replacements + mutations(of: entries[i].value) {
                    var changed = entries
                    changed[i].value = replacement
                    out.append(.map(changed))
                }
            }
        case .array(let items):
            out.append(.array(Array(items.dropLast())))
            out.append(.array(items + [items.last ?? .null]))
            for i in items.indices {
                for replacement in replacements + mutations(of: items[i]) {
                    var changed = items
                    changed[i] = replacement
                    out.append(.array(changed))
                }
            }
        default:
            break
        }
        return out
    }

    /// Checks the value's bytes, their truncations and all their mutations under both options.
    static func checkCorpus<T: Codable & CBORFastDecodable & Equatable>(_ values: [T]) throws -> [String] {
        var failures: [String] = []
        var checked = 0
        for value in values {
            let bytes = try CBOREncoder().encode(value)
            let tree = try CBORDecoder().decode(CBORValue.self, from: bytes)
            var inputs = [bytes] + (0..<bytes.count).map { Array(bytes.prefix($0)) }
            for mutant in mutations(of: tree) { inputs.append(try mutant.encoded()) }
            for input in inputs {
                for (name, options) in optionSets {
                    checked += 1
                    if let problem = disagreement(T.self, input, options) {
                        failures.append("\(T.self) \(name) \(Hex.encode(input).prefix(120))…: \(problem)")
                    }
                }
            }
        }
        #expect(checked > values.count * 20)
        return failures
    }

    @Test("block headers: both paths agree on the fixtures and every mutation")
    func headers() throws {
        let failures = try Self.checkCorpus(Self.headers)
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
    }

    @Test("blocks: both paths agree on the fixtures and every mutation")
    func blocks() throws {
        let failures = try Self.checkCorpus(Self.headers.map(Block.init(header:)))
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
    }

    @Test("round results: both paths agree on the fixtures and every mutation")
    func roundResults() throws {
        let failures = try Self.checkCorpus(Self.roundResults)
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
    }

    @Test("runtime descriptors: both paths agree on the fixtures and every mutation")
    func descriptors() throws {
        let failures = try Self.checkCorpus(Self.descriptors)
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
    }

    @Test("the fast path reads the fixtures to the values they were encoded from")
    func fixturesRoundTrip() throws {
        for descriptor in Self.descriptors {
            let bytes = try CBOREncoder().encode(descriptor)
            #expect(try CBORDecoder().decodeFastOnly(RuntimeDescriptor.self, from: bytes) == descriptor)
        }
        for header in Self.headers {
            let bytes = try CBOREncoder().encode(header)
            #expect(try CBORDecoder().decodeFastOnly(BlockHeader.self, from: bytes) == header)
        }
        for results in Self.roundResults {
            let bytes = try CBOREncoder().encode(results)
            #expect(try CBORDecoder().decodeFastOnly(RoundResults.self, from: bytes) == results)
        }
    }

    @Test("an unknown key is refused in strict mode with the Codable path's error, skipped when trusted")
    func unknownKey() throws {
        guard case .map(var entries) = try CBORDecoder().decode(
            CBORValue.self, from: CBOREncoder().encode(Fixtures.populated()))
        else { Issue.record("a descriptor is a map"); return }
        entries.append(CBORMapEntry(key: .textString("future_field"), value: .map([])))
        let bytes = try CBORValue.map(entries).encoded()

        var codableOptions = CBORDecoder.Options.strict
        codableOptions.usesFastDecoding = false
        let error = #expect(throws: CBORError.self) { try CBORDecoder().decode(RuntimeDescriptor.self, from: bytes) }
        let codableError = #expect(throws: CBORError.self) {
            try CBORDecoder(options: codableOptions).decode(RuntimeDescriptor.self, from: bytes)
        }
        #expect(error?.kind == .unknownField)
        #expect(error == codableError)
        #expect(throws: CBORError.self) { try CBORDecoder().decodeFastOnly(RuntimeDescriptor.self, from: bytes) }

        let trusted = CBORDecoder(options: .trusted)
        #expect(try trusted.decodeFastOnly(RuntimeDescriptor.self, from: bytes) == Fixtures.populated())
        #expect(try trusted.decode(RuntimeDescriptor.self, from: bytes) == Fixtures.populated())
    }

    @Test("absent and null fields read as Go zero values on the fast path")
    func zeroValues() throws {
        let empty = try CBORValue.map([]).encoded()
        #expect(try CBORDecoder().decodeFastOnly(BlockHeader.self, from: empty) == BlockHeader())
        #expect(try CBORDecoder().decodeFastOnly(RuntimeDescriptor.self, from: empty) == RuntimeDescriptor())
        let nulls = try CBORValue.map([
            CBORMapEntry(key: .textString("round"), value: .null),
            CBORMapEntry(key: .textString("namespace"), value: .undefined),
            CBORMapEntry(key: .textString("storage_signatures"), value: .null),
        ]).encoded()
        #expect(try CBORDecoder().decodeFastOnly(BlockHeader.self, from: nulls) == BlockHeader())
    }
}
