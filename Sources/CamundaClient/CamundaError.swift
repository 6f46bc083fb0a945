// What a Camunda REST call can end in, besides success: the RFC 9457 problem detail the API
// returned, or a transport failure that never produced one.
import HTTPClient
import HubBytes

/// An RFC 9457 problem detail (`application/problem+json`), as Camunda's REST API v2 returns.
public struct ProblemDetail: Error, Sendable, Equatable, CustomStringConvertible {
    public var type: String
    /// Camunda puts the rejection name here: NOT_FOUND, INVALID_ARGUMENT, INVALID_STATE, ...
    public var title: String
    public var status: Int
    public var detail: String
    public var instance: String?

    public var description: String { "\(status) \(title): \(detail)" }

    /// Decodes an error response (any body: a non-JSON one becomes the detail).
    public init(status: Int, body: [UInt8]) {
        let json = (try? JSONValue.parse(body).get()) ?? .null
        type = json["type"]?.stringValue ?? "about:blank"
        title = json["title"]?.stringValue ?? "HTTP \(status)"
        self.status = json["status"]?.intValue ?? status
        detail = json["detail"]?.stringValue ?? String(decoding: body.prefix(512), as: UTF8.self)
        instance = json["instance"]?.stringValue
    }
}

/// Every failure of a `CamundaClient` call.
public enum CamundaError: Error, Sendable, CustomStringConvertible {
    /// The API refused the call.
    case problem(ProblemDetail)
    /// No answer: connect, timeout, closed connection.
    case transport(HTTPClientError)
    /// Credentials could not be obtained (OAuth token endpoint).
    case authentication(String)
    /// A 2xx answer that is not what the API documents.
    case unexpectedResponse(String)

    public var description: String {
        switch self {
        case .problem(let p): "Camunda refused the call: \(p)"
        case .transport(let e): "Camunda unreachable: \(e)"
        case .authentication(let s): "Camunda authentication failed: \(s)"
        case .unexpectedResponse(let s): "unexpected Camunda response: \(s)"
        }
    }

    /// The problem detail, when the API answered with one.
    public var problem: ProblemDetail? { if case .problem(let p) = self { return p }; return nil }
}
