// The hub's state machine: retained outcomes per key, subscriptions, idempotency, sessions and
// acks. Pure and deterministic: no I/O, no threads, time passed in (`nowMs`). The server splits
// keys over several instances (shards, by key hash), each in its own Mutex, sharing one
// `HubBudget` for the hub-wide limits; a key lives in one shard, so everything about a key is
// decided under one lock. Because subscribe (replay + register) and publish (append + fan-out
// list) are each one call under that lock, a subscriber racing a publish gets the outcome exactly
// once: in the replay if the publish came first, live otherwise.
//
//   reserve ─▶ idempotent? ─▶ limits ─▶ seq = next, in flight (invisible) ─▶ the store writes it ─▶
//     commit  ─▶ retained until expiry, subscribers to deliver to (in seq order)
//     abandon ─▶ gone without a trace: no idempotency entry, no bytes, the seq given again if it was the last
//   publish = reserve + commit at once (a store that keeps nothing beyond memory)
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
    /// Shared mode: the other nodes that follow the key (each for subscribers of its own).
    public var otherNodes = 0

    public init(outcome: Outcome, duplicate: Bool, subscribers: [SubscriberRef]) {
        self.outcome = outcome; self.duplicate = duplicate; self.subscribers = subscribers
    }
}

/// What `reserve` decided about a publish.
public enum PublishReservation: Sendable, Equatable {
    /// A new outcome with its seq, invisible until the store holds it: then `commit` (or `abandon`).
    case new(Outcome)
    /// The idempotency key names an outcome the store holds: answer with it, deliver nothing.
    case duplicate(Outcome)
    /// The idempotency key names an outcome still being stored: once the store has caught up, ask
    /// `storedOutcome` whether it was kept (a refused original must not be answered as a duplicate).
    case inFlight(Outcome)
}

/// An outcome that became visible, and who receives it now.
public struct OutcomeDelivery: Sendable, Equatable {
    public var outcome: Outcome
    public var subscribers: [SubscriberRef]

    public init(outcome: Outcome, subscribers: [SubscriberRef]) { self.outcome = outcome; self.subscribers = subscribers }
}

/// Counters for /metrics.
public struct HubCounters: Sendable {
    public var published = 0
    public var duplicates = 0
    public var expired = 0
    public var released = 0
    public var rejected = 0
    /// Publishes the store refused (rolled back).
    public var abandoned = 0

    public init() {}

    /// Adds another shard's counters.
    public mutating func add(_ other: HubCounters) {
        published += other.published; duplicates += other.duplicates; expired += other.expired
        released += other.released; rejected += other.rejected; abandoned += other.abandoned
    }
}

public struct HubCore: Sendable {
    public let config: HubConfig

    struct KeyState: Sendable {
        var outcomes: [Outcome] = []
        /// Reserved seqs the store is writing, in seq order: not replayed, not delivered, not
        /// answered as duplicates until stored, so nobody sees what a restart could forget.
        var inFlight: [InFlight] = []
        var nextSeq: UInt64 = 1
        var bytes = 0
        var idempotency: [String: UInt64] = [:]
        var subscribers: [SubscriberRef] = []
        /// Highest seq each current subscriber acked (for early release).
        var acked: [SubscriberRef: UInt64] = [:]
        var tombstoneScheduled = false

        var isIdle: Bool { outcomes.isEmpty && inFlight.isEmpty && subscribers.isEmpty }

        /// Moves stored outcomes from the front of `inFlight` to `outcomes`: a stored outcome
        /// waits behind an earlier one the store has not answered yet, so delivery stays in order.
        mutating func takeStoredPrefix() -> [Outcome] {
            var ready: [Outcome] = []
            while let first = inFlight.first, first.stored {
                inFlight.removeFirst()
                outcomes.append(first.outcome)
                ready.append(first.outcome)
            }
            return ready
        }
    }

    struct InFlight: Sendable {
        var outcome: Outcome
        var stored = false
    }

    struct Session: Sendable {
        var acks: [OutcomeKey: UInt64] = [:]
        var expiresAt: Int64
    }

    var keys: [OutcomeKey: KeyState] = [:]
    /// Shared mode: keys whose outcomes wait for the store's answer to a follow or a fill.
    var pendingSync: [OutcomeKey: PendingSync] = [:]
    private var sessions: [String: Session] = [:]
    var wheel: ExpiryWheel
    /// The hub-wide key and byte limits, shared with the other shards.
    public let budget: HubBudget
    /// Bytes retained by this shard (the budget holds the hub's total).
    public internal(set) var totalBytes = 0
    public internal(set) var counters = HubCounters()

