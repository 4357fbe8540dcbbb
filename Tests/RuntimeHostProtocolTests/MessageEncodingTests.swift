import ConsensusAPI
import OasisCBOR
import OasisCommon
import RuntimeHostProtocol
import RuntimeHostProtocolTesting
import RuntimeStorage
import Testing

@Suite("RHP message encoding")
struct MessageEncodingTests {
    static let pingRequestHex =
        "a46269640064626f6479a17252756e74696d6550696e6752657175657374a06c6d6573736167655f74797065016c7370616e5f636f6e7465787440"
    static let pingResponseHex =
        "a46269640064626f6479a165456d707479a06c6d6573736167655f74797065026c7370616e5f636f6e7465787440"

    @Test("a ping request with id 0 encodes to the spec's 59 bytes behind the length 0000003b")
    func pingRequestBytes() throws {
        let message = Message(id: 0, type: .request, body: .runtimePingRequest)
        let payload = try Frame.payload(of: message)
        #expect(hex(payload) == Self.pingRequestHex)
        #expect(payload.count == 59)
        #expect(hex(RawPeer.frame(payload)).hasPrefix("0000003b"))
    }

    @Test("the spec's ping frame decodes to a request with id 0 and a ping body")
    func pingRequestDecodes() throws {
        let message = try Frame.decodePayload(bytes(Self.pingRequestHex))
        #expect(message == Message(id: 0, type: .request, body: .runtimePingRequest, spanContext: []))
    }

    @Test("an Empty response encodes to the spec's 46 bytes, keys in the order id, body, message_type, span_context")
    func pingResponseBytes() throws {
        let payload = try Frame.payload(of: Message(id: 0, type: .response, body: .empty))
        #expect(hex(payload) == Self.pingResponseHex)
        #expect(payload.count == 46)
        #expect(try Frame.decodePayload(payload) == Message(id: 0, type: .response, body: .empty))
    }

    @Test("the not-ready error body is byte-exact")
    func notReadyBytes() throws {
        let body = Body.error(ErrorBody(mapping: RHPErrors.notReady))
        let expected =
            "a1654572726f72a364636f646501666d6f64756c656c7268702f696e7465726e616c676d6573736167656e7268703a206e6f74207265616479"
        #expect(hex(try CBOREncoder().encode(body)) == expected)
        #expect(try CBORDecoder().decode(Body.self, from: bytes(expected)) == body)
    }

    @Test("a RuntimeInfoResponse for protocol 2.0.0 and runtime 1.2.3 is byte-exact")
    func infoResponseBytes() throws {
        let body = Body.runtimeInfoResponse(RuntimeInfoResponse(
            protocolVersion: Version(major: 2), runtimeVersion: Version(major: 1, minor: 2, patch: 3)))
        let expected =
            "a17352756e74696d65496e666f526573706f6e7365a26f72756e74696d655f76657273696f6e1b00000001000200037070726f746f636f6c5f76657273696f6e1b0000000200000000"
        #expect(hex(try CBOREncoder().encode(body)) == expected)
        let decoded = try CBORDecoder().decode(Body.self, from: bytes(expected))
        guard case .runtimeInfoResponse(let info) = decoded else {
            Issue.record("decoded \(decoded.kind)")
            return
        }
        #expect(info.protocolVersion == Version(major: 2))
        #expect(info.runtimeVersion == Version(major: 1, minor: 2, patch: 3))
    }

    @Test("there are 34 body variants")
    func variantCount() {
        #expect(Body.Kind.allCases.count == 34)
    }

    @Test("every body variant round-trips as a request and a response, with exactly one key", arguments: Body.Kind.allCases)
    func roundTrip(kind: Body.Kind) throws {
        let body = sampleBody(kind)
        #expect(body.kind == kind)
        for type in [MessageType.request, .response] {
            let message = Message(id: 77, type: type, body: body, spanContext: type == .request ? [1, 2] : [])
            let payload = try Frame.payload(of: message)
            let decoded = try Frame.decodePayload(payload)
            #expect(decoded == message)
            // Canonical: decoding then encoding again gives the same bytes.
            #expect(try Frame.payload(of: decoded) == payload)
        }
        let encodedBody = try CBORValue(decoding: try CBOREncoder().encode(body))
        guard case .map(let entries) = encodedBody else {
            Issue.record("body is not a map")
            return
        }
        #expect(entries.count == 1)
        #expect(entries.first?.key == .textString(kind.rawValue))
    }

