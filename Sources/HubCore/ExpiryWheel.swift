// A timing wheel with one-second slots: outcomes, key tombstones and ack sessions are filed under
// the second they expire and removed when that second passes, so expiry costs O(what expires),
// never a scan of everything.

/// What the wheel expires.
public enum Expiring: Hashable, Sendable {
    case outcome(OutcomeKey, UInt64)
    /// A key with no outcomes left: forget its sequence counter.
    case tombstone(OutcomeKey)
    case session(String)
}

public struct ExpiryWheel: Sendable {
    private var slots: [Int64: [Expiring]] = [:]
    /// The first second not yet expired.
    private var cursor: Int64

    public init(nowMs: Int64) { cursor = nowMs / 1000 }

    public var count: Int { slots.values.reduce(0) { $0 + $1.count } }

    public mutating func add(_ item: Expiring, atMs: Int64) {
        // Rounded up: nothing expires before its time.
        let second = max((atMs + 999) / 1000, cursor)
        slots[second, default: []].append(item)
    }

    /// Everything due by `nowMs`.
    public mutating func due(nowMs: Int64) -> [Expiring] {
        let now = nowMs / 1000
        var out: [Expiring] = []
        // After a long pause, jump over empty seconds instead of visiting each.
        if now - cursor > Int64(slots.count) * 4 {
            for second in slots.keys.filter({ $0 <= now }).sorted() { out += slots.removeValue(forKey: second)! }
            cursor = now + 1
            return out
        }
        while cursor <= now {
            if let items = slots.removeValue(forKey: cursor) { out += items }
            cursor += 1
        }
        return out
    }
}
