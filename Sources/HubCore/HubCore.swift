// The hub's state machine: retained outcomes per key, subscriptions, idempotency, sessions and
// acks. Pure and deterministic: no I/O, no threads, time passed in (`nowMs`). The server wraps
// one instance in a Mutex; because subscribe (replay + register) and publish (append + fan-out
// list) are each one call under that lock, a subscriber racing a publish gets the outcome exactly
// once: in the replay if the publish came first, live otherwise.
//
//   publish ─▶ idempotent? ─▶ limits ─▶ seq = next ─▶ retain until expiry ─▶ subscribers to deliver to
//   subscribe(after, session) ─▶ replay (seq > max(after, acked)) ─▶ registered for live outcomes
//   ack(seq) ─▶ session remembers ─▶ terminal outcome acked by every subscriber ─▶ released early
//   expire(now) ─▶ the wheel's due items only

/// A subscriber somewhere in the server: its event loop and an id unique within the process.
public struct SubscriberRef: Hashable, Sendable {
    public var loop: Int
    public var id: UInt64
    public init(loop: Int, id: UInt64) { self.loop = loop; self.id = id }
}

/// What a publish did.
public struct PublishResult: Sendable {
    public var outcome: Outcome
    /// True when the idempotency key was seen before: the original outcome, delivered to nobody again.
    public var duplicate: Bool
    /// Who receives it now.
    public var subscribers: [SubscriberRef]
}

/// Counters for /metrics.
public struct HubCounters: Sendable {
    public var published = 0
    public var duplicates = 0
    public var expired = 0
    public var released = 0
    public var rejected = 0
}

public struct HubCore: Sendable {
    public let config: HubConfig

    struct KeyState: Sendable {
        var outcomes: [Outcome] = []
        var nextSeq: UInt64 = 1
        var bytes = 0
        var idempotency: [String: UInt64] = [:]
        var subscribers: [SubscriberRef] = []
        /// Highest seq each current subscriber acked (for early release).
        var acked: [SubscriberRef: UInt64] = [:]
        var tombstoneScheduled = false
    }

    struct Session: Sendable {
        var acks: [OutcomeKey: UInt64] = [:]
        var expiresAt: Int64
    }

    private var keys: [OutcomeKey: KeyState] = [:]
    private var sessions: [String: Session] = [:]
    private var subscriptionCounts: [SubscriberRef: Int] = [:]
    private var wheel: ExpiryWheel
    public private(set) var totalBytes = 0
    public private(set) var counters = HubCounters()

    public init(config: HubConfig = HubConfig(), nowMs: Int64) {
        self.config = config
        wheel = ExpiryWheel(nowMs: nowMs)
    }

    public var keyCount: Int { keys.count }
    public var retainedOutcomes: Int { keys.values.reduce(0) { $0 + $1.outcomes.count } }
    public var subscriptionCount: Int { subscriptionCounts.values.reduce(0, +) }

    // MARK: publish

    public mutating func publish(_ request: PublishRequest, generatedID: @autoclosure () -> String, nowMs: Int64) -> Result<PublishResult, HubError> {
        let key = request.key
        if let idem = request.idempotencyKey, let state = keys[key], let seq = state.idempotency[idem],
           let original = state.outcomes.first(where: { $0.seq == seq }) {
            counters.duplicates += 1
            return .success(PublishResult(outcome: original, duplicate: true, subscribers: []))
        }
        if request.data.count > config.maxDataBytes {
            counters.rejected += 1
            return .failure(.outcomeTooLarge(config.maxDataBytes))
        }
        if keys[key] == nil && keys.count >= config.maxKeys {
            counters.rejected += 1
            return .failure(.storeFull("the hub holds \(config.maxKeys) keys"))
        }
        if keys[key] == nil { keys[key] = KeyState() }
        let outcome = Outcome(key: key, seq: keys[key]!.nextSeq, id: request.id ?? generatedID(), status: request.status,
                              data: request.data, publishedAt: nowMs, expiresAt: nowMs + config.retentionMs,
                              idempotencyKey: request.idempotencyKey)
        let cost = outcome.cost
        let (limits, total) = (config, totalBytes)
        // Mutated in place through the dictionary's accessor: copying the state out and back would
        // copy the key's outcome array on every publish (copy-on-write sees two owners).
        let subscribers = update(key) { state -> Result<[SubscriberRef], HubError> in
            if state.outcomes.count >= limits.maxOutcomesPerKey || state.bytes + cost > limits.maxBytesPerKey {
                return .failure(.keyFull("key \(key) holds its maximum of \(limits.maxOutcomesPerKey) outcomes or \(limits.maxBytesPerKey) bytes"))
            }
            if total + cost > limits.maxTotalBytes {
                return .failure(.storeFull("the hub's retained outcomes reached \(limits.maxTotalBytes) bytes"))
            }
            state.nextSeq += 1
            state.outcomes.append(outcome)
            state.bytes += cost
            state.tombstoneScheduled = false
            if let idem = outcome.idempotencyKey { state.idempotency[idem] = outcome.seq }
            return .success(state.subscribers)
        }
        switch subscribers {
        case .failure(let error):
            counters.rejected += 1
            forgetIfIdle(key, nowMs: nowMs)
            return .failure(error)
        case .success(let subscribers):
            totalBytes += cost
            wheel.add(.outcome(key, outcome.seq), atMs: outcome.expiresAt)
            counters.published += 1
            return .success(PublishResult(outcome: outcome, duplicate: false, subscribers: subscribers))
        }
    }

