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
        [UInt8](unsafeUninitializedCapacity: envelopeCount) { buffer, initialized in
            initialized = writeEnvelope(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    private static let envelopeParts = (
        start: Array(#"{"type":"outcome","key":""#.utf8), seq: Array(#"","seq":"#.utf8), id: Array(#","id":"#.utf8),
        status: Array(#","status":""#.utf8), publishedAt: Array(#"","publishedAt":"#.utf8), data: Array(#","data":"#.utf8))

    /// The envelope's length in bytes, so a buffer can be sized before it is written (the
    /// delivered frame puts its header in front of it in one allocation).
    public var envelopeCount: Int {
        let p = Self.envelopeParts
        return p.start.count + key.value.utf8.count + p.seq.count + decimalCount(seq) + p.id.count + quotedIDCount
            + p.status.count + status.rawValue.utf8.count + p.publishedAt.count + decimalCount(UInt64(max(0, publishedAt)))
            + p.data.count + data.count + 1
    }

    /// Writes the envelope at the start of `out` (at least `envelopeCount` bytes); returns its length.
    public func writeEnvelope(into out: UnsafeMutableRawBufferPointer) -> Int {
        precondition(out.count >= envelopeCount, "envelope buffer too small")
        var at = 0
        func put(_ bytes: some Collection<UInt8>) {
            for byte in bytes { out[at] = byte; at += 1 }
        }
        func putDecimal(_ value: UInt64) {
            let n = decimalCount(value)
            var v = value
            for i in stride(from: n - 1, through: 0, by: -1) { out[at + i] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 }
            at += n
        }
        let p = Self.envelopeParts
        put(p.start); put(key.value.utf8)          // key characters need no escaping
        put(p.seq); putDecimal(seq)
        put(p.id)
        if idNeedsEscaping { put(JSONText.quoted(id).utf8) } else { put(CollectionOfOne(UInt8(ascii: "\""))); put(id.utf8); put(CollectionOfOne(UInt8(ascii: "\""))) }
        put(p.status); put(status.rawValue.utf8)
        put(p.publishedAt); putDecimal(UInt64(max(0, publishedAt)))
        put(p.data)
        data.withUnsafeBytes { src in
            if let base = src.baseAddress, src.count > 0 { (out.baseAddress! + at).copyMemory(from: base, byteCount: src.count) }
        }
        at += data.count
        out[at] = UInt8(ascii: "}")
        return at + 1
    }

    /// Generated and most client ids are printable ASCII without quotes or backslashes.
    private var idNeedsEscaping: Bool { !id.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C } }
    private var quotedIDCount: Int { idNeedsEscaping ? JSONText.quoted(id).utf8.count : id.utf8.count + 2 }
}

private func decimalCount(_ value: UInt64) -> Int {
    var n = 1, v = value
    while v >= 10 { v /= 10; n += 1 }
    return n
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
        var data: [UInt8]?
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
        if let data, data.count > maxDataBytes { return .failure(.outcomeTooLarge(maxDataBytes)) }
        if let error = checkToken(idempotencyKey, "Idempotency-Key") { return .failure(error) }
        return .success(PublishRequest(key: key, status: status, data: data ?? Array("null".utf8), id: id, idempotencyKey: idempotencyKey ?? id))
    }
}