    @Test("the direct envelope codec and the Codable path agree byte for byte", arguments: Body.Kind.allCases)
    func envelopeMatchesCodable(kind: Body.Kind) throws {
        for message in [
            Message(id: 0, type: .request, body: sampleBody(kind)),
            Message(id: 1 << 40, type: .response, body: sampleBody(kind), spanContext: [1, 2, 3]),
            Message(id: 300, type: MessageType(rawValue: 200), body: sampleBody(kind)),
        ] {
            let direct = try Frame.payload(of: message)
            #expect(direct == (try CBOREncoder().encode(message)))
            #expect(try CBORDecoder().decode(Message.self, from: direct) == message)
            #expect(try Frame.decodePayload(direct) == message)
        }
    }

    @Test("byte fields with no value are written as empty byte strings, never null")
    func emptyBytesAreByteStrings() throws {
        // {"RuntimeRPCCallRequest": {"request": h''}}
        let rpc = try CBOREncoder().encode(Body.runtimeRPCCallRequest(RuntimeRPCCallRequest()))
        #expect(hex(rpc).hasSuffix(hex(Array("request".utf8)) + "40"))
        let get = try CBOREncoder().encode(Body.hostLocalStorageGetResponse(HostLocalStorageGetResponse()))
        #expect(hex(get).hasSuffix(hex(Array("value".utf8)) + "40"))
        let hostRPC = try CBOREncoder().encode(Body.hostRPCCallResponse(HostRPCCallResponse()))
        #expect(hex(hostRPC).hasSuffix(hex(Array("response".utf8)) + "40"))
        let message = try Frame.payload(of: Message(id: 1, type: .request, body: .runtimeAbortRequest))
        #expect(hex(message).hasSuffix(hex(Array("span_context".utf8)) + "40"))
    }

    @Test("a query request always carries args, as null when there are none")
    func queryArgsAlwaysPresent() throws {
        let encoded = try CBOREncoder().encode(RuntimeQueryRequest(method: "m"))
        let value = try CBORValue(decoding: encoded)
        #expect(value["args"] == .null)
        // And a query without args from a Go host (omitempty) still decodes.
        let withoutArgs = CBORValue.map([
            CBORMapEntry(key: .textString("method"), value: .textString("m")),
        ])
        let decoded = try CBORDecoder().decode(RuntimeQueryRequest.self, from: try withoutArgs.encoded())
        #expect(decoded.args == .null)
    }

    @Test("a Go nil round_results is written as null and read back as nil")
    func nilRoundResults() throws {
        let request = RuntimeExecuteTxBatchRequest(roundResults: nil)
        let encoded = try CBOREncoder().encode(request)
        #expect(try CBORValue(decoding: encoded)["round_results"] == .null)
        #expect(try CBORDecoder().decode(RuntimeExecuteTxBatchRequest.self, from: encoded).roundResults == nil)
    }

    @Test("a storage sync request puts its operation next to the endpoint and omits endpoint 0")
    func storageSyncLayout() throws {
        let request = HostStorageSyncRequest(operation: .iterate(SyncIterateRequest(tree: sampleTree, key: [1], prefetch: 3)))
        let value = try CBORValue(decoding: try CBOREncoder().encode(request))
        #expect(value["endpoint"] == nil)
        #expect(value["SyncIterate"] != nil)
        // None of the operations: decodes, with no operation (the host answers "method not supported").
        let none = try CBORDecoder().decode(HostStorageSyncRequest.self, from: [0xa1] + cborText("endpoint") + [0x01])
        #expect(none.operation == nil)
        #expect(none.endpoint == .consensus)
    }
}

@Suite("RHP malformed messages")
struct MalformedMessageTests {
    /// `{"id":0,"body":<body>,"message_type":1,"span_context":h''}` around raw body bytes.
    static func message(body: [UInt8], messageType: [UInt8] = [0x01]) -> [UInt8] {
        [0xa4] + cborText("id") + [0x00] + cborText("body") + body + cborText("message_type") + messageType
            + cborText("span_context") + [0x40]
    }

    static let ping: [UInt8] = [0xa1] + cborText("RuntimePingRequest") + [0xa0]

