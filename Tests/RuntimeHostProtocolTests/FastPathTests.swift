import ConsensusAPI
import Logging
import OasisCommon
import RuntimeHostProtocolTesting
import Testing

@testable import OasisCBOR
@testable import RuntimeHostProtocol

/// The hot-path shortcuts: the in-place envelope decoder, immediate answers on the event loop,
/// and the flush at the end of each read.
@Suite("RHP fast paths")
struct FastPathTests {
    /// The payload-free variants.
    static let payloadFree = Body.Kind.allCases.compactMap(Body.init(noPayload:))

    /// What the general decoder makes of `bytes` (nil when it refuses them).
    static func general(_ bytes: [UInt8]) -> Message? { try? Frame.decodePayload(bytes) }

    /// What the in-place decoder (fast path, else general) makes of `bytes`.
    static func inPlace(_ bytes: [UInt8]) -> Message? {
        bytes.withUnsafeBytes { try? Frame.decodePayload($0) }
    }

    @Test("a body kind's ordinal, which indexes the per-call metrics, is its position in allCases")
    func kindOrdinals() {
        for (index, kind) in Body.Kind.allCases.enumerated() { #expect(kind.ordinal == index) }
    }

    @Test("canonical payload-free messages take the in-place path and give the general path's message")
    func fastPathTaken() throws {
        for body in Self.payloadFree {
            for message in [
                Message(id: 0, type: .request, body: body),
                Message(id: 23, type: .response, body: body, spanContext: [9]),
                Message(id: 1 << 33, type: MessageType(rawValue: 255), body: body, spanContext: Array(repeating: 1, count: 300)),
            ] {
                let payload = try Frame.payload(of: message)
                let direct = payload.withUnsafeBytes { EnvelopeCodec.decodeWithoutPayload($0) }
                #expect(direct == message)
                #expect(Self.general(payload) == message)
            }
        }
    }

    @Test("messages with a payload are left to the general path", arguments: Body.Kind.allCases)
    func payloadsFallBack(kind: Body.Kind) throws {
        let message = Message(id: 7, type: .request, body: sampleBody(kind))
        let payload = try Frame.payload(of: message)
        let direct = payload.withUnsafeBytes { EnvelopeCodec.decodeWithoutPayload($0) }
        #expect((direct != nil) == (Body(noPayload: kind) != nil))
        #expect(Self.inPlace(payload) == message)
    }

    @Test("the in-place decoder agrees with the general one on every truncation and one-byte change")
    func agreesOnMutations() throws {
        let replacements: [UInt8] = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1b, 0x1f, 0x40, 0x5f, 0x60, 0x62, 0x7f, 0xa0, 0xa3, 0xa5, 0xbf, 0xf6, 0xff]
        var checked = 0
        for body in Self.payloadFree {
            for message in [
                Message(id: 24, type: .request, body: body),
                Message(id: 70_000, type: .response, body: body, spanContext: [1, 2]),
            ] {
                let payload = try Frame.payload(of: message)
                for end in 0..<payload.count {
                    let truncated = Array(payload[..<end])
                    #expect(Self.inPlace(truncated) == Self.general(truncated), "truncated to \(end) bytes")
                    checked += 1
                }
                #expect(Self.inPlace(payload + [0x00]) == nil)
                for index in payload.indices {
                    for replacement in replacements + [payload[index] ^ 1, payload[index] &+ 1, payload[index] &- 1]
                    where replacement != payload[index] {
                        var mutated = payload
                        mutated[index] = replacement
                        #expect(Self.inPlace(mutated) == Self.general(mutated), "byte \(index) set to \(replacement)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 10_000)
    }

    /// What the strict decoder makes of `bytes` with its fast path (`fast`) or with Codable alone.
    static func decoded(_ bytes: [UInt8], fast: Bool, lenient: Bool = false) -> Message? {
        var options = CBORDecoder.Options(allowsUnknownFields: lenient)
        options.usesFastDecoding = fast
        return try? CBORDecoder(options: options).decode(Message.self, from: bytes)
    }

    /// Messages for the fast decoding path: queries with every kind of argument and answer,
    /// check-tx batches and error answers with every field set or left out, payload-free
    /// bodies, and a body that falls back to Codable.
    static let fastPathSamples: [Message] = [
        Message(id: 1, type: .request, body: .runtimeQueryRequest(RuntimeQueryRequest(
            method: "get", header: sampleHeader, args: .textString("key")))),
        Message(id: 2, type: .request, body: .runtimeQueryRequest(RuntimeQueryRequest(
            method: "get", args: .map([CBORMapEntry(key: .textString("key"), value: .textString("k"))])))),
        Message(id: 300, type: .request, body: .runtimeQueryRequest(RuntimeQueryRequest(
            method: "get_runtime_id", args: .byteString([UInt8](repeating: 0x42, count: 40))))),
        Message(id: 4, type: .request, body: .runtimeQueryRequest(RuntimeQueryRequest(method: "")), spanContext: [9]),
        Message(id: 5, type: .response, body: .runtimeQueryResponse(RuntimeQueryResponse(data: .textString("v")))),
        Message(id: 6, type: .response, body: .runtimeQueryResponse(RuntimeQueryResponse(data: nil))),
        Message(id: 7, type: .response, body: .runtimeQueryResponse(RuntimeQueryResponse(data: .array([.unsignedInt(1), .null])))),
        Message(id: 8, type: .request, body: .runtimePingRequest),
        Message(id: 9, type: .response, body: .error(ErrorBody(module: "m", code: 3, message: "no"))),
        Message(id: 10, type: .request, body: .runtimeCheckTxBatchRequest(RuntimeCheckTxBatchRequest(inputs: [[1, 2]]))),
        Message(id: 11, type: .response, body: .error(ErrorBody())),
        Message(id: 12, type: .response, body: .error(ErrorBody(code: 7))),
        Message(id: 13, type: .request, body: .runtimeCheckTxBatchRequest(RuntimeCheckTxBatchRequest(
            consensusBlock: LightBlock(height: 77, meta: [5, 6, 7]), inputs: [[], [0xa1, 0x60], Array(repeating: 9, count: 30)],
            block: Block(header: sampleHeader)))),
        Message(id: 14, type: .response, body: .runtimeCheckTxBatchResponse(RuntimeCheckTxBatchResponse(results: [
            CheckTxResult(),
            CheckTxResult(error: ErrorBody(module: "kv", code: 1, message: "bad")),
            CheckTxResult(meta: .map([CBORMapEntry(key: .textString("k"), value: .unsignedInt(1))])),
            CheckTxResult(meta: .null),
        ]))),
        Message(id: 15, type: .response, body: .runtimeCheckTxBatchResponse(RuntimeCheckTxBatchResponse())),
        Message(id: 16, type: .response, body: .runtimeInfoResponse(RuntimeInfoResponse(
            protocolVersion: .runtimeHostProtocol, runtimeVersion: Version(major: 1)))),
    ]

    @Test(
        "with and without its fast path the decoder agrees on query, check-tx and error messages and every truncation and one-byte change, strict or ignoring unknown fields",
        arguments: [false, true])
    func fastMessageDecodingAgrees(lenient: Bool) throws {
        let replacements: [UInt8] = [0x00, 0x01, 0x17, 0x18, 0x20, 0x40, 0x41, 0x5f, 0x60, 0x61, 0x7f, 0x80, 0xa0, 0xa1, 0xa3, 0xbf, 0xf4, 0xf6, 0xf7, 0xff]
        var checked = 0
        for message in Self.fastPathSamples {
            let payload = try Frame.payload(of: message)
            #expect(Self.decoded(payload, fast: true, lenient: lenient) == message)
            #expect(Self.decoded(payload, fast: false, lenient: lenient) == message)
            for end in 0..<payload.count {
                let truncated = Array(payload[..<end])
                #expect(Self.decoded(truncated, fast: true, lenient: lenient) == Self.decoded(truncated, fast: false, lenient: lenient), "truncated to \(end) bytes")
            }
            for index in payload.indices {
                for replacement in replacements + [payload[index] ^ 1, payload[index] &+ 1, payload[index] &- 1]
                where replacement != payload[index] {
                    var mutated = payload
                    mutated[index] = replacement
                    #expect(
                        Self.decoded(mutated, fast: true, lenient: lenient) == Self.decoded(mutated, fast: false, lenient: lenient),
                        "message \(message.id): byte \(index) set to \(replacement)")
                    checked += 1
                }
            }
        }
        #expect(checked > 20_000)
    }

    @Test("queries, check-tx batches, error answers and payload-free messages are read by the fast path, without falling back")
    func fastDecoderReadsSamples() throws {
        var fast = 0
        for message in Self.fastPathSamples {
            let payload = try Frame.payload(of: message)
            if case .runtimeInfoResponse = message.body {
                // No fast reader for the handshake answer: the Codable path reads it.
                #expect(throws: NoFastPath.self) { try CBORDecoder(options: .strict).decodeFastOnly(Message.self, from: payload) }
                continue
            }
            #expect(try CBORDecoder(options: .strict).decodeFastOnly(Message.self, from: payload) == message, "\(message.body.kind)")
            fast += 1
        }
        #expect(fast == Self.fastPathSamples.count - 1)
    }

    @Test("the direct writers of queries, check-tx batches, errors and block headers write what the Codable path writes, byte for byte")
    func directWritersMatchCodable() throws {
        var headers = [BlockHeader(), sampleHeader]
        var noSignatures = sampleHeader
        noSignatures.storageSignatures = []
        var nilSignatures = sampleHeader
        nilSignatures.storageSignatures = nil
        var large = sampleHeader
        large.round = .max
        large.timestamp = 1 << 40
        large.version = .max
        large.headerType = HeaderType(rawValue: 200)
        headers += [noSignatures, nilSignatures, large]
        for header in headers {
            var writer = CBORWriter()
            header.writeCBOR(into: &writer)
            #expect(writer.bytes == (try CBOREncoder().encode(header)))
        }
        var bodies = Self.fastPathSamples.map(\.body)
        for header in headers {
            bodies.append(.runtimeQueryRequest(RuntimeQueryRequest(
                method: String(repeating: "m", count: 30), header: header,
                args: .map([
                    CBORMapEntry(key: .textString("zz"), value: .unsignedInt(1)),
                    CBORMapEntry(key: .textString("a"), value: .byteString([UInt8](repeating: 7, count: 300))),
                ]))))
        }
        bodies.append(.runtimeQueryResponse(RuntimeQueryResponse(data: .null)))
        bodies.append(.runtimeCheckTxBatchRequest(RuntimeCheckTxBatchRequest(
            consensusBlock: LightBlock(height: -3), block: Block(header: large))))
        bodies.append(.error(ErrorBody(module: "only a module")))
        bodies.append(.error(ErrorBody(message: "only a message")))
        var direct = 0
        for body in bodies {
            guard let payload = try body.directPayload() else { continue }
            direct += 1
            #expect(payload == (try CBOREncoder().encode(body)), "\(body.kind)")
        }
        // All but the ping (no payload: the envelope writes it) and the handshake answer.
        #expect(direct == bodies.count - 2)
    }

    @Test("concurrent calls mixing frames larger than the outbox takes with small ones each get their own answer")
    func largeAndSmallFramesInBursts() async throws {
        let (logger, _) = capturingLogger()
        let pair = try await ConnectionPair.make(guestHandler: GuestHandler(), logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<48 {
                    group.addTask {
                        // Every third request is over LoopState.largestBatchedFrame: written on
                        // its own, after the outbox, while the small ones around it are batched.
                        let size = i % 3 == 0 ? LoopState.largestBatchedFrame + 1000 + i : 1 + i
                        let request = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }
                        let body = Body.runtimeRPCCallRequest(RuntimeRPCCallRequest(request: request))
                        let answer = try await pair.host.call(body)
                        #expect(answer == body)
                    }
                }
                try await group.waitForAll()
            }
            #expect(pair.host.pendingCallCount == 0)
        }
    }

    /// Answers pings at once and counts what reaches `handle`.
    struct ImmediatePings: RequestHandler {
        let handled: CallCounter

        func immediateAnswer(to request: Body) -> Body? {
            if case .runtimePingRequest = request { return .empty }
            return nil
        }

        func handle(_ request: Body) async throws -> Body {
            handled.increment()
            if case .runtimeInfoRequest = request {
                return .runtimeInfoResponse(RuntimeInfoResponse(protocolVersion: .runtimeHostProtocol, runtimeVersion: Version(major: 1)))
            }
            return .runtimeAbortResponse
        }
    }

    @Test("requests sent together in one write are all answered, immediate answers without the handler")
    func batchedRequests() async throws {
        let (logger, _) = capturingLogger()
        let handled = CallCounter()
        let (a, b) = try SocketPair.make()
        let guest = try await Connection.adopting(connectedSocket: a, handler: ImmediatePings(handled: handled), logger: logger)
        let host = RawPeer(descriptor: b)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await guest.run() }
            guest.initGuest()
            /// Sends the requests in one write and returns the answers by id.
            func exchange(_ requests: [(UInt64, Body)]) async throws -> [UInt64: Body] {
                var stream: [UInt8] = []
                for (id, body) in requests {
                    let payload = try Frame.payload(of: Message(id: id, type: .request, body: body))
                    stream += withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init) + payload
                }
                try await host.write(stream)
                var answers: [UInt64: Body] = [:]
                for _ in requests {
                    let answer = try #require(try await host.receive(timeout: .seconds(300)))
                    #expect(answer.type == .response)
                    answers[answer.id] = answer.body
                }
                return answers
            }
            // Only pings: answered on the event loop, written, and flushed when the read ends
            // (nothing else would flush them).
            let pings = try await exchange((0..<6).map { ($0, .runtimePingRequest) })
            #expect(pings == Dictionary(uniqueKeysWithValues: (0..<6).map { ($0, Body.empty) }))
            #expect(handled.count == 0)
            // Pings and aborts interleaved: the aborts go to the handler.
            let mixed = try await exchange((10..<18).map { ($0, $0 % 2 == 0 ? .runtimePingRequest : .runtimeAbortRequest) })
            #expect(mixed == Dictionary(uniqueKeysWithValues: (10..<18).map { ($0, $0 % 2 == 0 ? Body.empty : .runtimeAbortResponse) }))
            #expect(handled.count == 4)
            await guest.close()
            try await group.waitForAll()
        }
    }

    @Test("before Ready a request gets not-ready even when the handler could answer it at once")
    func immediateAnswersWaitForReady() async throws {
        let (logger, _) = capturingLogger()
        let handled = CallCounter()
        let (connection, peer) = try await hostWithRawPeer(handler: ImmediatePings(handled: handled), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            group.addTask {
                _ = try await connection.initHost(runtimeID: testRuntimeID, hostInfo: testHostInfo, timeout: .seconds(300))
            }
            let handshake = try #require(try await peer.receive())
            try await peer.send(Message(id: 5, type: .request, body: .runtimePingRequest))
            let early = try #require(try await peer.receive())
            #expect(early.id == 5)
            #expect(early.body == .error(ErrorBody(mapping: RHPErrors.notReady)))
            try await peer.send(Message(
                id: handshake.id, type: .response,
                body: .runtimeInfoResponse(RuntimeInfoResponse(protocolVersion: .runtimeHostProtocol, runtimeVersion: Version(major: 1)))))
            try await waitUntil { connection.state == .ready }
            try await peer.send(Message(id: 6, type: .request, body: .runtimePingRequest))
            let answer = try #require(try await peer.receive())
            #expect(answer == Message(id: 6, type: .response, body: .empty))
            #expect(handled.count == 0)
            await connection.close()
            try await group.waitForAll()
        }
    }
}
