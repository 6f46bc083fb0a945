// The webhook delivery queue as a pure state machine: one FIFO per (endpoint, key), so each
// endpoint gets a key's outcomes in seq order while a failing key or endpoint holds up nothing
// else; a per-endpoint cap on requests in flight and on deliveries queued; retries on the
// schedule, then a dead letter that can be replayed. The service persists what each command
// reports changed and replays the records at start.
//
//   enqueue ─▶ pending (head of its key's FIFO) ─▶ due ─▶ in flight ─▶ delivered: next in FIFO
//                                                              └─▶ failed: retry at schedule │ spent: dead letter
import HubBytes
import HubCore

/// One (endpoint, key) FIFO.
public struct QueueID: Hashable, Sendable {
    public var endpoint: String
    public var key: String
    public init(endpoint: String, key: String) { self.endpoint = endpoint; self.key = key }
}

/// One outcome on its way to one endpoint.
public struct Delivery: Sendable, Equatable {
    public var endpointID: String
    public var key: String
    public var seq: UInt64
    /// The outcome's id: the `webhook-id` receivers deduplicate by.
    public var outcomeID: String
    public var status: OutcomeStatus
    /// The outcome envelope, the same bytes a subscriber receives.
    public var envelope: [UInt8]
    public var attempts = 0
    public var nextAttemptAt: Int64
    public var queuedAt: Int64
    public var lastError: String?
    var inFlight = false
}

/// A delivery whose schedule is spent (or that could not be queued): kept to be looked at and replayed.
public struct DeadLetter: Sendable, Equatable {
    public var delivery: Delivery
    public var reason: String
    public var deadAt: Int64
    /// Unique per endpoint: the key and seq.
    public var id: String { "\(delivery.key):\(delivery.seq)" }
}

/// How one attempt ended.
public enum AttemptResult: Sendable, Equatable {
    case delivered
    /// 410 Gone: the endpoint unregisters itself.
    case gone
    case failed(String)
}

public struct DeliveryLimits: Sendable {
    public var maxInFlightPerEndpoint = 4
    /// Deliveries queued per endpoint; beyond, new ones are dead-lettered at once (never dropped).
    public var maxPendingPerEndpoint = 10_000
    public var maxDeadLettersPerEndpoint = 10_000
    public var deadLetterRetentionMs: Int64 = 7 * 86_400_000
    public init() {}
}

/// What a command changed, for the store.
public struct QueueChanges: Sendable, Equatable {
    public var queues: Set<QueueID> = []
    public var deadLetters: Set<String> = []        // "endpoint dead-letter-id"
    public var removedDeadLetters: Set<String> = []
    public init() {}
    public var isEmpty: Bool { queues.isEmpty && deadLetters.isEmpty && removedDeadLetters.isEmpty }
    public mutating func merge(_ other: QueueChanges) {
        queues.formUnion(other.queues); deadLetters.formUnion(other.deadLetters); removedDeadLetters.formUnion(other.removedDeadLetters)
    }
}

public struct DeliveryQueue: Sendable {
    public let schedule: RetrySchedule
    public let limits: DeliveryLimits
    /// Highest seq queued per (endpoint, key), kept while the key's outcomes are retained, so a
    /// restart that re-reads retained outcomes queues only those not queued before.
    var marks: [QueueID: (seq: UInt64, expiresAt: Int64)] = [:]
    var pending: [QueueID: [Delivery]] = [:]
    var pendingCount: [String: Int] = [:]
    var inFlight: [String: Int] = [:]
    /// FIFOs whose head is due now, per endpoint; retries by time (see ReadyQueues.swift).
    var ready: [String: ReadyList] = [:]
    var retries = RetryHeap()
    public internal(set) var deadLetters: [String: [String: DeadLetter]] = [:]

    public init(schedule: RetrySchedule = .standard, limits: DeliveryLimits = DeliveryLimits()) {
        self.schedule = schedule; self.limits = limits
    }

    // MARK: commands

