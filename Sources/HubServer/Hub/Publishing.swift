// Publishing from any interface: the publisher is answered only once the store says the outcome
// is safe (at once for the memory store, after the fsync of its batch for the durable log) or
// refused it. Store completions arrive on the store's thread and hop back to the publisher's loop.
import HubBytes
import HubCore
import Reactor

extension LoopContext {
    /// Publishes and calls `done` on this loop when the publisher may be answered.
    func publish(_ request: PublishRequest, via hub: Hub, done: @escaping (Result<PublishResult, HubError>) -> Void) {
        // The memory store answers inside the call, on this loop: no hop needed.
        guard hub.store.isDurable else { return done(hub.publishInMemory(request)) }
        let token = nextPendingPublish
        nextPendingPublish += 1
        pendingPublishes[token] = done
        let here = LoopRef(loop: loop, context: self)
        hub.publish(request) { result in
            here.execute { context in
                guard let done = context.pendingPublishes.removeValue(forKey: token) else { return }
                done(result)
            }
        }
    }
}

/// The publisher's answer: `{"key","seq","id","status","subscribers","duplicate"}`.
func publishReceipt(_ r: PublishResult, extra: String = "") -> String {
    "{\(extra)\"key\":\"\(r.outcome.key.value)\",\"seq\":\(r.outcome.seq),\"id\":\(JSONText.quoted(r.outcome.id)),"
        + "\"status\":\"\(r.outcome.status.rawValue)\",\"subscribers\":\(r.subscribers.count),\"duplicate\":\(r.duplicate)}"
}

extension Hub {
    /// Publishes from any thread and returns once the store holds the outcome (or refused it):
    /// the outcome worker completes a job only then.
    public func publishStored(_ request: PublishRequest) async -> Result<PublishResult, HubError> {
        await withCheckedContinuation { (c: CheckedContinuation<Result<PublishResult, HubError>, Never>) in
            publish(request) { c.resume(returning: $0) }
        }
    }
}
