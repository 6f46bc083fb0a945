// The seam to a store several hub nodes share (Redis: Sources/RedisStore). With one, the store
// decides a publish (idempotency, seq, limits, retention) and tells every node that follows the
// key; each node's HubCore caches the keys its own subscribers want (HubCore+Shared.swift).
//
//   publish ─▶ store.publish ─▶ stored: 201, and the outcome ingested here │ refused: 4xx/503
//   first local subscriber of a key ─▶ store.follow ─▶ hub.sharedSync (retained outcomes)
//   outcome published anywhere ─▶ hub.sharedOutcomes ─▶ gap? ─▶ store.fill ─▶ hub.sharedSync
//   last local subscriber gone ─▶ store.unfollow
import HubCore
import Reactor

/// What the shared store answered to a publish.
public struct SharedPublish: Sendable {
    /// The stored outcome: the new one, or the original an idempotency key names.
    public var outcome: Outcome
    public var duplicate: Bool
    /// Nodes following the key when it was stored (each has at least one subscriber to it).
    public var followingNodes: Int

    public init(outcome: Outcome, duplicate: Bool, followingNodes: Int) {
        self.outcome = outcome; self.duplicate = duplicate; self.followingNodes = followingNodes
    }
}

/// A store shared by hub nodes. Calls come from any thread and return at once; answers arrive
/// on the store's loop. `follow`, `unfollow` and `fill` of one key are issued under the
/// key's shard lock, so the store sees them in the order the hub decided them.
public protocol SharedStore: AnyObject, Sendable {
    /// Called once, before the loops run: where the store sends outcomes and read answers, and
    /// the loop it may run its connections on (the server's first: a publish on that loop then
    /// reaches Redis and comes back without waking another thread).
    func attach(_ hub: Hub, loop: EventLoop)
    /// Stores `outcome` (its seq is the store's to give) unless its idempotency key names one
    /// already stored; `completion` runs once. A failure means not acknowledged: the publisher
    /// gets the error's status (503 when the store cannot be reached) and may retry.
    func publish(_ outcome: Outcome, limits: HubConfig, completion: @escaping @Sendable (Result<SharedPublish, HubError>) -> Void)
    /// Starts receiving `key`'s outcomes, then reads its retained ones (→ `Hub.sharedSync`).
    func follow(_ key: OutcomeKey)
    func unfollow(_ key: OutcomeKey)
    /// Reads `key`'s retained outcomes after `seq` (→ `Hub.sharedSync`): a gap was seen.
    func fill(_ key: OutcomeKey, after seq: UInt64)
    /// Why the store cannot take writes now (nil when it can): `/readyz` answers 503 with it.
    var unavailableReason: String? { get }
    func close()
}