    /// Queues `outcome` for `endpoint` unless a seq at least as high was queued before.
    public mutating func enqueue(_ outcome: Outcome, endpoint: String, nowMs: Int64) -> QueueChanges {
        let qid = QueueID(endpoint: endpoint, key: outcome.key.value)
        var changes = QueueChanges()
        if let mark = marks[qid], mark.seq >= outcome.seq { return changes }
        marks[qid] = (outcome.seq, max(marks[qid]?.expiresAt ?? 0, outcome.expiresAt))
        changes.queues.insert(qid)
        let delivery = Delivery(endpointID: endpoint, key: outcome.key.value, seq: outcome.seq, outcomeID: outcome.id, status: outcome.status,
                                envelope: outcome.envelope(), nextAttemptAt: nowMs, queuedAt: nowMs)
        if pendingCount[endpoint, default: 0] >= limits.maxPendingPerEndpoint {
            changes.merge(bury(delivery, reason: "the endpoint's queue is full (\(limits.maxPendingPerEndpoint) deliveries pending)", nowMs: nowMs))
            return changes
        }
        let wasEmpty = pending[qid] == nil
        pending[qid, default: []].append(delivery)
        pendingCount[endpoint, default: 0] += 1
        if wasEmpty { ready[endpoint, default: ReadyList()].push(qid) }
        return changes
    }

    /// Deliveries to attempt now (each marked in flight): the due head of each FIFO, in the order
    /// they became due, within each endpoint's in-flight cap. Costs what it returns.
    public mutating func due(nowMs: Int64) -> [Delivery] {
        while let top = retries.first, top.at <= nowMs {
            _ = retries.pop()
            ready[top.qid.endpoint, default: ReadyList()].push(top.qid)
        }
        var out: [Delivery] = []
        for endpoint in Array(ready.keys) where inFlight[endpoint, default: 0] < limits.maxInFlightPerEndpoint {
            // Taken out of the dictionary while it changes, so the list is not copied (copy on write).
            var list = ready.removeValue(forKey: endpoint)!
            var held: [QueueID] = []
            while inFlight[endpoint, default: 0] < limits.maxInFlightPerEndpoint, let qid = list.pop() {
                // A stale entry (the FIFO moved on or is in flight) is skipped; one not yet due waits.
                guard let head = pending[qid]?.first, !head.inFlight else { continue }
                guard head.nextAttemptAt <= nowMs else { held.append(qid); continue }
                inFlight[endpoint, default: 0] += 1
                pending[qid]![0].inFlight = true
                var sent = head
                sent.inFlight = true
                out.append(sent)
            }
            for qid in held { retries.push(pending[qid]![0].nextAttemptAt, qid) }
            ready[endpoint] = list.isEmpty ? nil : list
        }
        return out
    }

    /// Records how an attempt ended. `jitter` in [-1, 1] spreads the retry. Returns the changes,
    /// and true when the endpoint said it is gone (the caller unregisters it).
    public mutating func finish(_ delivery: Delivery, _ result: AttemptResult, nowMs: Int64, jitter: Double) -> (QueueChanges, gone: Bool) {
        let qid = QueueID(endpoint: delivery.endpointID, key: delivery.key)
        guard var list = pending[qid], let head = list.first, head.seq == delivery.seq, head.inFlight else { return (QueueChanges(), false) }
        inFlight[qid.endpoint, default: 1] -= 1
        var changes = QueueChanges()
        changes.queues.insert(qid)
        switch result {
        case .gone:
            list[0].inFlight = false
            pending[qid] = list
            return (changes, true)
        case .delivered:
            list.removeFirst()
            pendingCount[qid.endpoint, default: 1] -= 1
            if !list.isEmpty { ready[qid.endpoint, default: ReadyList()].push(qid) }
        case .failed(let reason):
            list[0].attempts += 1
            list[0].lastError = reason
            list[0].inFlight = false
            if let next = schedule.nextAttempt(after: list[0].attempts, nowMs: nowMs, jitter: jitter) {
                list[0].nextAttemptAt = next
                retries.push(next, qid)
            } else {
                let dead = list.removeFirst()
                pendingCount[qid.endpoint, default: 1] -= 1
                changes.merge(bury(dead, reason: "\(dead.attempts) attempts failed; the last: \(reason)", nowMs: nowMs))
                if !list.isEmpty { ready[qid.endpoint, default: ReadyList()].push(qid) }
            }
        }
        pending[qid] = list.isEmpty ? nil : list
        return (changes, false)
    }

