import ConsensusAPI
import Foundation
import GRDB
import OasisCBOR
import OasisCommon
@testable import RuntimeHistory
import Testing

/// The history's direct CBOR codec must agree byte for byte with the generic codec.
@Suite("Annotated block codec")
struct AnnotatedBlockCodecTests {
    static func sample(_ seed: UInt64, signatures: Int?, height: Int64, hasBlock: Bool = true) -> AnnotatedBlock {
        var state = seed | 1
        func bytes(_ n: Int) -> [UInt8] {
            (0..<n).map { _ in
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                return UInt8(truncatingIfNeeded: state)
            }
        }
        guard hasBlock else { return AnnotatedBlock(consensusHeight: height, block: nil) }
        let header = BlockHeader(
            version: UInt16(truncatingIfNeeded: state), namespace: Namespace.test(seed: "codec \(seed)"),
            round: state >> UInt64(seed % 64), timestamp: state >> 3, headerType: HeaderType(rawValue: UInt8(seed % 6)),
            previousHash: try! Hash(bytes: bytes(32)), ioRoot: try! Hash(bytes: bytes(32)),
            stateRoot: try! Hash(bytes: bytes(32)), messagesHash: .empty,
            storageSignatures: signatures.map { count in
                (0..<count).map { _ in
                    Signature(publicKey: try! PublicKey(bytes: bytes(32)), signature: try! RawSignature(bytes: bytes(64)))
                }
            })
        return AnnotatedBlock(consensusHeight: height, block: Block(header: header))
    }

    static let samples: [AnnotatedBlock] = [
        sample(1, signatures: nil, height: 0),
        sample(2, signatures: 0, height: 1),
        sample(3, signatures: 1, height: 23),
        sample(4, signatures: 6, height: 24),
        sample(5, signatures: 30, height: 65_536),
        sample(6, signatures: 2, height: Int64.max),
        sample(7, signatures: 2, height: -1),
        sample(9, signatures: nil, height: 5, hasBlock: false),
        AnnotatedBlock(consensusHeight: 40, block: Block.genesis(namespace: .test(seed: "codec"), timestamp: 0)),
    ]

    @Test("encoding matches the generic canonical encoder byte for byte",
          arguments: samples + [sample(8, signatures: 2, height: Int64.min)])
    func encodeMatches(_ block: AnnotatedBlock) throws {
        #expect(AnnotatedBlockCodec.encode(block) == (try CBOREncoder().encode(block)))
    }

    @Test("decoding gives what the generic decoder gives", arguments: samples)
    func decodeMatches(_ block: AnnotatedBlock) throws {
        let bytes = try CBOREncoder().encode(block)
        #expect(AnnotatedBlockCodec.decode(bytes) == block)
        #expect(try CBORDecoder(options: .trusted).decode(AnnotatedBlock.self, from: bytes) == block)
    }

    @Test("anything but the canonical layout is left to the generic decoder")
    func declinesOtherLayouts() throws {
        var invalid = Self.samples[3]
        invalid.block?.header.namespace = Namespace(unchecked: Bytes32([UInt8](repeating: 0xff, count: 32))!)
        #expect(AnnotatedBlockCodec.decode(AnnotatedBlockCodec.encode(invalid)) == nil)  // reserved flags
        let bytes = try CBOREncoder().encode(Self.samples[3])
        #expect(AnnotatedBlockCodec.decode(bytes + [0]) == nil)  // trailing byte
        #expect(AnnotatedBlockCodec.decode(Array(bytes.dropLast())) == nil)  // truncated
        #expect(AnnotatedBlockCodec.decode([]) == nil)
        // An extra field: a map of three pairs.
        var extra = bytes
        extra[0] = 0xa3
        extra += [0x61, 0x7a, 0x00]
        #expect(AnnotatedBlockCodec.decode(extra) == nil)
    }

    @Test("the history still reads a block stored in another valid CBOR layout")
    func historyFallsBack() async throws {
        try await withTemporaryDirectory { dir in
            let id = Namespace.test(seed: "codec fallback ns")
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.commit(annotated(id, round: 4, height: 9), roundResults: nil)
            // Rewrite the row with the two keys swapped (valid CBOR, not canonical order).
            let other = [0xa2, 0x70] + Array("consensus_height".utf8) + [0x09, 0x65] + Array("block".utf8)
                + (try CBOREncoder().encode(makeBlock(id, round: 4)))
            #expect(AnnotatedBlockCodec.decode(other) == nil)
            let db = try DatabaseQueue(path: dir + "/history.sqlite")
            try await db.write { try $0.execute(sql: "UPDATE rounds SET block = ? WHERE round = 4", arguments: [Data(other)]) }
            try db.close()
            #expect(try await history.annotatedBlock(round: 4) == annotated(id, round: 4, height: 9))
        }
    }
}
