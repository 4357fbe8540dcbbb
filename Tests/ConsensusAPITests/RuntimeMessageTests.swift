import ConsensusAPI
import Foundation
import OasisCBOR
import OasisCommon
import Testing

/// Runtime messages and their hash, staking addresses, and `RuntimeState`.
@Suite("Runtime messages, staking addresses and runtime state")
struct RuntimeMessageTests {
    let encoder = CBOREncoder()
    let decoder = CBORDecoder()

    // MARK: Staking addresses (vectors from oasis-core's runtime address tests)

    @Test("an entity address is derived from its public key and printed in Bech32")
    func entityAddress() throws {
        let key = try PublicKey(bytes: Hex.decode("badadd1e55ffffffffffffffffffffffffffffffffffffffffffffffffffffff"))
        #expect(StakingAddress(publicKey: key).description == "oasis1qryqqccycvckcxp453tflalujvlf78xymcdqw4vz")
        let pool = try PublicKey(bytes: Hex.decode("1abe11edc001ffffffffffffffffffffffffffffffffffffffffffffffffffff"))
        #expect(StakingAddress(publicKey: pool).bech32 == "oasis1qrmufhkkyyf79s5za2r8yga9gnk4t446dcy3a5zm")
    }

    @Test("a runtime address is derived from the runtime ID under its own context")
    func runtimeAddress() throws {
        let id = try Namespace(hex: "80000000000000002aff7f6dfb62720cfd735f2b037b81572fad1b7937d826b3")
        #expect(StakingAddress(runtimeID: id).bech32 == "oasis1qpllh99nhwzrd56px4txvl26atzgg4f3a58jzzad")
        #expect(StakingAddress(runtimeID: id) != StakingAddress(publicKey: try PublicKey(bytes: id.bytes)))
    }