    /// Runs `body` on the key's state in place (the key must exist).
    private mutating func update<R>(_ key: OutcomeKey, _ body: (inout KeyState) -> R) -> R {
        body(&keys[key, default: KeyState()])
    }

    /// Restores an outcome read back from a durable store (keeps its seq, id and expiry).
    public mutating func restore(_ outcome: Outcome, nowMs: Int64) {
        guard outcome.expiresAt > nowMs else { return }
        var state = keys[outcome.key] ?? KeyState()
        guard !state.outcomes.contains(where: { $0.seq == outcome.seq }) else { return }
        state.outcomes.append(outcome)
        state.outcomes.sort { $0.seq < $1.seq }
        state.nextSeq = max(state.nextSeq, outcome.seq + 1)
        state.bytes += outcome.cost
        if let idem = outcome.idempotencyKey { state.idempotency[idem] = outcome.seq }
        totalBytes += outcome.cost
        keys[outcome.key] = state
        wheel.add(.outcome(outcome.key, outcome.seq), atMs: outcome.expiresAt)
    }

    // MARK: subscribe

    /// Registers `subscriber` for live outcomes of `key` and returns the retained ones to replay
    /// first: those after `after` and after what `session` acked. If `after` is beyond anything the
    /// key ever had (its history was forgotten after expiry), everything retained is replayed.
    public mutating func subscribe(_ subscriber: SubscriberRef, to key: OutcomeKey, after: UInt64? = nil,
                                   session: String? = nil, nowMs: Int64) -> Result<[Outcome], HubError> {
        let known = keys[key]
        if known?.subscribers.contains(subscriber) != true {
            if subscriptionCounts[subscriber, default: 0] >= config.maxSubscriptionsPerSubscriber {
                return .failure(.keyFull("at most \(config.maxSubscriptionsPerSubscriber) subscriptions per connection"))
            }
            if known == nil && keys.count >= config.maxKeys {
                return .failure(.storeFull("the hub holds \(config.maxKeys) keys"))
            }
            subscriptionCounts[subscriber, default: 0] += 1
            update(key) { $0.subscribers.append(subscriber) }
        }
        var start = after ?? 0
        if let session, let acked = sessions[session]?.acks[key] { start = max(start, acked) }
        let state = keys[key]!
        if start >= state.nextSeq { start = 0 }
        return .success(state.outcomes.filter { $0.seq > start })
    }

    public mutating func unsubscribe(_ subscriber: SubscriberRef, from key: OutcomeKey, nowMs: Int64) {
        guard let index = keys[key]?.subscribers.firstIndex(of: subscriber) else { return }
        update(key) { state in
            state.subscribers.remove(at: index)
            state.acked[subscriber] = nil
        }
        if let n = subscriptionCounts[subscriber] { subscriptionCounts[subscriber] = n > 1 ? n - 1 : nil }
        forgetIfIdle(key, nowMs: nowMs)
    }

    /// Removes every subscription of `subscriber` (its connection closed).
    public mutating func unsubscribeAll(_ subscriber: SubscriberRef, keys subscribed: [OutcomeKey], nowMs: Int64) {
        for key in subscribed { unsubscribe(subscriber, from: key, nowMs: nowMs) }
        subscriptionCounts[subscriber] = nil
    }

