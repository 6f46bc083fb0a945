// The hub service shared by all loops: the HubCore state split over shards by key hash (each
// under its own Mutex, so loops publish and subscribe in parallel), the outcome store, and
// delivery into each loop's subscriber table. "lock" below is the key's shard's lock.
//
//   publish, memory store ─▶ lock { reserve + commit; post deliveries } ─▶ answer
//   publish, durable store ─▶ lock { reserve } ─▶ store.append ─▶ (store thread)
//        stored  ─▶ lock { commit; post deliveries } ─▶ answer 201
//        refused ─▶ lock { abandon: no trace } ─▶ answer 503
//   subscribe (loop L) ─▶ lock { core.subscribe → replay } ─▶ sink sends replay now; live outcomes arrive
//                          later through L's task queue, so always after the replay and in seq order
//
// Subscribers see an outcome only once the store holds it: a durable hub never shows what a
// restart forgets (at the cost of one group commit of latency, docs/delivery.md). OutcomeDelivery tasks
// are posted while the lock is held, so every subscriber gets a key's outcomes in seq order.
// Posting is an append under the loop's own short lock. Hub-wide limits (keys, bytes) are one
// shared `HubBudget`; stats and counters add the shards up.
import HubBytes
import HubCore
import Metrics
import Reactor
import Synchronization
import WebSocket

/// One shard of the hub's state: the keys that hash to it, with its own copy of what a publish
/// needs besides (the loops, the commit observers, an id counter, the delivered count), so a
/// publish takes this shard's lock and no hub-wide one.
final class CoreShard: Sendable {
    struct State: Sendable {
        var core: HubCore
        var loops: [LoopRef] = []
        var observers: [@Sendable (Outcome) -> Void] = []
        /// Generated outcome ids are `index + count × n` (n counts up): unique hub-wide.
        var nextGeneratedID: UInt64
        let idStep: UInt64
        var delivered = 0
    }
    let state: Mutex<State>
    /// Keeps the next shard's lock off this shard's last cache line (shards are allocated one
    /// after another; without it two loops on neighbouring shards would invalidate each other).
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    init(_ core: HubCore, index: Int, count: Int) {
        state = Mutex(State(core: core, nextGeneratedID: UInt64(index + count), idStep: UInt64(count)))
    }
}

public final class Hub: Sendable {
    private let shards: [CoreShard]
    private let nextSubscriberID = Atomic<UInt64>(1)
    /// Random per process, so generated outcome ids do not repeat across restarts.
    private let idPrefix: String
    public let store: OutcomeStore
    /// The store shared with other nodes (Redis), when this node is one of several: outcomes are
    /// published there and this node's cores cache the keys subscribed here (SharedStore.swift).
    public let shared: SharedStore?
    public let config: HubConfig
    public let metrics = HubMetrics()
    /// Through the swift-metrics facade (the hub's /metrics renders them as Prometheus histograms):
    /// from a publish's arrival to its outcome being handed to the subscribers' loops, and one
    /// durable-store write.
    private let publishToDeliver = Metrics.Timer(label: "affinity_publish_to_deliver_seconds")
    private let storeAppend = Metrics.Timer(label: "affinity_store_append_seconds")

