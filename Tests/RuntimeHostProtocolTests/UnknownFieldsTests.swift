import ConsensusAPI
import OasisCBOR
import OasisCommon
import RuntimeHostProtocol
import RuntimeHostProtocolTesting
import Synchronization
import Testing

/// A runtime may ignore fields it does not know, as v21.1's Rust runtime does (host.md §3.9);
/// a host stays strict. Either way a body has one variant key, and an unknown variant ends the
/// connection.
@Suite("RHP unknown fields")
struct UnknownFieldsTests {
    static let header = BlockHeader(namespace: Namespace.test(seed: "unknown-fields"), round: 3, stateRoot: .empty)

    /// A query request whose envelope, payload and nested block header each carry a field from
    /// a newer host.
    static func queryWithUnknownFields(id: UInt64) throws -> [UInt8] {
        let message = Message(
            id: id, type: .request,
            body: .runtimeQueryRequest(RuntimeQueryRequest(method: "get", header: header, args: .textString("k"))))
        var envelope = try CBORValue(decoding: try Frame.payload(of: message))
        var body = try #require(envelope["body"])
        var query = try #require(body["RuntimeQueryRequest"])
        var header = try #require(query["header"])
        header = adding("future_header_field", .unsignedInt(1), to: header)
        query = replacing("header", with: header, in: query)
        query = adding("future_query_field", .textString("x"), to: query)
        body = replacing("RuntimeQueryRequest", with: query, in: body)
        envelope = replacing("body", with: body, in: envelope)
        envelope = adding("future_envelope_field", .null, to: envelope)
        return try envelope.encoded()
    }

    static func adding(_ key: String, _ value: CBORValue, to map: CBORValue) -> CBORValue {
        guard case .map(let entries) = map else { return map }
        return .map(entries + [CBORMapEntry(key: .textString(key), value: value)])
    }

    static func replacing(_ key: String, with value: CBORValue, in map: CBORValue) -> CBORValue {
        guard case .map(let entries) = map else { return map }
        return .map(entries.map { $0.key == .textString(key) ? CBORMapEntry(key: $0.key, value: value) : $0 })
    }

    /// Runs a runtime-side connection on one end of a socket pair with `peer` on the other.
    func withGuest(
        ignoresUnknownFields: Bool, handled: Locked<[Body]>,
        _ body: (Connection, RawPeer) async throws -> Void
    ) async throws {
        let (logger, _) = capturingLogger()
        let (a, b) = try SocketPair.make()
        let guest = try await Connection.adopting(
            connectedSocket: a,
            handler: ClosureHandler { request in
                handled.withLock { $0.append(request) }
                return .runtimeQueryResponse(RuntimeQueryResponse(data: .textString("v")))
            },
            configuration: Connection.Configuration(ignoresUnknownFields: ignoresUnknownFields), logger: logger)
        let peer = RawPeer(descriptor: b)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await guest.run() }
            guest.initGuest()
            try await body(guest, peer)
            await guest.close()
            try await group.waitForAll()
        }
    }

    @Test("a runtime that ignores unknown fields serves a request carrying them in the envelope, the payload and a nested header")
    func runtimeIgnoresUnknownFields() async throws {
        let handled = Locked<[Body]>([])
        try await withGuest(ignoresUnknownFields: true, handled: handled) { guest, peer in
            try await peer.writeFrame(try Self.queryWithUnknownFields(id: 7))
            let answer = try #require(try await peer.receive(timeout: .seconds(300)))
            #expect(answer == Message(id: 7, type: .response, body: .runtimeQueryResponse(RuntimeQueryResponse(data: .textString("v")))))
            #expect(handled.withLock { $0 } == [
                .runtimeQueryRequest(RuntimeQueryRequest(method: "get", header: Self.header, args: .textString("k")))
            ])
            #expect(guest.state == .ready)
        }
    }

    @Test(
        "a runtime that ignores unknown fields still closes on a body with a second key or an unknown variant",
        arguments: [
            ([0xa2] + cborText("RuntimePingRequest") + [0xa0] + cborText("FutureRequest") + [0xa0],
             "a body has exactly one variant key, found 2"),
            ([0xa1] + cborText("HostStorageSyncSerializedResponse") + [0xa1] + cborText("serialized") + [0x40],
             "a body has exactly one variant key, found 0"),
        ] as [([UInt8], String)])
    func runtimeStillRefusesBodies(body: [UInt8], reason: String) async throws {
        let handled = Locked<[Body]>([])
        try await withGuest(ignoresUnknownFields: true, handled: handled) { guest, peer in
            try await peer.writeFrame(MalformedMessageTests.message(body: body))
            try await waitUntil(.seconds(300), "the connection closing") { guest.state == .closed }
            #expect(guest.closeReason?.contains(reason) == true, "close reason: \(guest.closeReason ?? "none")")
            #expect(handled.withLock { $0 }.isEmpty)
        }
    }

    @Test("a strict connection (a host's) closes on the first unknown field, naming it")
    func strictConnectionRefuses() async throws {
        let handled = Locked<[Body]>([])
        try await withGuest(ignoresUnknownFields: false, handled: handled) { guest, peer in
            try await peer.writeFrame(try Self.queryWithUnknownFields(id: 7))
            try await waitUntil(.seconds(300), "the connection closing") { guest.state == .closed }
            #expect(guest.closeReason?.contains("unknown field") == true, "close reason: \(guest.closeReason ?? "none")")
            #expect(handled.withLock { $0 }.isEmpty)
        }
    }
}
