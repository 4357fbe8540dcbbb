import Foundation

/// One request to the node's control API, as the transport decoded it.
///
/// The transport (``ControlServer``) has already split the target into ``path`` and
/// ``query`` and collected the whole body, so a ``ControlHandler`` routes on plain values.
public struct ControlRequest: Sendable {
    /// The HTTP method, upper case: `"GET"`, `"POST"`.
    public var method: String
    /// The request path without the query string, as sent (`"/v1/status"`).
    public var path: String
    /// The query parameters, percent-decoded (`+` is a space); a repeated name keeps its last value.
    public var query: [String: String]
    /// The request body (at most ``ControlServer/maxBodySize`` bytes).
    public var body: [UInt8]

    /// A request; tests and in-process callers build them directly.
    public init(method: String, path: String, query: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
    }
}

/// One response of the node's control API.
public struct ControlResponse: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// The `Content-Type` header.
    public var contentType: String
    /// The response body.
    public var body: [UInt8]

    /// A response with the given parts.
    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// `value` as JSON with sorted keys, so the same state always gives the same bytes.
    ///
    /// A value that cannot be encoded is a bug in the handler; the caller gets a 500 that
    /// names the encoding error instead of a half-written body.
    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> ControlResponse {
        do {
            return ControlResponse(
                status: status, contentType: jsonContentType, body: Array(try jsonEncoder().encode(value)))
        } catch {
            return .error(status: 500, "cannot encode the response as JSON: \(error)")
        }
    }

    /// An error response: `{"error": message}`.
    public static func error(status: Int, _ message: String) -> ControlResponse {
        // Encoding a one-field struct of a String cannot fail; the fallback keeps this total.
        let body = (try? jsonEncoder().encode(ErrorBody(error: message))).map(Array.init) ?? Array(#"{"error":"?"}"#.utf8)
        return ControlResponse(status: status, contentType: jsonContentType, body: body)
    }

    /// A plain-text response.
    public static func text(_ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8")
        -> ControlResponse
    {
        ControlResponse(status: status, contentType: contentType, body: Array(text.utf8))
    }

    /// The `error` field when the body is a JSON object with a string `error` field, else `nil`.
    public var errorMessage: String? {
        (try? JSONDecoder().decode(ErrorBody.self, from: Data(body)))?.error
    }

    static let jsonContentType = "application/json"

    private static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// The body of every error response.
private struct ErrorBody: Codable {
    var error: String
}

/// Answers one control request. Handlers do not throw: every failure is a ``ControlResponse``
/// with an error status, so the transport never has to guess a status code.
public typealias ControlHandler = @Sendable (ControlRequest) async -> ControlResponse