    /// `shards` (rounded up to a power of two): many more than the loops, so two loops rarely want
    /// the same lock at once (with L busy loops, about L/64 of lock takes find it held); an empty
    /// shard costs a few hundred bytes. `affinity-hub bench cores` measures the scaling.
    public init(config: HubConfig = HubConfig(), store: OutcomeStore = MemoryOutcomeStore(), shared: SharedStore? = nil, shards: Int = 64) {
        var config = config
        config.sharedStore = shared != nil
        self.config = config
        self.store = store
        self.shared = shared
        let count = shards <= 1 ? 1 : 1 << (Int.bitWidth - (shards - 1).leadingZeroBitCount)
        let budget = HubBudget()
        let now = HubClock.wallMilliseconds
        var cores = (0..<count).map { _ in HubCore(config: config, budget: budget, nowMs: now) }
        let mask = cores.count - 1
        if shared == nil { for outcome in store.recovered() { cores[outcome.key.hashValue & mask].restore(outcome, nowMs: now) } }
        self.shards = cores.indices.map { CoreShard(cores[$0], index: $0, count: cores.count) }
        idPrefix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// True when a publish is decided inside the call (memory store, one node): no hop needed.
    var answersAtOnce: Bool { shared == nil && !store.isDurable }

    /// Why this node cannot take publishes now (nil when it can): `/readyz` answers 503 with it.
    public var unavailableReason: String? { shared?.unavailableReason ?? store.unavailableReason }

    /// The shard that holds `key`.
    func shard(_ key: OutcomeKey) -> CoreShard { shards[key.hashValue & (shards.count - 1)] }

    /// Called by the server before its loops start.
    func attach(_ refs: [LoopRef]) {
        for shard in shards { shard.state.withLock { $0.loops = refs } }
        if let shared, let first = refs.first { shared.attach(self, loop: first.loop) }
    }

    public func newSubscriber(onLoop loop: Int) -> SubscriberRef {
        SubscriberRef(loop: loop, id: nextSubscriberID.add(1, ordering: .relaxed).oldValue)
    }

    // MARK: publish

    /// Publishes `request`; `completion` runs once, on any thread, when the publisher may be
    /// answered: the outcome is stored (and delivered) or refused (and forgotten).
    public func publish(_ request: PublishRequest, completion: @escaping @Sendable (Result<PublishResult, HubError>) -> Void) {
        if let shared { return publish(request, on: shared, completion: completion) }
        guard store.isDurable else { return completion(publishInMemory(request)) }
        let now = HubClock.wallMilliseconds
        let shard = shard(request.key)
        switch shard.state.withLock({ state in
            state.core.reserve(request, generatedID: makeID(&state.nextGeneratedID, step: state.idStep), nowMs: now)
        }) {
        case .failure(let error):
            completion(.failure(error))
        case .success(.duplicate(let original)):
            completion(.success(PublishResult(outcome: original, duplicate: true, subscribers: [])))
        case .success(.inFlight(let original)):
            // The original is still being written: its fate decides the answer.
            store.afterPendingWrites { _ in
                let stored = shard.state.withLock { $0.core.storedOutcome(of: original.key, idempotencyKey: original.idempotencyKey ?? "") }
                completion(stored.map { .success(PublishResult(outcome: $0, duplicate: true, subscribers: [])) }
                    ?? .failure(.storeFailed("the original publish with this idempotency key was not stored; retry")))
            }
        case .success(.new(let outcome)):
            let started = HubClock.monotonicNanoseconds
            store.append(outcome) { [self] stored in
                storeAppend.recordNanoseconds(Int64(HubClock.monotonicNanoseconds - started))
                let now = HubClock.wallMilliseconds
                switch stored {
                case .success:
                    let (receivers, handedOff) = shard.state.withLock { state -> ([SubscriberRef], [OutcomeDelivery]) in
                        let handedOff = post(state.core.commit(outcome.key, seq: outcome.seq, nowMs: now), in: &state)
                        return (state.core.subscribers(of: outcome.key), handedOff)
                    }
                    recordHandOff(handedOff)
                    completion(.success(PublishResult(outcome: outcome, duplicate: false, subscribers: receivers)))
                case .failure(let error):
                    metrics.storeFailures.add(1, ordering: .relaxed)
                    recordHandOff(shard.state.withLock { post($0.core.abandon(outcome.key, seq: outcome.seq, nowMs: now), in: &$0) })
                    completion(.failure(error))
                }
            }
        }
    }

    /// The memory store's publish: held in memory is all "stored" means there, so the outcome is
    /// committed and delivered inside one lock and the answer is immediate.
    func publishInMemory(_ request: PublishRequest) -> Result<PublishResult, HubError> {
        let now = HubClock.wallMilliseconds
        let (result, handedOff) = shard(request.key).state.withLock { state -> (Result<PublishResult, HubError>, [OutcomeDelivery]) in
            let result = state.core.publish(request, generatedID: makeID(&state.nextGeneratedID, step: state.idStep), nowMs: now)
            guard case .success(let published) = result, !published.duplicate else { return (result, []) }
            return (result, post([OutcomeDelivery(outcome: published.outcome, subscribers: published.subscribers)], in: &state))
        }
        recordHandOff(handedOff)
        return result
    }

    /// Publish-to-deliver latency of outcomes just handed to the loops, recorded after the core
    /// lock is released (the histogram takes a lock of its own).
    func recordHandOff(_ deliveries: [OutcomeDelivery]) {
        guard !deliveries.isEmpty else { return }
        let now = HubClock.wallMilliseconds
        for d in deliveries { publishToDeliver.recordMilliseconds(max(0, now - d.outcome.publishedAt)) }
    }

    /// Registers `observer` for every outcome committed from now on. It is told under the key's
    /// shard lock, so per key in seq order (webhook delivery queues from here); it must be quick
    /// and must not call back into the hub.
    public func observeCommits(_ observer: @escaping @Sendable (Outcome) -> Void) {
        for shard in shards { shard.state.withLock { $0.observers.append(observer) } }
    }

    /// Runs `body` with the retained outcomes of the keys `matching` accepts (per key in seq
    /// order) inside every shard's lock: no commit happens meanwhile, so what `body` registers
    /// sees every later outcome through `observeCommits` and none twice or out of order.
    /// Locks are taken in shard order, the only place that holds more than one.
    public func retained(matching: (OutcomeKey) -> Bool, _ body: ([Outcome]) -> Void) {
        var outcomes: [Outcome] = []
        func holding(from index: Int) {
            guard index < shards.count else { return body(outcomes) }
            shards[index].state.withLock { state in
                outcomes += state.core.retained(matching: matching)
                holding(from: index + 1)
            }
        }
        holding(from: 0)
    }

    /// Posts each delivery to the loops of its subscribers. Called with the shard's lock held, so
    /// deliveries of one key reach every loop in seq order.
    /// Returns the outcomes handed off, for `recordHandOff` once the lock is released.
    /// In shared mode observers are told by the node that published (`observe: false` for what
    /// the store relays), so each outcome is observed once across the nodes.
    @discardableResult
    func post(_ deliveries: [OutcomeDelivery], in state: inout CoreShard.State, observe: Bool = true) -> [OutcomeDelivery] {
        guard !deliveries.isEmpty else { return [] }
        if observe { for observer in state.observers { for delivery in deliveries { observer(delivery.outcome) } } }
        let loopRefs = state.loops
        for delivery in deliveries where !delivery.subscribers.isEmpty {
            let shared = SharedOutcome(delivery.outcome)
            let subscribers = delivery.subscribers
            if subscribers.count == 1 {
                // The common case (a key awaited by one request): one hop, no grouping.
                let s = subscribers[0]
                if s.loop < loopRefs.count { loopRefs[s.loop].execute { $0.deliver(shared, to: s.id) } }
            } else {
                // One hop per loop that has subscribers (loops are few: one per core).
                for loop in loopRefs.indices {
                    var ids: [UInt64] = []
                    for s in subscribers where s.loop == loop { ids.append(s.id) }
                    if !ids.isEmpty { loopRefs[loop].execute { [ids] in $0.deliver(shared, to: ids) } }
                }
            }
            state.delivered += subscribers.count
        }
        return deliveries
    }

    /// A fresh outcome id from the shard's own counter (no hub-wide atomic on the publish path).
    func makeID(_ next: inout UInt64, step: UInt64) -> String {
        var id = "o-"
        id.reserveCapacity(24 + idPrefix.utf8.count)
        id += idPrefix
        id += "-"
        id += String(next)
        next += step
        return id
    }

    // MARK: subscribe

    /// Registers the subscriber and returns what to replay first.
    /// Registers the subscriber and returns what to replay first. In shared mode the first
    /// subscriber of a key here makes the node follow it; the replay then comes as deliveries
    /// once the store answers (after the replay, before live outcomes, as on one node).
    public func subscribe(_ subscriber: SubscriberRef, to key: OutcomeKey, after: UInt64?, session: String? = nil) -> Result<[Outcome], HubError> {
        shard(key).state.withLock { state in
            let followed = shared == nil || state.core.holds(key)
            let result = state.core.subscribe(subscriber, to: key, after: after, session: session, nowMs: HubClock.wallMilliseconds)
            if !followed, case .success = result { shared?.follow(key) }
            return result
        }
    }

    public func unsubscribe(_ subscriber: SubscriberRef, from key: OutcomeKey) {
        unsubscribe(subscriber, from: key, nowMs: HubClock.wallMilliseconds)
    }

    public func unsubscribeAll(_ subscriber: SubscriberRef, keys: [OutcomeKey]) {
        let now = HubClock.wallMilliseconds
        for key in keys { unsubscribe(subscriber, from: key, nowMs: now) }
    }

    private func unsubscribe(_ subscriber: SubscriberRef, from key: OutcomeKey, nowMs: Int64) {
        shard(key).state.withLock { state in
            let held = state.core.holds(key)
            state.core.unsubscribe(subscriber, from: key, nowMs: nowMs)
            if held, !state.core.holds(key) { shared?.unfollow(key) }
        }
    }

    @discardableResult
    public func ack(_ subscriber: SubscriberRef, key: OutcomeKey, seq: UInt64, session: String?) -> Bool {
        shard(key).state.withLock { state in
            let released = state.core.ack(subscriber, key: key, seq: seq, session: session, nowMs: HubClock.wallMilliseconds)
            // Shared mode: the session may resume on another node, which asks the store.
            if let shared, let session, state.core.subscribers(of: key).contains(subscriber) { shared.ack(key, session: session, seq: seq) }
            return released
        }
    }

    public func outcomes(of key: OutcomeKey, after: UInt64) -> [Outcome] {
        shard(key).state.withLock { $0.core.outcomes(of: key, after: after) }
    }

    // MARK: upkeep

    /// Expires what is due; the server calls it every second.
    public func expire() {
        let now = HubClock.wallMilliseconds
        let removed = shards.reduce(0) { sum, shard in sum + shard.state.withLock { $0.core.expire(nowMs: now) } }
        if removed > 0 { store.expired(count: removed) }
    }

    public struct Snapshot: Sendable {
        public var keys: Int
        public var retainedOutcomes: Int
        public var retainedBytes: Int
        public var subscriptions: Int
        /// Outcomes handed to subscribers' loops (one per subscriber).
        public var delivered: Int
        public var counters: HubCounters
    }

    public func inspect(_ key: OutcomeKey) -> HubCore.KeyInspection? { shard(key).state.withLock { $0.core.inspect(key) } }

    /// The shards added up, one lock at a time: each figure is exact for its shard, the sum is
    /// as of a moment no later than the return.
    public func snapshot() -> Snapshot {
        var total = Snapshot(keys: 0, retainedOutcomes: 0, retainedBytes: 0, subscriptions: 0, delivered: 0, counters: HubCounters())
        for shard in shards {
            shard.state.withLock { state in
                total.keys += state.core.keyCount
                total.retainedOutcomes += state.core.retainedOutcomes
                total.retainedBytes += state.core.totalBytes
                total.subscriptions += state.core.subscriptionCount
                total.delivered += state.delivered
                total.counters.add(state.core.counters)
            }
        }
        return total
    }
}

/// Hub counters kept outside the shards.
public final class HubMetrics: Sendable {
    public let storeFailures = Atomic<Int>(0)
    public init() {}
}
