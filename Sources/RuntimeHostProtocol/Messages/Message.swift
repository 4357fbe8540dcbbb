import OasisCBOR

/// What an RHP message is: a u8 on the wire, kept open so that unknown values can be read,
/// logged and ignored as v21.1 does (host.md §4.7).
public struct MessageType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The wire value.
    public var rawValue: UInt8

    /// Any u8; values other than 1 and 2 are ignored when received.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Never valid on the wire.
    public static let invalid = MessageType(rawValue: 0)
    /// A request; the peer answers with a response carrying its id.
    public static let request = MessageType(rawValue: 1)
    /// The answer to a request.
    public static let response = MessageType(rawValue: 2)

    public var description: String {
        switch rawValue {
        case 0: "invalid"
        case 1: "request"
        case 2: "response"
        default: "[unknown message type \(rawValue)]"
        }
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt8.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// The RHP envelope (host.md §3.4): `{id, message_type, body, span_context}`.
///
/// All four keys are always written, `span_context` as a byte string (possibly empty). When
/// reading, a missing `id`, `message_type` or `span_context` takes its zero value; a missing or
/// malformed `body` is an error.
public struct Message: Hashable, Sendable {
    /// Request id, allocated by whichever side sends the request; a response repeats it.
    public var id: UInt64
    /// Request or response (`message_type`).
    public var type: MessageType
    /// The payload: one of the 34 variants.
    public var body: Body
    /// An opentracing span context in binary form; empty when there is none. Carried, not
    /// interpreted.
    public var spanContext: [UInt8]

    /// A message; `spanContext` defaults to none.
    public init(id: UInt64, type: MessageType, body: Body, spanContext: [UInt8] = []) {
        self.id = id
        self.type = type
        self.body = body
        self.spanContext = spanContext
    }
}

extension Message: Codable {
    enum CodingKeys: String, CodingKey {
        case id, body
        case type = "message_type"
        case spanContext = "span_context"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(UInt64.self, forKey: .id, orZero: 0)
        type = try c.decode(MessageType.self, forKey: .type, orZero: .invalid)
        body = try c.decode(Body.self, forKey: .body)
        spanContext = try c.decodeBytes(forKey: .spanContext)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(type, forKey: .type)
        try c.encode(body, forKey: .body)
        try c.encodeBytes(spanContext, forKey: .spanContext)
    }
}
