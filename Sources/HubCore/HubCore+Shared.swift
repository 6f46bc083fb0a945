// Shared mode (`HubConfig.sharedStore`): the hub's outcomes live in a store every node shares
// (Redis), which gives each outcome its seq. A node's core is then a cache of the keys that
// have subscribers on this node, kept in step with the store:
//
//   first subscriber ─▶ key created, pending ─▶ the node follows the key (pub/sub, then a read of
//       its retained outcomes) ─▶ `synced`: replay to each subscriber from where it asked
//   outcome from the store (pub/sub message, own publish's reply) ─▶ `ingest`:
//       seq = next ─▶ delivered │ seq < next ─▶ seen, dropped │ seq > next ─▶ held, fill asked
//   fill answer (`synced` again) ─▶ the held ones and the missing ones, in seq order
//   last subscriber gone ─▶ key dropped ─▶ the node stops following it
//
// Outcomes reach a subscriber in seq order, once, whatever order the pub/sub messages, publish
// replies and reads arrive in: a key's outcomes are only ever appended at `nextSeq`. Seqs the
// store no longer holds (expired between two reads) are skipped, never waited for.

/// Outcomes of a key held back until the store's answer to a follow or a fill.
struct PendingSync: Sendable {
    /// Outcomes that arrived past a gap, or before the first read.
    var ahead: [Outcome] = []
    /// The first read is pending: subscribers wait for it, each replayed after its floor.
    var initial: Bool
    /// What each early subscriber asked to resume after (`after`, its session's ack).
    var floors: [SubscriberRef: UInt64] = [:]
}

extension HubCore {
    /// True when the node holds (follows) `key`; a subscribe to a key it does not hold makes the
    /// node follow it, and `synced` completes that.
    public func holds(_ key: OutcomeKey) -> Bool { keys[key] != nil }

    /// The seq after which this node has every outcome of `key` (nil when it does not hold it).
    public func knownSeq(of key: OutcomeKey) -> UInt64? { keys[key].map { $0.nextSeq - 1 } }

    /// Outcomes of `key` from the store, in any order, possibly seen before. Returns the
    /// deliveries due now and, when a gap showed, the seq after which the store must be read
    /// (answered through `synced`).
    public mutating func ingest(_ outcomes: [Outcome], of key: OutcomeKey, nowMs: Int64) -> (deliveries: [OutcomeDelivery], fillAfter: UInt64?) {
        guard let state = keys[key] else { return ([], nil) }
        let fresh = outcomes.filter { $0.seq >= state.nextSeq }
        guard !fresh.isEmpty else { return ([], nil) }
        if pendingSync[key] != nil {
            // A read is on its way and will place these.
            pendingSync[key]!.ahead += fresh
            return ([], nil)
        }
        var next = state.nextSeq
        var ready: [Outcome] = []
        var ahead: [Outcome] = []
        for outcome in fresh.sorted(by: { $0.seq < $1.seq }) {
            if outcome.seq == next { ready.append(outcome); next += 1 } else if outcome.seq > next { ahead.append(outcome) }
        }
        let delivered = accept(ready, of: key, nowMs: nowMs)
        guard !ahead.isEmpty else { return (delivered, nil) }
        pendingSync[key] = PendingSync(ahead: ahead, initial: false)
        return (delivered, next - 1)
    }

    /// The store's answer to following or filling `key`: its retained outcomes after some seq,
    /// and the seq it gives next. Everything before `storeNextSeq` the answer lacks is gone from
    /// the store (expired) and is skipped. Returns the deliveries due now and, if outcomes past
    /// the answer are still missing, the seq after which to read again.
    public mutating func synced(_ key: OutcomeKey, outcomes: [Outcome], storeNextSeq: UInt64,
                                nowMs: Int64) -> (deliveries: [OutcomeDelivery], fillAfter: UInt64?) {
        guard keys[key] != nil else { return ([], nil) }
        let pending = pendingSync.removeValue(forKey: key) ?? PendingSync(initial: false)
        if storeNextSeq < keys[key]!.nextSeq {
            // The store counts lower than this node has seen: it lost the key's history (Redis
            // restarted without persistence, or the key expired there). Start again from its count.
            // (Sound because the follow read and every later message of the key arrive on one
            // connection, in order: an answer is never older than what this node has seen.)
            restart(key, at: storeNextSeq)
        }
        var next = keys[key]!.nextSeq
        var candidates = (outcomes + pending.ahead).filter { $0.seq >= next }.sorted { $0.seq < $1.seq }
        var ready: [Outcome] = []
        var index = 0
        while index < candidates.count, candidates[index].seq < storeNextSeq {
            let outcome = candidates[index]
            if outcome.seq >= next { ready.append(outcome); next = outcome.seq + 1 }
            index += 1
        }
        next = max(next, storeNextSeq)
        while index < candidates.count, candidates[index].seq <= next {
            if candidates[index].seq == next { ready.append(candidates[index]); next += 1 }
            index += 1
        }
        candidates.removeFirst(index)
        var delivered = accept(ready, of: key, nowMs: nowMs, nextSeq: next)
        if pending.initial && !pending.floors.isEmpty {
            // Each early subscriber gets what is after its floor; a floor past anything the key
            // ever had (the store forgot it) replays everything, as a subscribe on one node does.
            let floors = pending.floors.mapValues { $0 >= storeNextSeq ? 0 : $0 }
            for i in delivered.indices {
                let seq = delivered[i].outcome.seq
                delivered[i].subscribers.removeAll { (floors[$0] ?? 0) >= seq }
            }
        }
        guard !candidates.isEmpty else { return (delivered, nil) }
        pendingSync[key] = PendingSync(ahead: candidates, initial: false)
        return (delivered, next - 1)
    }

    /// Appends `ready` (in seq order, `nextSeq` of the first) to the key's retained outcomes and
    /// returns their deliveries; expired ones only advance the seq. What the store holds was
    /// accepted there: charged, never refused.
    private mutating func accept(_ ready: [Outcome], of key: OutcomeKey, nowMs: Int64, nextSeq: UInt64? = nil) -> [OutcomeDelivery] {
        let live = ready.filter { $0.expiresAt > nowMs }
        let cost = live.reduce(0) { $0 + $1.cost }
        update(key) { state in
            state.outcomes += live
            state.bytes += cost
            if let last = ready.last { state.nextSeq = max(state.nextSeq, last.seq + 1) }
            if let nextSeq { state.nextSeq = max(state.nextSeq, nextSeq) }
        }
        budget.chargeUnconditionally(cost)
        totalBytes += cost
        return deliveries(of: live, key: key)
    }

    /// Forgets the key's retained outcomes and numbers it from `seq` (the store's count).
    private mutating func restart(_ key: OutcomeKey, at seq: UInt64) {
        let (cost, count) = update(key) { state -> (Int, Int) in
            let taken = (state.bytes, state.outcomes.count)
            state.outcomes = []
            state.bytes = 0
            state.nextSeq = seq
            return taken
        }
        totalBytes -= cost
        budget.refund(cost)
        retainedOutcomes -= count
    }

    /// Shared mode keeps a key only while this node has subscribers to it.
    mutating func dropIfUnsubscribed(_ key: OutcomeKey) {
        guard let state = keys[key], state.subscribers.isEmpty, state.inFlight.isEmpty else { return }
        totalBytes -= state.bytes
        budget.refund(state.bytes)
        retainedOutcomes -= state.outcomes.count
        pendingSync[key] = nil
        forget(key)
    }
}
