// The hub service shared by all loops: the HubCore state under one Mutex, the durable store,
// and delivery into each loop's subscriber table.
//
//   publish (any loop) ─▶ lock { core.publish; post delivery task to each loop with subscribers } ─▶ store
//   subscribe (loop L) ─▶ lock { core.subscribe → replay } ─▶ sink sends replay now; live outcomes arrive
//                          later through L's task queue, so always after the replay and in seq order
//
// Delivery tasks are posted while the lock is held: two publishes of one key from two loops reach
// every subscriber in sequence order. Posting is an append under the loop's own short lock.
import HubBytes
import HubCore
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

    /// Publishes and posts live deliveries. The caller then waits for `store.append` before
    /// acknowledging (durable store) or acknowledges at once (memory store).
    public func publish(_ request: PublishRequest) -> Result<PublishResult, HubError> {
        let now = HubClock.wallMilliseconds
        let loopRefs = loops.withLock { $0 }
        return core.withLock { core -> Result<PublishResult, HubError> in
            let result = core.publish(request, generatedID: makeID(), nowMs: now)
            guard case .success(let published) = result, !published.duplicate else { return result }
            if !published.subscribers.isEmpty {
                let shared = SharedOutcome(published.outcome)
                var byLoop: [Int: [UInt64]] = [:]
                for s in published.subscribers { byLoop[s.loop, default: []].append(s.id) }
                for (loop, ids) in byLoop where loop < loopRefs.count {
                    loopRefs[loop].execute { $0.deliver(shared, to: ids) }
                }
                metrics.delivered.add(published.subscribers.count, ordering: .relaxed)
            }
            return result
        }
    }

    private func makeID() -> String {
        "o-\(idPrefix)-\(nextOutcomeID.add(1, ordering: .relaxed).oldValue)"
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

    public func snapshot() -> Snapshot {
        core.withLock { Snapshot(keys: $0.keyCount, retainedOutcomes: $0.retainedOutcomes, retainedBytes: $0.totalBytes,
                                 subscriptions: $0.subscriptionCount, counters: $0.counters) }
    }
}

/// Hub counters kept outside the core lock.
public final class HubMetrics: Sendable {
    public let delivered = Atomic<Int>(0)
    public let storeAppends = Atomic<Int>(0)
    public let storeFailures = Atomic<Int>(0)
    /// Sum of durable-append latencies in microseconds (with `storeAppends`, the mean).
    public let storeLatencyMicros = Atomic<Int>(0)
    public init() {}
}