    /// Queues a dead letter again, at the end of its key's FIFO, with a fresh schedule.
    public mutating func replay(endpoint: String, deadLetter id: String, nowMs: Int64) -> QueueChanges? {
        guard let dead = deadLetters[endpoint]?.removeValue(forKey: id) else { return nil }
        var delivery = dead.delivery
        delivery.attempts = 0
        delivery.nextAttemptAt = nowMs
        delivery.queuedAt = nowMs
        delivery.inFlight = false
        let qid = QueueID(endpoint: endpoint, key: delivery.key)
        let wasEmpty = pending[qid] == nil
        pending[qid, default: []].append(delivery)
        pendingCount[endpoint, default: 0] += 1
        if wasEmpty { ready[endpoint, default: ReadyList()].push(qid) }
        var changes = QueueChanges()
        changes.queues.insert(qid)
        changes.removedDeadLetters.insert("\(endpoint) \(id)")
        return changes
    }

    /// Forgets everything of an endpoint (unregistered); returns what the store must forget.
    public mutating func remove(endpoint: String) -> QueueChanges {
        var changes = QueueChanges()
        for qid in Set(marks.keys).union(pending.keys) where qid.endpoint == endpoint {
            marks[qid] = nil
            pending[qid] = nil
            changes.queues.insert(qid)
        }
        for id in (deadLetters[endpoint] ?? [:]).keys { changes.removedDeadLetters.insert("\(endpoint) \(id)") }
        deadLetters[endpoint] = nil
        pendingCount[endpoint] = nil
        inFlight[endpoint] = nil
        ready[endpoint] = nil       // its entries in `retries` go stale and are skipped
        return changes
    }

    /// Drops marks of keys whose outcomes have all expired, and old dead letters.
    public mutating func expire(nowMs: Int64) -> QueueChanges {
        var changes = QueueChanges()
        for (qid, mark) in marks where mark.expiresAt <= nowMs && pending[qid] == nil {
            marks[qid] = nil
            changes.queues.insert(qid)
        }
        for (endpoint, letters) in deadLetters {
            for (id, dead) in letters where dead.deadAt + limits.deadLetterRetentionMs <= nowMs {
                deadLetters[endpoint]![id] = nil
                changes.removedDeadLetters.insert("\(endpoint) \(id)")
            }
        }
        return changes
    }

    private mutating func bury(_ delivery: Delivery, reason: String, nowMs: Int64) -> QueueChanges {
        var delivery = delivery
        delivery.inFlight = false
        let dead = DeadLetter(delivery: delivery, reason: reason, deadAt: nowMs)
        var changes = QueueChanges()
        var letters = deadLetters[delivery.endpointID] ?? [:]
        if letters.count >= limits.maxDeadLettersPerEndpoint, let oldest = letters.values.min(by: { $0.deadAt < $1.deadAt }) {
            letters[oldest.id] = nil
            changes.removedDeadLetters.insert("\(delivery.endpointID) \(oldest.id)")
        }
        letters[dead.id] = dead
        deadLetters[delivery.endpointID] = letters
        changes.deadLetters.insert("\(delivery.endpointID) \(dead.id)")
        return changes
    }

    // MARK: reading

    /// When `due` may next return something: now when a FIFO is ready under its endpoint's cap,
    /// else the earliest retry (nil: nothing waits for time). May be early (stale entries), never late.
    public func nextDueAt(nowMs: Int64) -> Int64? {
        for (endpoint, list) in ready where !list.isEmpty && inFlight[endpoint, default: 0] < limits.maxInFlightPerEndpoint { return nowMs }
        return retries.first?.at
    }

    public func pendingCount(endpoint: String) -> Int { pendingCount[endpoint, default: 0] }
    public func inFlightCount(endpoint: String) -> Int { inFlight[endpoint, default: 0] }
    public var totalPending: Int { pendingCount.values.reduce(0, +) }

    /// The deliveries queued for an endpoint, oldest first (for the API).
    public func pendingDeliveries(endpoint: String) -> [Delivery] {
        pending.filter { $0.key.endpoint == endpoint }.values.flatMap { $0 }.sorted { ($0.queuedAt, $0.seq) < ($1.queuedAt, $1.seq) }
    }
}
