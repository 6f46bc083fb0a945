// The hub's side of a shared store (SharedStore.swift): publishing through it, and taking in
// what it relays. Each answer is applied under the key's shard lock, like a publish on one node,
// so subscribers get a key's outcomes in seq order whichever node published them.
import HubBytes
import HubCore
import Reactor

extension Hub {
    /// Publishes through the shared store; the outcome is delivered here as soon as the store
    /// acknowledged it (other nodes get it from the store).
    func publish(_ request: PublishRequest, on shared: SharedStore, completion: @escaping @Sendable (Result<PublishResult, HubError>) -> Void) {
        guard request.data.count <= config.maxDataBytes else { return completion(.failure(.outcomeTooLarge(config.maxDataBytes))) }
        let now = HubClock.wallMilliseconds
        let shard = shard(request.key)
        let id = request.id ?? shard.state.withLock { makeID(&$0.nextGeneratedID, step: $0.idStep) }
        let outcome = Outcome(key: request.key, seq: 0, id: id, status: request.status, data: request.data, publishedAt: now,
                              expiresAt: now + config.retentionMs, idempotencyKey: request.idempotencyKey)
        shared.publish(outcome, limits: config) { [self] answer in
            switch answer {
            case .failure(let error):
                if case .storeFailed = error { metrics.storeFailures.add(1, ordering: .relaxed) }
                completion(.failure(error))
            case .success(let stored) where stored.duplicate:
                completion(.success(PublishResult(outcome: stored.outcome, duplicate: true, subscribers: [])))
            case .success(let stored):
                let (receivers, handedOff) = shard.state.withLock { state -> ([SubscriberRef], [OutcomeDelivery]) in
                    // This node published it, so this node tells the observers (webhooks): once per outcome.
                    for observer in state.observers { observer(stored.outcome) }
                    let handedOff = take(state.core.ingest([stored.outcome], of: stored.outcome.key, nowMs: HubClock.wallMilliseconds),
                                         of: stored.outcome.key, in: &state)
                    return (state.core.subscribers(of: stored.outcome.key), handedOff)
                }
                recordHandOff(handedOff)
                let here = receivers.isEmpty ? 0 : 1
                var result = PublishResult(outcome: stored.outcome, duplicate: false, subscribers: receivers)
                result.otherNodes = max(0, stored.followingNodes - here)
                completion(.success(result))
            }
        }
    }

    /// Outcomes of `key` the store relayed (published on any node, this one included).
    public func sharedOutcomes(_ outcomes: [Outcome], of key: OutcomeKey) {
        let handedOff = shard(key).state.withLock { state in
            take(state.core.ingest(outcomes, of: key, nowMs: HubClock.wallMilliseconds), of: key, in: &state)
        }
        recordHandOff(handedOff)
    }

    /// The store's answer to a follow or a fill of `key`: its retained outcomes (after the seq
    /// asked for) and the seq it gives next.
    public func sharedSync(_ key: OutcomeKey, outcomes: [Outcome], storeNextSeq: UInt64) {
        let handedOff = shard(key).state.withLock { state in
            take(state.core.synced(key, outcomes: outcomes, storeNextSeq: storeNextSeq, nowMs: HubClock.wallMilliseconds),
                 of: key, in: &state)
        }
        recordHandOff(handedOff)
    }

    /// What `session` acknowledged of `key` on any node (nil when the store could not say);
    /// `completion` runs on the store's thread.
    func sessionAck(of key: OutcomeKey, session: String, completion: @escaping @Sendable (UInt64?) -> Void) {
        guard let shared else { return completion(nil) }
        shared.sessionAck(of: key, session: session, completion: completion)
    }

    /// The seq after which this node has every outcome of `key`, nil when it does not follow it
    /// (the store re-reads from there after a reconnect).
    public func sharedKnownSeq(of key: OutcomeKey) -> UInt64? {
        shard(key).state.withLock { $0.core.knownSeq(of: key) }
    }

    /// Posts what the core made deliverable, and asks the store to fill a gap it saw.
    private func take(_ step: (deliveries: [OutcomeDelivery], fillAfter: UInt64?), of key: OutcomeKey,
                      in state: inout CoreShard.State) -> [OutcomeDelivery] {
        if let seq = step.fillAfter { shared?.fill(key, after: seq) }
        return post(step.deliveries, in: &state, observe: false)
    }
}
