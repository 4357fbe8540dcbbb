import OasisCBOR
import OasisCommon
import RuntimeHostProtocol
import RuntimeHostProtocolTesting
import Synchronization
import Testing

/// One kind of malformed input and a piece of the reason the connection must log.
struct MalformedInput: Sendable, CustomStringConvertible {
    let description: String
    let bytes: [UInt8]
    let reason: String

    static let all: [MalformedInput] = [
        MalformedInput(
            description: "a length of 16 MiB + 1", bytes: [0x01, 0x00, 0x00, 0x01],
            reason: "codec: message too large (16777217 bytes"),
        MalformedInput(
            description: "a length of 4 GiB - 1", bytes: [0xff, 0xff, 0xff, 0xff], reason: "codec: message too large"),
        MalformedInput(
            description: "a frame cut short inside its payload",
            bytes: Array(RawPeer.frame(MalformedMessageTests.message(body: MalformedMessageTests.ping)).prefix(20)),
            reason: "codec: stream ended inside a frame (20 of 63 bytes)"),
        MalformedInput(
            description: "a frame cut short inside its length prefix", bytes: [0x00, 0x00],
            reason: "codec: stream ended inside a frame (2 of 4 bytes)"),
        MalformedInput(
            description: "a message_type that does not fit a u8",
            bytes: RawPeer.frame(MalformedMessageTests.message(body: MalformedMessageTests.ping, messageType: [0x19, 0x01, 0x00])),
            reason: "does not fit UInt8"),
        MalformedInput(
            description: "a message_type that is not an integer",
            bytes: RawPeer.frame(MalformedMessageTests.message(body: MalformedMessageTests.ping, messageType: cborText("request"))),
            reason: "codec: message is malformed"),
        MalformedInput(
            description: "a body with two variant keys",
            bytes: RawPeer.frame(MalformedMessageTests.message(
                body: [0xa2] + cborText("Empty") + [0xa0] + cborText("RuntimePingRequest") + [0xa0])),
            reason: "a body has exactly one variant key, found 2"),
        MalformedInput(
            description: "an unknown body variant",
            bytes: RawPeer.frame(MalformedMessageTests.message(
                body: [0xa1] + cborText("HostStorageSyncSerializedResponse") + [0xa1] + cborText("serialized") + [0x40])),
            reason: "unknown field"),
        MalformedInput(
            description: "bytes after the CBOR item",
            bytes: RawPeer.frame(MalformedMessageTests.message(body: MalformedMessageTests.ping) + [0xf6]),
            reason: "codec: message is malformed: cbor: trailing bytes"),
        MalformedInput(
            description: "garbage that is not CBOR", bytes: RawPeer.frame([0xff, 0xfe, 0xfd]),
            reason: "codec: message is malformed"),
        MalformedInput(
            description: "a CBOR tag", bytes: RawPeer.frame([0xc0] + MalformedMessageTests.message(body: MalformedMessageTests.ping)),
            reason: "tags are not allowed"),
    ]
}

@Suite("RHP framing on a live connection")
struct FramingTests {
    @Test("malformed input closes the connection with a logged reason and fails the pending call", arguments: MalformedInput.all)
    func malformedInputCloses(input: MalformedInput) async throws {
        let (logger, logs) = capturingLogger()
        let (connection, peer) = try await hostWithRawPeer(logger: logger)
        try await withReadyHost(connection, peer) {
            let failure = Locked<String?>(nil)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        _ = try await connection.call(.runtimePingRequest, timeout: .seconds(3600))
                    } catch {
                        failure.withLock { $0 = "\(error)" }
                    }
                }
                _ = try #require(try await peer.receive())
                try await peer.write(input.bytes)
                if input.reason.contains("stream ended") { peer.shutdownBoth() }
                try await waitUntil(.seconds(300), "the pending call failing") { failure.withLock { $0 != nil } }
                try await group.waitForAll()
            }
            #expect(failure.withLock { $0 }?.contains("connection closed") == true)
            try await waitUntil { connection.state == .closed }
            let reasons = logs.closeReasons
            #expect(reasons.count == 1)
            #expect(reasons.first?.contains(input.reason) == true, "logged reasons: \(reasons)")
            #expect(connection.closeReason?.contains(input.reason) == true)
        }
    }

    @Test("a frame of exactly 16 MiB is accepted")
    func exactlyMaxSize() async throws {
        let (logger, _) = capturingLogger()
        let handled = Locked<[Int]>([])
        let (a, b) = try SocketPair.make()
        let guest = try await Connection.adopting(
            connectedSocket: a,
            handler: ClosureHandler { body in
                if case .runtimeRPCCallRequest(let rpc) = body { handled.withLock { $0.append(rpc.request.count) } }
                return .empty
            }, logger: logger)
        let host = RawPeer(descriptor: b)

        // Find the request size that makes the payload exactly 16 MiB.
        func payload(_ n: Int) throws -> [UInt8] {
            try Frame.payload(of: Message(
                id: 1, type: .request, body: .runtimeRPCCallRequest(RuntimeRPCCallRequest(request: [UInt8](repeating: 7, count: n)))))
        }
        let overhead = try payload(100_000).count - 100_000
        let frame = try payload(Frame.maxPayloadSize - overhead)
        #expect(frame.count == Frame.maxPayloadSize)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await guest.run() }
            guest.initGuest()
            try await host.writeFrame(frame)
            let answer = try #require(try await host.receive(timeout: .seconds(300)))
            #expect(answer == Message(id: 1, type: .response, body: .empty))
            #expect(handled.withLock { $0 } == [Frame.maxPayloadSize - overhead])
            #expect(guest.state == .ready)
            await guest.close()
            try await group.waitForAll()
        }
    }

    @Test("every frame goes out as one length-prefixed buffer that a byte-level reader can split")
    func framesOnTheWire() async throws {
        let (logger, _) = capturingLogger()
        let (connection, peer) = try await hostWithRawPeer(logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            group.addTask {
                _ = try await connection.initHost(runtimeID: testRuntimeID, hostInfo: testHostInfo, timeout: .seconds(120))
            }
            let payload = try #require(try await peer.readFramePayload())
            // The handshake request the host writes is the canonical encoding of what it means.
            let message = try Frame.decodePayload(payload)
            #expect(try Frame.payload(of: message) == payload)
            #expect(message.id == 0)
            #expect(message.spanContext.isEmpty)
            await connection.close()
            try? await group.waitForAll()
        }
    }
}