    public init(config: HubConfig = HubConfig(), budget: HubBudget = HubBudget(), nowMs: Int64) {
        self.config = config
        self.budget = budget
        wheel = ExpiryWheel(nowMs: nowMs)
    }

    public var keyCount: Int { keys.count }
    /// Kept as they change, so stats and metrics cost O(1) under the hub's lock, not a walk of every key.
    public internal(set) var retainedOutcomes = 0
    public internal(set) var subscriptionCount = 0

    /// For tests: the counts recomputed by walking every key, which the kept ones must equal.
    public func recountedTheSlowWay() -> (retainedOutcomes: Int, subscriptions: Int) {
        (keys.values.reduce(0) { $0 + $1.outcomes.count }, keys.values.reduce(0) { $0 + $1.subscribers.count })
    }

    // MARK: publish

    /// Publishes and commits at once: for a store that keeps nothing beyond memory, where
    /// "stored" is immediate. Durable stores use `reserve`, then `commit` or `abandon`.
    public mutating func publish(_ request: PublishRequest, generatedID: @autoclosure () -> String, nowMs: Int64) -> Result<PublishResult, HubError> {
        switch reserve(request, generatedID: generatedID(), nowMs: nowMs) {
        case .failure(let error): return .failure(error)
        case .success(.duplicate(let original)), .success(.inFlight(let original)):
            return .success(PublishResult(outcome: original, duplicate: true, subscribers: []))
        case .success(.new(let outcome)):
            let delivered = commit(outcome.key, seq: outcome.seq, nowMs: nowMs)
            return .success(PublishResult(outcome: outcome, duplicate: false, subscribers: delivered.last?.subscribers ?? []))
        }
    }

    /// Checks idempotency and limits and gives the outcome its seq. A new outcome is charged
    /// against the limits now but stays invisible until `commit`.
    public mutating func reserve(_ request: PublishRequest, generatedID: @autoclosure () -> String, nowMs: Int64) -> Result<PublishReservation, HubError> {
        let key = request.key
        if let idem = request.idempotencyKey, let state = keys[key], let seq = state.idempotency[idem] {
            if let original = state.outcomes.first(where: { $0.seq == seq }) {
                counters.duplicates += 1
                return .success(.duplicate(original))
            }
            if let pending = state.inFlight.first(where: { $0.outcome.seq == seq }) {
                if pending.stored { counters.duplicates += 1 }
                return .success(pending.stored ? .duplicate(pending.outcome) : .inFlight(pending.outcome))
            }
        }
        if request.data.count > config.maxDataBytes {
            counters.rejected += 1
            return .failure(.outcomeTooLarge(config.maxDataBytes))
        }
        if keys[key] == nil {
            guard budget.takeKey(limit: config.maxKeys) else {
                counters.rejected += 1
                return .failure(.storeFull("the hub holds \(config.maxKeys) keys"))
            }
            keys[key] = KeyState()
        }
        let outcome = Outcome(key: key, seq: keys[key]!.nextSeq, id: request.id ?? generatedID(), status: request.status,
                              data: request.data, publishedAt: nowMs, expiresAt: nowMs + config.retentionMs,
                              idempotencyKey: request.idempotencyKey)
        let cost = outcome.cost
        let (limits, budget) = (config, budget)
        // Mutated in place through the dictionary's accessor: copying the state out and back would
        // copy the key's outcome array on every publish (copy-on-write sees two owners).
        let refusal = update(key) { state -> HubError? in
            if state.outcomes.count + state.inFlight.count >= limits.maxOutcomesPerKey || state.bytes + cost > limits.maxBytesPerKey {
                return .keyFull("key \(key) holds its maximum of \(limits.maxOutcomesPerKey) outcomes or \(limits.maxBytesPerKey) bytes")
            }
            if !budget.charge(cost, limit: limits.maxTotalBytes) {
                return .storeFull("the hub's retained outcomes reached \(limits.maxTotalBytes) bytes")
            }
            state.nextSeq += 1
            state.inFlight.append(InFlight(outcome: outcome))
            state.bytes += cost
            state.tombstoneScheduled = false
            if let idem = outcome.idempotencyKey { state.idempotency[idem] = outcome.seq }
            return nil
        }
        if let refusal {
            counters.rejected += 1
            forgetIfIdle(key, nowMs: nowMs)
            return .failure(refusal)
        }
        totalBytes += cost
        return .success(.new(outcome))
    }

