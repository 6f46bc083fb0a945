// An outcome as a client receives it.
import HubBytes

/// One outcome of a key, as the hub delivered it.
public struct HubOutcome: Sendable, Equatable {
    public var key: String
    /// Per key, from 1; lets a client drop duplicates after a reconnect.
    public var seq: UInt64
    public var id: String
    /// `completed`, `failed` (terminal) or `progress`.
    public var status: String
    /// The workflow's data (its variables, or those the model named).
    public var data: JSONValue
    /// Milliseconds since the epoch.
    public var publishedAt: Int64

    public var isTerminal: Bool { status != "progress" }

    init?(_ json: JSONValue) {
        guard json["type"]?.stringValue == "outcome", let key = json["key"]?.stringValue, let seq = json["seq"]?.intValue, seq > 0 else { return nil }
        self.key = key
        self.seq = UInt64(seq)
        id = json["id"]?.stringValue ?? ""
        status = json["status"]?.stringValue ?? "completed"
        data = json["data"] ?? .null
        publishedAt = Int64(json["publishedAt"]?.intValue ?? 0)
    }
}

/// Why an outcome wait ended without an outcome.
public enum HubClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No terminal outcome within the wait.
    case timedOut(key: String)
    /// The hub refused the subscription (bad key, bad or expired token, limits).
    case refused(key: String, code: String, message: String)
    case closed

    public var description: String {
        switch self {
        case .timedOut(let k): "no outcome for \(k) within the timeout"
        case .refused(let k, let c, let m): "hub refused \(k): \(c): \(m)"
        case .closed: "hub connection closed"
        }
    }
}
