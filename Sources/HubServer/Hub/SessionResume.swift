// A multiplexed subscribe with a `session` resumes after what that session acknowledged. On one
// node the core remembers the acks; with a shared store the session may have acked on another
// node, so the subscribe first asks the store (one read, answered on the store's loop) and goes
// on, on its own loop, once the answer is back:
//
//   subscribe(K, after, session) ─▶ store: HGET a:<session> ─▶ hop back ─▶ subscribe(K, max(after, acked))
import HubCore

extension LoopContext {
    /// Asks the shared store what `session` acknowledged of `key` and calls `done` on this loop.
    func sessionAck(of key: OutcomeKey, session: String, via hub: Hub, done: @escaping (UInt64?) -> Void) {
        let token = nextPendingToken
        nextPendingToken += 1
        pendingSessionReads[token] = done
        let here = LoopRef(loop: loop, context: self)
        hub.sessionAck(of: key, session: session) { acked in
            here.execute { context in context.pendingSessionReads.removeValue(forKey: token)?(acked) }
        }
    }
}