    /// The store holds the reserved outcome `seq` of `key`: it becomes visible. Returns what to
    /// deliver now, in seq order: this outcome, unless an earlier one of the key is still being
    /// stored, and any later ones that were waiting behind it.
    public mutating func commit(_ key: OutcomeKey, seq: UInt64, nowMs: Int64) -> [OutcomeDelivery] {
        guard keys[key] != nil else { return [] }
        let ready = update(key) { state -> [Outcome] in
            guard let index = state.inFlight.firstIndex(where: { $0.outcome.seq == seq }) else { return [] }
            state.inFlight[index].stored = true
            return state.takeStoredPrefix()
        }
        return deliveries(of: ready, key: key)
    }

    /// The store refused the reserved outcome `seq` of `key`: it never happened. Nobody saw it,
    /// so its idempotency key is free again and, if it was the key's last seq, the seq too (a
    /// seq is never reused for data anyone was shown). Returns outcomes that were waiting
    /// behind it and can now be delivered.
    public mutating func abandon(_ key: OutcomeKey, seq: UInt64, nowMs: Int64) -> [OutcomeDelivery] {
        guard keys[key] != nil else { return [] }
        let (cost, ready) = update(key) { state -> (Int, [Outcome]) in
            guard let index = state.inFlight.firstIndex(where: { $0.outcome.seq == seq }) else { return (0, []) }
            let outcome = state.inFlight.remove(at: index).outcome
            state.bytes -= outcome.cost
            if let idem = outcome.idempotencyKey, state.idempotency[idem] == seq { state.idempotency[idem] = nil }
            if seq == state.nextSeq - 1 { state.nextSeq = seq }
            return (outcome.cost, state.takeStoredPrefix())
        }
        guard cost > 0 else { return [] }
        totalBytes -= cost
        budget.refund(cost)
        counters.abandoned += 1
        let delivered = deliveries(of: ready, key: key)
        forgetIfIdle(key, nowMs: nowMs)
        return delivered
    }

    /// The stored outcome an idempotency key names, if any (the answer to a retry that arrived
    /// while its original was in flight).
    public func storedOutcome(of key: OutcomeKey, idempotencyKey: String) -> Outcome? {
        guard let state = keys[key], let seq = state.idempotency[idempotencyKey] else { return nil }
        if let original = state.outcomes.first(where: { $0.seq == seq }) { return original }
        return state.inFlight.first(where: { $0.outcome.seq == seq && $0.stored })?.outcome
    }

    mutating func deliveries(of ready: [Outcome], key: OutcomeKey) -> [OutcomeDelivery] {
        guard !ready.isEmpty else { return [] }
        let subscribers = keys[key]?.subscribers ?? []
        for outcome in ready { wheel.add(.outcome(key, outcome.seq), atMs: outcome.expiresAt) }
        counters.published += ready.count
        retainedOutcomes += ready.count
        return ready.map { OutcomeDelivery(outcome: $0, subscribers: subscribers) }
    }

    /// Runs `body` on the key's state in place (the key must exist).
    mutating func update<R>(_ key: OutcomeKey, _ body: (inout KeyState) -> R) -> R {
        body(&keys[key, default: KeyState()])
    }

    /// Restores an outcome read back from a durable store (keeps its seq, id and expiry).
    public mutating func restore(_ outcome: Outcome, nowMs: Int64) {
        guard outcome.expiresAt > nowMs else { return }
        var state = keys[outcome.key] ?? KeyState()
        guard !state.outcomes.contains(where: { $0.seq == outcome.seq }) else { return }
        // What a restart reads back was accepted before: it is charged, never refused.
        if keys[outcome.key] == nil { _ = budget.takeKey(limit: .max) }
        budget.chargeUnconditionally(outcome.cost)
        state.outcomes.append(outcome)
        state.outcomes.sort { $0.seq < $1.seq }
        state.nextSeq = max(state.nextSeq, outcome.seq + 1)
        state.bytes += outcome.cost
        if let idem = outcome.idempotencyKey { state.idempotency[idem] = outcome.seq }
        totalBytes += outcome.cost
        retainedOutcomes += 1
        keys[outcome.key] = state
        wheel.add(.outcome(outcome.key, outcome.seq), atMs: outcome.expiresAt)
    }