    @Test("Bech32 text reads back to the same address and refuses damage")
    func bech32Parsing() throws {
        let text = "oasis1qryqqccycvckcxp453tflalujvlf78xymcdqw4vz"
        let address = try StakingAddress(bech32: text)
        #expect(address.bech32 == text)
        #expect(address.bytes.count == 21 && address.bytes[0] == 0)
        #expect(try StakingAddress(bech32: text.uppercased()) == address)
        #expect(errorText { _ = try StakingAddress(bech32: "oasis1qryqqccycvckcxp453tflalujvlf78xymcdqw4va") }
            == "address: malformed address")
        #expect(throws: DescriptorError.self) { try StakingAddress(bech32: "Oasis1qryqqccycvckcxp453tflalujvlf78xymcdqw4vz") }
        #expect(throws: DescriptorError.self) { try StakingAddress(bech32: "cosmos1qryqqccycvckcxp453tflalujvlf78xymcdqw4vz") }
        #expect(throws: DescriptorError.self) { try StakingAddress(bytes: [0, 1, 2]) }
    }

    @Test("addresses are byte strings in CBOR and Bech32 in JSON")
    func addressCoding() throws {
        let address = StakingAddress(publicKey: .filled(lastByte: 1))
        #expect(try encoder.encode(address) == [0x55] + address.bytes)
        #expect(try decoder.decode(StakingAddress.self, from: [0x55] + address.bytes) == address)
        #expect(throws: DecodingError.self) { try decoder.decode(StakingAddress.self, from: [0x41, 0x00]) }
        let json = try JSONEncoder().encode([address])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(address.bech32)\"]")
        #expect(try JSONDecoder().decode([StakingAddress].self, from: json) == [address])
    }

    @Test("the descriptor's staking address follows its governance model")
    func descriptorStakingAddress() {
        var rt = Fixtures.genesisTestRuntime()
        #expect(rt.stakingAddress == StakingAddress(publicKey: rt.entityID))
        rt.governanceModel = .runtime
        #expect(rt.stakingAddress == StakingAddress(runtimeID: rt.id))
        rt.governanceModel = .consensus
        #expect(rt.stakingAddress == nil)
    }

    // MARK: Messages

    @Test("no messages hash to the empty hash")
    func emptyMessagesHash() {
        #expect(RuntimeMessage.messagesHash([]) == .empty)
        #expect(RuntimeMessage.messagesHash([]).description
            == "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a")
    }

    @Test("messages hash is SHA-512/256 of the CBOR array of messages, with v always written")
    func messagesHash() throws {
        let to = StakingAddress(publicKey: .filled(lastByte: 3))
        let messages = [
            RuntimeMessage(staking: StakingMessage(transfer: Transfer(to: to, amount: Quantity(100)))),
            RuntimeMessage(staking: StakingMessage(messageVersion: 1, reclaimEscrow: ReclaimEscrow(account: to))),
        ]
        let expected = CBORValue.array([
            cborMap(["staking": cborMap([
                "v": .unsignedInt(0),
                "transfer": cborMap(["to": .byteString(to.bytes), "amount": .byteString([100])]),
            ])]),
            cborMap(["staking": cborMap([
                "v": .unsignedInt(1),
                "reclaim_escrow": cborMap(["account": .byteString(to.bytes), "shares": .byteString([])]),
            ])]),
        ])
        let bytes = try expected.encoded()
        #expect(try encoder.encode(messages) == bytes)
        #expect(RuntimeMessage.messagesHash(messages) == Hash.digest(bytes))
        #expect(try decoder.decode([RuntimeMessage].self, from: bytes) == messages)
    }

    @Test("every staking operation and a registry update round-trip through CBOR")
    func messageRoundTrip() throws {
        let account = StakingAddress(publicKey: .filled(lastByte: 4))
        let messages = [
            RuntimeMessage(staking: StakingMessage(withdraw: Withdraw(from: account, amount: Quantity(7)))),
            RuntimeMessage(staking: StakingMessage(addEscrow: Escrow(account: account, amount: Quantity(1 << 40)))),
            RuntimeMessage(registry: RegistryMessage(messageVersion: 1, updateRuntime: Fixtures.populated())),
            RuntimeMessage(registry: RegistryMessage()),
        ]
        let bytes = try encoder.encode(messages)
        let decoded = try decoder.decode([RuntimeMessage].self, from: bytes)
        #expect(decoded == messages)
        #expect(try encoder.encode(decoded) == bytes)
        let registry = try CBORValue(decoding: encoder.encode(RuntimeMessage(registry: RegistryMessage())))
        #expect(registry == cborMap(["registry": cborMap(["v": .unsignedInt(0)])]))
        #expect(try CBORValue(decoding: encoder.encode(RuntimeMessage())) == cborMap([:]))
    }

    @Test("messages must set exactly one operation")
    func messageValidation() throws {
        #expect(errorText { try RuntimeMessage().validateBasic() } == "runtime message has no fields set")
        #expect(errorText { try RuntimeMessage(staking: StakingMessage()).validateBasic() }
            == "staking runtime message has no fields set")
        #expect(errorText {
            try RuntimeMessage(staking: StakingMessage(transfer: Transfer(), withdraw: Withdraw())).validateBasic()
        } == "staking runtime message has multiple fields set")
        #expect(errorText { try RuntimeMessage(registry: RegistryMessage()).validateBasic() }
            == "registry runtime message has no fields set")
        try RuntimeMessage(staking: StakingMessage(addEscrow: Escrow())).validateBasic()
        try RuntimeMessage(registry: RegistryMessage(updateRuntime: RuntimeDescriptor())).validateBasic()
    }

    @Test("message JSON uses Bech32 addresses and decimal amounts")
    func messageJSON() throws {
        let to = StakingAddress(publicKey: .filled(lastByte: 3))
        let message = RuntimeMessage(staking: StakingMessage(transfer: Transfer(to: to, amount: Quantity(100))))
        let object = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(message)) as? NSDictionary)
        let expected: NSDictionary = ["staking": ["v": 0, "transfer": ["to": to.bech32, "amount": "100"]]]
        #expect(object == expected)
    }

    // MARK: RuntimeState

    @Test("the zero runtime state writes nil pointers as null and leaves suspended out")
    func zeroRuntimeState() throws {
        let expected = cborMap([
            "runtime": .null, "genesis_block": .null, "current_block": .null,
            "current_block_height": .unsignedInt(0), "last_normal_round": .unsignedInt(0),
            "last_normal_height": .unsignedInt(0), "executor_pool": .null,
        ])
        #expect(try encoder.encode(RuntimeState()) == (try expected.encoded()))
        #expect(try decoder.decode(RuntimeState.self, from: expected.encoded()) == RuntimeState())
    }

    @Test("a populated runtime state round-trips, keeping the executor pool as raw CBOR")
    func populatedRuntimeState() throws {
        let genesis = Block.genesis(namespace: Fixtures.computeID, timestamp: 10)
        let pool = cborMap(["round": .unsignedInt(3), "whatever": .array([.bool(true), .textString("x")])])
        let state = RuntimeState(
            runtime: Fixtures.populated(), suspended: true, genesisBlock: genesis,
            currentBlock: Block.empty(after: genesis, timestamp: 11, type: .epochTransition), currentBlockHeight: 42,
            lastNormalRound: 0, lastNormalHeight: -1, executorPool: pool)
        let bytes = try encoder.encode(state)
        let decoded = try decoder.decode(RuntimeState.self, from: bytes)
        #expect(decoded == state)
        #expect(try encoder.encode(decoded) == bytes)
        let value = try CBORValue(decoding: bytes)
        #expect(value["suspended"] == .bool(true))
        #expect(value["executor_pool"] == pool)
        #expect(value["last_normal_height"] == .negativeInt(0))
    }
}