    @Test("the envelope helper reproduces the spec's ping bytes")
    func helperMatchesSpec() {
        #expect(hex(Self.message(body: Self.ping)) == MessageEncodingTests.pingRequestHex)
    }

    @Test("a body with two variant keys is refused")
    func twoKeys() {
        let body: [UInt8] = [0xa2] + cborText("Empty") + [0xa0] + cborText("RuntimePingRequest") + [0xa0]
        #expect(throws: FrameError.self) { try Frame.decodePayload(Self.message(body: body)) }
    }

    @Test("a body with no variant key is refused")
    func zeroKeys() {
        #expect(throws: FrameError.self) { try Frame.decodePayload(Self.message(body: [0xa0])) }
    }

    @Test("an unknown variant such as HostStorageSyncSerializedResponse is refused")
    func unknownVariant() {
        let body: [UInt8] = [0xa1] + cborText("HostStorageSyncSerializedResponse") + [0xa1] + cborText("serialized") + [0x40]
        #expect(throws: FrameError.self) { try Frame.decodePayload(Self.message(body: body)) }
    }

    @Test("an unknown field inside a payload is refused")
    func unknownField() {
        let body: [UInt8] = [0xa1] + cborText("RuntimePingRequest") + [0xa1] + cborText("x") + [0x01]
        #expect(throws: FrameError.self) { try Frame.decodePayload(Self.message(body: body)) }
    }

    @Test("a null payload is refused")
    func nullPayload() {
        let body: [UInt8] = [0xa1] + cborText("RuntimePingRequest") + [0xf6]
        #expect(throws: FrameError.self) { try Frame.decodePayload(Self.message(body: body)) }
    }

    @Test("a message_type above 255 is refused; 0 and 7 decode (the connection ignores them)")
    func messageTypes() throws {
        #expect(throws: FrameError.self) {
            try Frame.decodePayload(Self.message(body: Self.ping, messageType: [0x19, 0x01, 0x00]))
        }
        #expect(try Frame.decodePayload(Self.message(body: Self.ping, messageType: [0x00])).type == .invalid)
        #expect(try Frame.decodePayload(Self.message(body: Self.ping, messageType: [0x07])).type.rawValue == 7)
    }

    @Test("a 31-byte runtime_id is refused")
    func shortNamespace() {
        let info: [UInt8] = [0xa1] + cborText("RuntimeInfoRequest") + [0xa1] + cborText("runtime_id") + [0x58, 31]
            + [UInt8](repeating: 0, count: 31)
        #expect(throws: FrameError.self) { try Frame.decodePayload(Self.message(body: info)) }
    }

    @Test("duplicate keys, indefinite lengths and tags are refused")
    func strictCBOR() {
        let duplicate: [UInt8] = [0xa5] + cborText("id") + [0x00] + cborText("id") + [0x01] + cborText("body") + Self.ping
            + cborText("message_type") + [0x01] + cborText("span_context") + [0x40]
        #expect(throws: FrameError.self) { try Frame.decodePayload(duplicate) }
        let indefinite: [UInt8] = [0xa1] + cborText("RuntimePingRequest") + [0xbf, 0xff]
        #expect(throws: FrameError.self) { try Frame.decodePayload(Self.message(body: indefinite)) }
        #expect(throws: FrameError.self) { try Frame.decodePayload([0xc0] + Self.message(body: Self.ping)) }
    }

    @Test("bytes after the CBOR item make the frame malformed")
    func trailingBytes() {
        #expect {
            try Frame.decodePayload(Self.message(body: Self.ping) + [0x00])
        } throws: { error in
            guard case FrameError.trailingBytes = error else { return false }
            return "\(error)".hasPrefix("codec: message is malformed")
        }
    }

    @Test("a request larger than 16 MiB is refused before anything is written")
    func oversizeEncoding() {
        let body = Body.runtimeRPCCallRequest(RuntimeRPCCallRequest(request: [UInt8](repeating: 1, count: Frame.maxPayloadSize)))
        #expect(throws: FrameError.self) { try Frame.payload(of: Message(id: 0, type: .request, body: body)) }
    }
}

/// The CBOR text string `s` (short strings only).
func cborText(_ s: String) -> [UInt8] {
    let utf8 = Array(s.utf8)
    precondition(utf8.count < 256)
    return utf8.count < 24 ? [0x60 | UInt8(utf8.count)] + utf8 : [0x78, UInt8(utf8.count)] + utf8
}
