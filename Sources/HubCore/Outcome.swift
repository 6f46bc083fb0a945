// An outcome and its wire form. The envelope is encoded once per publish and the same bytes go
// to every subscriber (WebSocket text message, SSE data line, long-poll body).
import HubBytes

/// `completed` and `failed` are terminal; `progress` reports a step on the way.
public enum OutcomeStatus: String, Sendable, CaseIterable {
    case completed, failed, progress
    public var isTerminal: Bool { self != .progress }
}

/// One published outcome of a key.
public struct Outcome: Sendable, Equatable {
    public var key: OutcomeKey
    /// Per key, from 1, without gaps.
    public var seq: UInt64
    public var id: String
    public var status: OutcomeStatus
    /// The published `data` JSON value, exactly as sent.
    public var data: [UInt8]
    /// Milliseconds since the epoch.
    public var publishedAt: Int64
    public var expiresAt: Int64
    /// The idempotency key the publisher gave (header or `id`), if any.
    public var idempotencyKey: String?

    public init(key: OutcomeKey, seq: UInt64, id: String, status: OutcomeStatus, data: [UInt8], publishedAt: Int64,
                expiresAt: Int64, idempotencyKey: String? = nil) {
        self.key = key; self.seq = seq; self.id = id; self.status = status; self.data = data
        self.publishedAt = publishedAt; self.expiresAt = expiresAt; self.idempotencyKey = idempotencyKey
    }

    /// Bytes this outcome is charged for against the store's limits.
    public var cost: Int { data.count + id.utf8.count + key.value.utf8.count + (idempotencyKey?.utf8.count ?? 0) + 64 }

    /// `{"type":"outcome","key":…,"seq":…,"id":…,"status":…,"publishedAt":…,"data":…}`
    public func envelope() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 128 + key.value.utf8.count + id.utf8.count)
        out.append(contentsOf: #"{"type":"outcome","key":""#.utf8)
        out.append(contentsOf: key.value.utf8)        // key characters need no escaping
        out.append(contentsOf: #"","seq":"#.utf8)
        out.append(contentsOf: String(seq).utf8)
        out.append(contentsOf: #","id":"#.utf8)
        out.append(contentsOf: JSONText.quoted(id).utf8)
        out.append(contentsOf: #","status":""#.utf8)
        out.append(contentsOf: status.rawValue.utf8)
        out.append(contentsOf: #"","publishedAt":"#.utf8)
        out.append(contentsOf: String(publishedAt).utf8)
        out.append(contentsOf: #","data":"#.utf8)
        out.append(contentsOf: data)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// Client-chosen names the hub stores (outcome ids, idempotency keys, session names): 1 to
/// 128 bytes, so a client cannot make the hub keep large strings. nil is fine (absent).
public func checkToken(_ value: String?, _ what: String) -> HubError? {
    guard let value else { return nil }
    return value.isEmpty || value.utf8.count > 128 ? .invalidOutcome("\(what) must be 1 to 128 bytes") : nil
}

/// What a publisher sends: parsed and validated from `{"status": …, "data": …, "id"?: …}`.
public struct PublishRequest: Sendable {
    public var key: OutcomeKey
    public var status: OutcomeStatus
    public var data: [UInt8]
    /// The publisher's outcome id (also an idempotency key) or nil to let the hub make one.
    public var id: String?
    public var idempotencyKey: String?

    public init(key: OutcomeKey, status: OutcomeStatus, data: [UInt8], id: String? = nil, idempotencyKey: String? = nil) {
        self.key = key; self.status = status; self.data = data; self.id = id; self.idempotencyKey = idempotencyKey
    }

    /// Parses a publish body. `status` defaults to `completed`; `data` defaults to `null` and may
    /// be any JSON value; unknown members are refused (a typo should not pass silently).
    public static func parse(key: OutcomeKey, body: [UInt8], idempotencyKey: String?, maxDataBytes: Int) -> Result<PublishRequest, HubError> {
        let members: JSONScanner.Members
        switch JSONScanner.objectMembers(body) {
        case .failure(let e): return .failure(.invalidOutcome("body is not a JSON object: \(e.description)"))
        case .success(let m): members = m
        }
        var status = OutcomeStatus.completed
        var data: [UInt8] = Array("null".utf8)
        var id: String?
        for (name, range) in members.ranges {
            switch name {
            case "status":
                guard let text = JSONScanner.stringValue(body, range), let s = OutcomeStatus(rawValue: text) else {
                    return .failure(.invalidOutcome("status must be one of completed, failed, progress"))
                }
                status = s
            case "data":
                data = Array(body[range])
            case "id":
                guard let text = JSONScanner.stringValue(body, range) else { return .failure(.invalidOutcome("id must be a string")) }
                if let error = checkToken(text, "id") { return .failure(error) }
                id = text
            default:
                return .failure(.invalidOutcome("unknown member \"\(name)\" (expected status, data, id)"))
            }
        }
        if data.count > maxDataBytes { return .failure(.outcomeTooLarge(maxDataBytes)) }
        if let error = checkToken(idempotencyKey, "Idempotency-Key") { return .failure(error) }
        return .success(PublishRequest(key: key, status: status, data: data, id: id, idempotencyKey: idempotencyKey ?? id))
    }
}
