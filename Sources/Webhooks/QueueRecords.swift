// The queue's records in the store (latest wins per id):
//   webhook-queue:<endpoint>:<key>    the key's mark and its pending deliveries, envelopes included
//   webhook-dead:<endpoint>:<key:seq> one dead letter
// A record whose queue is gone is written with an expiry in the past: compaction drops it.
import HubBytes
import HubCore

extension DeliveryQueue {
    public static func queueRecordID(_ qid: QueueID) -> String { "webhook-queue:\(qid.endpoint):\(qid.key)" }
    public static func deadLetterRecordID(_ endpoint: String, _ id: String) -> String { "webhook-dead:\(endpoint):\(id)" }

    /// The record for one FIFO as it stands now: (id, body, expiresAt); expired when nothing is left.
    public func queueRecord(_ qid: QueueID, nowMs: Int64) -> (id: String, body: [UInt8], expiresAt: Int64) {
        let id = Self.queueRecordID(qid)
        guard let mark = marks[qid] else { return (id, Array("{}".utf8), nowMs - 1) }
        let list = pending[qid] ?? []
        let body: JSONValue = [
            "endpoint": .string(qid.endpoint), "key": .string(qid.key), "mark": .number(String(mark.seq)),
            "markExpiresAt": .number(String(mark.expiresAt)), "pending": .array(list.map(Self.deliveryJSON)),
        ]
        // Kept while the key's outcomes are retained, and while any delivery may still be retried.
        let expiresAt = max(mark.expiresAt, list.map { $0.queuedAt + schedule.spanMs + 3_600_000 }.max() ?? 0)
        return (id, Array(body.serialized().utf8), expiresAt)
    }

    public func deadLetterRecord(_ endpoint: String, _ id: String, nowMs: Int64) -> (id: String, body: [UInt8], expiresAt: Int64) {
        let recordID = Self.deadLetterRecordID(endpoint, id)
        guard let dead = deadLetters[endpoint]?[id] else { return (recordID, Array("{}".utf8), nowMs - 1) }
        let body: JSONValue = ["delivery": Self.deliveryJSON(dead.delivery), "reason": .string(dead.reason), "deadAt": .number(String(dead.deadAt))]
        return (recordID, Array(body.serialized().utf8), dead.deadAt + limits.deadLetterRetentionMs)
    }

    static func deliveryJSON(_ d: Delivery) -> JSONValue {
        [
            "endpoint": .string(d.endpointID), "key": .string(d.key), "seq": .number(String(d.seq)), "id": .string(d.outcomeID),
            "status": .string(d.status.rawValue), "envelope": .string(String(decoding: d.envelope, as: UTF8.self)),
            "attempts": JSONValue(d.attempts), "nextAttemptAt": .number(String(d.nextAttemptAt)), "queuedAt": .number(String(d.queuedAt)),
            "lastError": d.lastError.map { .string($0) } ?? .null,
        ]
    }

    static func delivery(_ j: JSONValue) -> Delivery? {
        guard let endpoint = j["endpoint"]?.stringValue, let key = j["key"]?.stringValue, let seq = j["seq"]?.intValue,
              let id = j["id"]?.stringValue, let status = j["status"]?.stringValue.flatMap(OutcomeStatus.init(rawValue:)),
              let envelope = j["envelope"]?.stringValue, let next = j["nextAttemptAt"]?.intValue, let queued = j["queuedAt"]?.intValue else { return nil }
        var d = Delivery(endpointID: endpoint, key: key, seq: UInt64(seq), outcomeID: id, status: status, envelope: Array(envelope.utf8),
                         nextAttemptAt: Int64(next), queuedAt: Int64(queued))
        d.attempts = j["attempts"]?.intValue ?? 0
        d.lastError = j["lastError"]?.stringValue
        return d
    }

    /// Restores one record found at start (a queue or a dead letter); unknown ones are ignored.
    /// A delivery that was in flight when the hub stopped is due again at once (receivers
    /// deduplicate by `webhook-id`).
    public mutating func restore(recordID: String, body: [UInt8], nowMs: Int64) {
        guard case .success(let j) = JSONValue.parse(body) else { return }
        if recordID.hasPrefix("webhook-queue:") {
            guard let endpoint = j["endpoint"]?.stringValue, let key = j["key"]?.stringValue, let mark = j["mark"]?.intValue,
                  let markExpires = j["markExpiresAt"]?.intValue else { return }
            let qid = QueueID(endpoint: endpoint, key: key)
            marks[qid] = (UInt64(mark), Int64(markExpires))
            let list = (j["pending"]?.arrayValue ?? []).compactMap(Self.delivery).sorted { $0.seq < $1.seq }
            if let head = list.first {
                pending[qid] = list
                pendingCount[endpoint, default: 0] += list.count
                if head.nextAttemptAt <= nowMs { ready[endpoint, default: ReadyList()].push(qid) } else { retries.push(head.nextAttemptAt, qid) }
            }
        } else if recordID.hasPrefix("webhook-dead:") {
            guard let d = j["delivery"].flatMap(Self.delivery), let reason = j["reason"]?.stringValue, let at = j["deadAt"]?.intValue else { return }
            let dead = DeadLetter(delivery: d, reason: reason, deadAt: Int64(at))
            deadLetters[d.endpointID, default: [:]][dead.id] = dead
        }
    }
}