    // MARK: subscribe

    /// Registers `subscriber` for live outcomes of `key` and returns the retained ones to replay
    /// first: those after `after` and after what `session` acked. If `after` is beyond anything the
    /// key ever had (its history was forgotten after expiry), everything retained is replayed.
    public mutating func subscribe(_ subscriber: SubscriberRef, to key: OutcomeKey, after: UInt64? = nil,
                                   session: String? = nil, nowMs: Int64) -> Result<[Outcome], HubError> {
        // (How many keys one connection may subscribe to is the connection's to bound: its keys
        // spread over every shard.)
        if keys[key] == nil {
            guard budget.takeKey(limit: config.maxKeys) else {
                return .failure(.storeFull("the hub holds \(config.maxKeys) keys"))
            }
            keys[key] = KeyState()
            // Shared mode: the node follows the key from now on; the store's first answer replays.
            if config.sharedStore { pendingSync[key] = PendingSync(initial: true) }
        }
        let added = update(key) { state -> Bool in
            guard !state.subscribers.contains(subscriber) else { return false }
            state.subscribers.append(subscriber)
            return true
        }
        if added { subscriptionCount += 1 }
        var start = after ?? 0
        if let session, let acked = sessions[session]?.acks[key] { start = max(start, acked) }
        if pendingSync[key]?.initial == true {
            // The store has not answered yet: its answer replays from here (HubCore+Shared.swift).
            pendingSync[key]!.floors[subscriber] = start
            return .success([])
        }
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
        subscriptionCount -= 1
        forgetIfIdle(key, nowMs: nowMs)
    }

    /// Removes every subscription of `subscriber` (its connection closed).
    public mutating func unsubscribeAll(_ subscriber: SubscriberRef, keys subscribed: [OutcomeKey], nowMs: Int64) {
        for key in subscribed { unsubscribe(subscriber, from: key, nowMs: nowMs) }
    }

    /// Retained outcomes of `key` after `after` (long-poll and SSE reads without subscribing).
    public func outcomes(of key: OutcomeKey, after: UInt64 = 0) -> [Outcome] {
        keys[key]?.outcomes.filter { $0.seq > after } ?? []
    }

    public func subscribers(of key: OutcomeKey) -> [SubscriberRef] { keys[key]?.subscribers ?? [] }

    /// What the dashboard's key inspector shows: nil when the hub holds nothing for `key`.
    public struct KeyInspection: Sendable {
        public var outcomes: [Outcome]
        public var nextSeq: UInt64
        public var subscribers: Int
        public var storing: Int
        public var bytes: Int
    }

    public func inspect(_ key: OutcomeKey) -> KeyInspection? {
        guard let state = keys[key] else { return nil }
        return KeyInspection(outcomes: state.outcomes, nextSeq: state.nextSeq, subscribers: state.subscribers.count,
                             storing: state.inFlight.count, bytes: state.bytes)
    }

    /// Every stored, retained outcome of the keys `matching` accepts, in seq order per key
    /// (a webhook registered now receives what a subscriber would get on subscribing). O(keys).
    public func retained(matching: (OutcomeKey) -> Bool) -> [Outcome] {
        keys.filter { matching($0.key) }.values.flatMap(\.outcomes)
    }

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
        guard !config.sharedStore else { return false }
        let releasable = update(key) { state -> Bool in
            state.acked[subscriber] = max(state.acked[subscriber] ?? 0, seq)
            guard state.inFlight.isEmpty, let last = state.outcomes.last, last.status.isTerminal else { return false }
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
        budget.refund(state.bytes)
        retainedOutcomes -= state.outcomes.count
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
                budget.refund(outcome.cost)
                retainedOutcomes -= 1
                removed += 1
                if nowEmpty { scheduleTombstone(key, nowMs: nowMs) }
            case .tombstone(let key):
                guard var state = keys[key] else { continue }
                state.tombstoneScheduled = false
                keys[key] = state
                if state.isIdle { forget(key) }
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
        if config.sharedStore { return dropIfUnsubscribed(key) }
        guard let state = keys[key], state.isIdle else { return }
        if state.nextSeq == 1 { forget(key) } else { scheduleTombstone(key, nowMs: nowMs) }
    }

    mutating func forget(_ key: OutcomeKey) {
        keys[key] = nil
        budget.returnKey()
    }
}
