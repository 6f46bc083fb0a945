// A refused engine command, carried to the client as an RFC 9457 problem detail, with the
// rejection names Camunda's REST API v2 uses as titles.
import HubBytes

/// A refused command: HTTP status, Camunda rejection name, detail.
public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var title: String
    public var detail: String

    public init(_ status: Int, _ title: String, _ detail: String) { self.status = status; self.title = title; self.detail = detail }

    public static func invalidArgument(_ d: String) -> EngineError { EngineError(400, "INVALID_ARGUMENT", d) }
    public static func notFound(_ d: String) -> EngineError { EngineError(404, "NOT_FOUND", d) }
    public static func invalidState(_ d: String) -> EngineError { EngineError(409, "INVALID_STATE", d) }
    public static func alreadyExists(_ d: String) -> EngineError { EngineError(409, "ALREADY_EXISTS", d) }
    public static func exhausted(_ d: String) -> EngineError { EngineError(429, "RESOURCE_EXHAUSTED", d) }

    public var description: String { "\(status) \(title): \(detail)" }

    /// `application/problem+json` body.
    public func problemJSON(instance: String) -> String {
        JSONValue.object(["type": "about:blank", "title": .string(title), "status": JSONValue(status),
                          "detail": .string(detail), "instance": .string(instance)]).serialized()
    }
}
