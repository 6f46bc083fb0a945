// The hub service shared by all loops: the HubCore state under one Mutex, the outcome store,
// and delivery into each loop's subscriber table.
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
// Posting is an append under the loop's own short lock.
import HubBytes
import HubCore
import Metrics
import Reactor
import Synchronization
import WebSocket

public final class Hub: Sendable {
    private let core: Mutex<HubCore>
    private let loops = Mutex<[LoopRef]>([])
    private let nextSubscriberID = Atomic<UInt64>(1)
    private let nextOutcomeID = Atomic<UInt64>(1)
    /// Random per process, so generated outcome ids do not repeat across restarts.
    private let idPrefix: String
    public let store: OutcomeStore
    public let config: HubConfig
    public let metrics = HubMetrics()
    /// Through the swift-metrics facade (the hub's /metrics renders them as Prometheus histograms):
    /// from a publish's arrival to its outcome being handed to the subscribers' loops, and one
    /// durable-store write.
    private let publishToDeliver = Metrics.Timer(label: "affinity_publish_to_deliver_seconds")
    private let storeAppend = Metrics.Timer(label: "affinity_store_append_seconds")
    /// Told of every outcome as it is committed (stored, visible), under the core lock, so per key
    /// in seq order. Webhook delivery queues from here; an observer must be quick and must not
    /// call back into the hub.
    private let commitObservers = Mutex<[@Sendable (Outcome) -> Void]>([])

    public init(config: HubConfig = HubConfig(), store: OutcomeStore = MemoryOutcomeStore()) {
        self.config = config
        self.store = store
        var hubCore = HubCore(config: config, nowMs: HubClock.wallMilliseconds)
        for outcome in store.recovered() { hubCore.restore(outcome, nowMs: HubClock.wallMilliseconds) }
        core = Mutex(hubCore)
        idPrefix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// Called by the server before its loops start.
    func attach(_ refs: [LoopRef]) { loops.withLock { $0 = refs } }

    public func newSubscriber(onLoop loop: Int) -> SubscriberRef {
        SubscriberRef(loop: loop, id: nextSubscriberID.add(1, ordering: .relaxed).oldValue)
    }

    // MARK: publish

    /// Publishes `request`; `completion` runs once, on any thread, when the publisher may be
    /// answered: the outcome is stored (and delivered) or refused (and forgotten).
    public func publish(_ request: PublishRequest, completion: @escaping @Sendable (Result<PublishResult, HubError>) -> Void) {
        guard store.isDurable else { return completion(publishInMemory(request)) }
        let now = HubClock.wallMilliseconds
        switch core.withLock({ $0.reserve(request, generatedID: makeID(), nowMs: now) }) {
        case .failure(let error):
            completion(.failure(error))
        case .success(.duplicate(let original)):
            completion(.success(PublishResult(outcome: original, duplicate: true, subscribers: [])))
        case .success(.inFlight(let original)):
            // The original is still being written: its fate decides the answer.
            store.afterPendingWrites { [self] _ in
                let stored = core.withLock { $0.storedOutcome(of: original.key, idempotencyKey: original.idempotencyKey ?? "") }
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
                    let (receivers, handedOff) = core.withLock { core -> ([SubscriberRef], [OutcomeDelivery]) in
                        let handedOff = post(core.commit(outcome.key, seq: outcome.seq, nowMs: now))
                        return (core.subscribers(of: outcome.key), handedOff)
                    }
                    recordHandOff(handedOff)
                    completion(.success(PublishResult(outcome: outcome, duplicate: false, subscribers: receivers)))
                case .failure(let error):
                    metrics.storeFailures.add(1, ordering: .relaxed)
                    recordHandOff(core.withLock { post($0.abandon(outcome.key, seq: outcome.seq, nowMs: now)) })
                    completion(.failure(error))
                }
            }
        }
    }

    /// The memory store's publish: held in memory is all "stored" means there, so the outcome is
    /// committed and delivered inside one lock and the answer is immediate.
    func publishInMemory(_ request: PublishRequest) -> Result<PublishResult, HubError> {
        let now = HubClock.wallMilliseconds
        let (result, handedOff) = core.withLock { core -> (Result<PublishResult, HubError>, [OutcomeDelivery]) in
            let result = core.publish(request, generatedID: makeID(), nowMs: now)
            guard case .success(let published) = result, !published.duplicate else { return (result, []) }
            return (result, post([OutcomeDelivery(outcome: published.outcome, subscribers: published.subscribers)]))
        }
        recordHandOff(handedOff)
        return result
    }