    /// Retained outcomes of `key` after `after` (long-poll and SSE reads without subscribing).
    public func outcomes(of key: OutcomeKey, after: UInt64 = 0) -> [Outcome] {
        keys[key]?.outcomes.filter { $0.seq > after } ?? []
    }

    public func subscribers(of key: OutcomeKey) -> [SubscriberRef] { keys[key]?.subscribers ?? [] }

    // MARK: acks

    /// Records that `subscriber` (and its `session`, if any) processed `key` up to `seq`.
    /// Returns true when this released the key early: its last outcome is terminal and every
    /// current subscriber has acked it, so nobody can still need the retained outcomes.
    @discardableResult
    public mutating func ack(_ subscriber: SubscriberRef, key: OutcomeKey, seq: UInt64, session: String?, nowMs: Int64) -> Bool {
        // Only a current subscriber's ack counts: otherwise a client could grow sessions without
        // bound by acking keys it never subscribed to.
        guard keys[key]?.subscribers.contains(subscriber) == true else { return false }
        if let session {
            if sessions[session] == nil { wheel.add(.session(session), atMs: nowMs + config.retentionMs) }
            sessions[session, default: Session(expiresAt: 0)].acks[key] = max(sessions[session]?.acks[key] ?? 0, seq)
            sessions[session]!.expiresAt = nowMs + config.retentionMs
        }
        let releasable = update(key) { state -> Bool in
            state.acked[subscriber] = max(state.acked[subscriber] ?? 0, seq)
            guard let last = state.outcomes.last, last.status.isTerminal else { return false }
            return state.subscribers.allSatisfy { (state.acked[$0] ?? 0) >= last.seq }
        }
        guard releasable else { return false }
        release(key, nowMs: nowMs)
        counters.released += 1
        return true
    }

    private mutating func release(_ key: OutcomeKey, nowMs: Int64) {
        guard var state = keys[key] else { return }
        totalBytes -= state.bytes
        state.bytes = 0
        state.outcomes = []
        state.idempotency = [:]
        keys[key] = state
        scheduleTombstone(key, nowMs: nowMs)
    }

    // MARK: expiry

    /// Removes what expired by `nowMs`; returns the number of outcomes removed.
    @discardableResult
    public mutating func expire(nowMs: Int64) -> Int {
        var removed = 0
        for item in wheel.due(nowMs: nowMs) {
            switch item {
            case .outcome(let key, let seq):
                guard keys[key] != nil else { continue }
                let (outcome, nowEmpty) = update(key) { state -> (Outcome?, Bool) in
                    guard let index = state.outcomes.firstIndex(where: { $0.seq == seq }) else { return (nil, false) }
                    let outcome = state.outcomes.remove(at: index)
                    state.bytes -= outcome.cost
                    if let idem = outcome.idempotencyKey, state.idempotency[idem] == seq { state.idempotency[idem] = nil }
                    return (outcome, state.outcomes.isEmpty)
                }
                guard let outcome else { continue }
                totalBytes -= outcome.cost
                removed += 1
                if nowEmpty { scheduleTombstone(key, nowMs: nowMs) }
            case .tombstone(let key):
                guard var state = keys[key] else { continue }
                state.tombstoneScheduled = false
                keys[key] = state
                if state.outcomes.isEmpty && state.subscribers.isEmpty { keys[key] = nil }
            case .session(let name):
                guard let s = sessions[name] else { continue }
                if s.expiresAt <= nowMs { sessions[name] = nil } else { wheel.add(.session(name), atMs: s.expiresAt) }
            }
        }
        counters.expired += removed
        return removed
    }

    /// Keeps an empty key's sequence counter for one retention period, so a subscriber resuming
    /// with `after` does not see numbering restart while it could still care.
    private mutating func scheduleTombstone(_ key: OutcomeKey, nowMs: Int64) {
        guard var state = keys[key], !state.tombstoneScheduled else { return }
        state.tombstoneScheduled = true
        keys[key] = state
        wheel.add(.tombstone(key), atMs: nowMs + config.retentionMs)
    }

    private mutating func forgetIfIdle(_ key: OutcomeKey, nowMs: Int64) {
        guard let state = keys[key], state.outcomes.isEmpty, state.subscribers.isEmpty else { return }
        if state.nextSeq == 1 { keys[key] = nil } else { scheduleTombstone(key, nowMs: nowMs) }
    }
}
