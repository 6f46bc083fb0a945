// Publishing from any interface: the hub assigns the seq and delivers; the publisher is answered
// only once the store says the outcome is safe (at once for the memory store, after the fsync
// of its batch for the durable log). Store completions arrive on the store's thread and hop back
// to the publisher's loop.
import HubBytes
import HubCore
import Reactor

extension LoopContext {
    /// Publishes and calls `done` on this loop when the publisher may be acknowledged.
    func publish(_ request: PublishRequest, via hub: Hub, done: @escaping (Result<PublishResult, HubError>) -> Void) {
        let result = hub.publish(request)
        guard case .success(let published) = result, hub.store.isDurable else {
            done(result)
            return
        }
        let token = nextPendingPublish
        nextPendingPublish += 1
        pendingPublishes[token] = done
        let here = LoopRef(loop: loop, context: self)
        let started = HubClock.monotonicNanoseconds
        let metrics = hub.metrics
        let completion: @Sendable (Result<Void, HubError>) -> Void = { stored in
            metrics.storeAppends.add(1, ordering: .relaxed)
            metrics.storeLatencyMicros.add(Int((HubClock.monotonicNanoseconds - started) / 1000), ordering: .relaxed)
            if case .failure = stored { metrics.storeFailures.add(1, ordering: .relaxed) }
            here.execute { context in
                guard let done = context.pendingPublishes.removeValue(forKey: token) else { return }
                done(stored.map { published })
            }
        }
        if published.duplicate { hub.store.afterPendingWrites(completion) } else { hub.store.append(published.outcome, completion: completion) }
    }
}

/// The publisher's answer: `{"key","seq","id","status","subscribers","duplicate"}`.
func publishReceipt(_ r: PublishResult, extra: String = "") -> String {
    "{\(extra)\"key\":\"\(r.outcome.key.value)\",\"seq\":\(r.outcome.seq),\"id\":\(JSONText.quoted(r.outcome.id)),"
        + "\"status\":\"\(r.outcome.status.rawValue)\",\"subscribers\":\(r.subscribers.count),\"duplicate\":\(r.duplicate)}"
}

extension Hub {
    /// Publishes from any thread and returns once the store holds the outcome (at once for the
    /// memory store, after its batch's fsync for the log): the outcome worker completes a job
    /// only then.
    public func publishStored(_ request: PublishRequest) async -> Result<PublishResult, HubError> {
        let result = publish(request)
        guard case .success(let published) = result, store.isDurable else { return result }
        let metrics = self.metrics
        let started = HubClock.monotonicNanoseconds
        return await withCheckedContinuation { (c: CheckedContinuation<Result<PublishResult, HubError>, Never>) in
            let completion: @Sendable (Result<Void, HubError>) -> Void = { stored in
                metrics.storeAppends.add(1, ordering: .relaxed)
                metrics.storeLatencyMicros.add(Int((HubClock.monotonicNanoseconds - started) / 1000), ordering: .relaxed)
                if case .failure = stored { metrics.storeFailures.add(1, ordering: .relaxed) }
                c.resume(returning: stored.map { published })
            }
            if published.duplicate { store.afterPendingWrites(completion) } else { store.append(published.outcome, completion: completion) }
        }
    }
}