    /// Publish-to-deliver latency of outcomes just handed to the loops, recorded after the core
    /// lock is released (the histogram takes a lock of its own).
    private func recordHandOff(_ deliveries: [OutcomeDelivery]) {
        guard !deliveries.isEmpty else { return }
        let now = HubClock.wallMilliseconds
        for d in deliveries { publishToDeliver.recordMilliseconds(max(0, now - d.outcome.publishedAt)) }
    }

    /// Registers `observer` for every outcome committed from now on (see `commitObservers`).
    public func observeCommits(_ observer: @escaping @Sendable (Outcome) -> Void) {
        commitObservers.withLock { $0.append(observer) }
    }

    /// Runs `body` with the retained outcomes of the keys `matching` accepts (per key in seq
    /// order) inside the core lock: no commit happens meanwhile, so what `body` registers sees
    /// every later outcome through `observeCommits` and none twice or out of order.
    public func retained(matching: (OutcomeKey) -> Bool, _ body: ([Outcome]) -> Void) {
        core.withLock { body($0.retained(matching: matching)) }
    }

    /// Posts each delivery to the loops of its subscribers. Called with the core lock held, so
    /// deliveries of one key reach every loop in seq order.
    /// Returns the outcomes handed off, for `recordHandOff` once the lock is released.
    @discardableResult
    private func post(_ deliveries: [OutcomeDelivery]) -> [OutcomeDelivery] {
        guard !deliveries.isEmpty else { return [] }
        let observers = commitObservers.withLock { $0 }
        for observer in observers { for delivery in deliveries { observer(delivery.outcome) } }
        let loopRefs = loops.withLock { $0 }
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
            metrics.delivered.add(subscribers.count, ordering: .relaxed)
        }
        return deliveries
    }

    private func makeID() -> String {
        var id = "o-"
        id.reserveCapacity(24 + idPrefix.utf8.count)
        id += idPrefix
        id += "-"
        id += String(nextOutcomeID.add(1, ordering: .relaxed).oldValue)
        return id
    }

    // MARK: subscribe

    /// Registers the subscriber and returns what to replay first.
    public func subscribe(_ subscriber: SubscriberRef, to key: OutcomeKey, after: UInt64?, session: String? = nil) -> Result<[Outcome], HubError> {
        core.withLock { $0.subscribe(subscriber, to: key, after: after, session: session, nowMs: HubClock.wallMilliseconds) }
    }

    public func unsubscribe(_ subscriber: SubscriberRef, from key: OutcomeKey) {
        core.withLock { $0.unsubscribe(subscriber, from: key, nowMs: HubClock.wallMilliseconds) }
    }

    public func unsubscribeAll(_ subscriber: SubscriberRef, keys: [OutcomeKey]) {
        core.withLock { $0.unsubscribeAll(subscriber, keys: keys, nowMs: HubClock.wallMilliseconds) }
    }

    @discardableResult
    public func ack(_ subscriber: SubscriberRef, key: OutcomeKey, seq: UInt64, session: String?) -> Bool {
        core.withLock { $0.ack(subscriber, key: key, seq: seq, session: session, nowMs: HubClock.wallMilliseconds) }
    }

    public func outcomes(of key: OutcomeKey, after: UInt64) -> [Outcome] {
        core.withLock { $0.outcomes(of: key, after: after) }
    }

    // MARK: upkeep

    /// Expires what is due; the server calls it every second.
    public func expire() {
        let removed = core.withLock { $0.expire(nowMs: HubClock.wallMilliseconds) }
        if removed > 0 { store.expired(count: removed) }
    }

    public struct Snapshot: Sendable {
        public var keys: Int
        public var retainedOutcomes: Int
        public var retainedBytes: Int
        public var subscriptions: Int
        public var counters: HubCounters
    }

    public func inspect(_ key: OutcomeKey) -> HubCore.KeyInspection? { core.withLock { $0.inspect(key) } }

    public func snapshot() -> Snapshot {
        core.withLock { Snapshot(keys: $0.keyCount, retainedOutcomes: $0.retainedOutcomes, retainedBytes: $0.totalBytes,
                                 subscriptions: $0.subscriptionCount, counters: $0.counters) }
    }
}

/// Hub counters kept outside the core lock.
public final class HubMetrics: Sendable {
    public let delivered = Atomic<Int>(0)
    public let storeFailures = Atomic<Int>(0)
    public init() {}
}
