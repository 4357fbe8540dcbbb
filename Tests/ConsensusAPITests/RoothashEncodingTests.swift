import ConsensusAPI
import OasisCBOR
import OasisCommon
import Testing

/// Vectors from oasis-core's roothash tests (spec/core.md §10, cases 72–79).
@Suite("Roothash encodings")
struct RoothashEncodingTests {
    let encoder = CBOREncoder()
    let decoder = CBORDecoder()

    func base64(_ value: some Encodable) throws -> String {
        Base64.encode(try encoder.encode(value))
    }

    func key(_ n: UInt8) -> PublicKey { .filled(lastByte: n) }

    @Test("empty round results encode as an empty map (72)")
    func emptyRoundResults() throws {
        #expect(try base64(RoundResults()) == "oA==")
    }

    @Test("a message with index 0 leaves the index out (73)")
    func oneMessage() throws {
        let results = RoundResults(messages: [MessageEvent(module: "test", code: 1, index: 0)])
        #expect(try base64(results) == "oWhtZXNzYWdlc4GiZGNvZGUBZm1vZHVsZWR0ZXN0")
    }

    @Test("messages with good compute entities (74)")
    func goodEntities() throws {
        let results = RoundResults(
            messages: [MessageEvent(module: "test", code: 42, index: 1)],
            goodComputeEntities: [key(0), key(1), key(2)])
        #expect(
            try base64(results)
                == "omhtZXNzYWdlc4GjZGNvZGUYKmVpbmRleAFmbW9kdWxlZHRlc3R1Z29vZF9jb21wdXRlX2VudGl0aWVzg1ggAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABYIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABWCAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAg=="
        )
    }

    @Test("messages with good and bad compute entities (75)")
    func goodAndBadEntities() throws {
        let results = RoundResults(
            messages: [MessageEvent(module: "test", code: 42, index: 1)],
            goodComputeEntities: [key(0), key(2)], badComputeEntities: [key(1)])
        let expected =
            "o2htZXNzYWdlc4GjZGNvZGUYKmVpbmRleAFmbW9kdWxlZHRlc3R0YmFkX2NvbXB1dGVfZW50aXRpZXOBWCAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAXVnb29kX2NvbXB1dGVfZW50aXRpZXOCWCAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAFggAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAI="
        #expect(try base64(results) == expected)
        let bytes = Base64.decode(expected)!
        let decoded = try decoder.decode(RoundResults.self, from: bytes)
        #expect(decoded == results)
        #expect(try encoder.encode(decoded) == bytes)
    }

    @Test("the all-zero header hashes to the Go vector (76)")
    func zeroHeaderHash() {
        #expect(BlockHeader().encodedHash().description == "f7f340550630426b4962c3054cb7f21cf3662bd916642daff4efc9a00b4aab3f")
    }

    @Test("a populated header hashes to the Go vector (77)")
    func populatedHeaderHash() throws {
        let empty = Hash.empty
        let header = BlockHeader(
            version: 42, namespace: Namespace(unchecked: empty.raw), round: 1000, timestamp: 1_560_257_841,
            headerType: .roundFailed, previousHash: BlockHeader().encodedHash(), ioRoot: empty, stateRoot: empty,
            messagesHash: empty)
        #expect(header.encodedHash().description == "e5f8d6958fdedf15e705cb8fc8e2515d870c79d80dd2fa17f35c9e307ca4215a")
    }

    @Test("the genesis block of a test namespace hashes to the computed vector (78)")
    func genesisBlockHash() {
        let block = Block.genesis(namespace: .test(seed: "history test ns 1"), timestamp: 0)
        #expect(
            block.header.encodedHash().description == "38e29fc9d0eacc36b6376bc619dc2dff176c195d7751acf3b1a58357f21e4445")
    }

    @Test("storage receipts are checked field by field, in order (79)")
    func verifyStorageReceipt() throws {
        let ns = Namespace.test(seed: "receipt")
        var header = BlockHeader(namespace: ns, round: 1, ioRoot: .empty, stateRoot: .empty)
        header.headerType = .normal
        func message(_ body: StorageReceiptBody) -> String? {
            do {
                try header.verifyStorageReceipt(body)
                return nil
            } catch {
                return error.description
            }
        }
        let good = StorageReceiptBody(namespace: ns, round: 1, rootTypes: [.io, .state], roots: [.empty, .empty])
        var body = good
        body.namespace = .test(seed: "other")
        #expect(message(body) == "roothash: receipt has unexpected namespace")
        body = good
        body.round = 2
        #expect(message(body) == "roothash: receipt has unexpected round")
        body = good
        body.roots = [.empty, .empty, .empty]
        #expect(message(body) == "roothash: receipt has unexpected number of roots")
        body = good
        body.rootTypes = [.io, .state, .io]
        #expect(message(body) == "roothash: receipt has unexpected number of root types")
        body = good
        body.rootTypes = [.state, .io]
        #expect(message(body) == "roothash: receipt has unexpected root types")
        body = good
        body.roots = [.empty, .zero]
        #expect(message(body) == "roothash: receipt has unexpected roots")
        #expect(message(good) == nil)
    }

    @Test("a header round-trips, keeping a nil signature list as null")
    func headerRoundTrip() throws {
        let header = Block.genesis(namespace: .test(seed: "rt"), timestamp: 7).header
        let bytes = try encoder.encode(header)
        #expect(bytes.suffix(1) == [0xf6])  // storage_signatures sorts last and is null
        let decoded = try decoder.decode(BlockHeader.self, from: bytes)
        #expect(decoded == header)
        #expect(try encoder.encode(decoded) == bytes)

        var withEmpty = header
        withEmpty.storageSignatures = []
        let emptyBytes = try encoder.encode(withEmpty)
        #expect(emptyBytes.suffix(1) == [0x80])
        #expect(try decoder.decode(BlockHeader.self, from: emptyBytes).storageSignatures == [])
        #expect(header.mostlyEqual(withEmpty))
        #expect(header.encodedHash() != withEmpty.encodedHash())
    }

    @Test("parenthood goes the way oasis-core defines it")
    func isParentOf() {
        let genesis = Block.genesis(namespace: .test(seed: "p"), timestamp: 1)
        let next = Block.empty(after: genesis, timestamp: 2, type: .epochTransition)
        #expect(next.header.round == 1)
        #expect(next.header.stateRoot == genesis.header.stateRoot)
        #expect(next.header.isParentOf(genesis.header))
        #expect(!genesis.header.isParentOf(next.header))
    }

    @Test("the empty block after round 2^64 - 1 wraps to round 0, as Go's uint64 does")
    func emptyBlockAfterLastRound() {
        // A runtime's genesis round is any u64 from the genesis document.
        var genesis = Block.genesis(namespace: .test(seed: "p"), timestamp: 1)
        genesis.header.round = .max
        let next = Block.empty(after: genesis, timestamp: 2, type: .normal)
        #expect(next.header.round == 0)
        #expect(next.header.previousHash == genesis.header.encodedHash())
    }
}
