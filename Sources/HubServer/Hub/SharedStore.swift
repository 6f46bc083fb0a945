// The seam to a store several hub nodes share (Redis: Sources/RedisStore). With one, the store
// decides a publish (idempotency, seq, limits, retention) and tells every node that follows the
// key; each node's HubCore caches the keys its own subscribers want (HubCore+Shared.swift).
//
//   publish ─▶ store.publish ─▶ stored: 201, and the outcome ingested here │ refused: 4xx/503
//   first local subscriber of a key ─▶ store.follow ─▶ hub.sharedSync (retained outcomes)
//   outcome published anywhere ─▶ hub.sharedOutcomes ─▶ gap? ─▶ store.fill ─▶ hub.sharedSync
//   last local subscriber gone ─▶ store.unfollow
//   ack with a session ─▶ store.ack │ subscribe with a session ─▶ store.sessionAck, then subscribe
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
    /// Records that `session` processed `key` up to `seq`, for a resume by session on any node.
    /// Best effort: a lost ack costs duplicates on such a resume, never an outcome.
    func ack(_ key: OutcomeKey, session: String, seq: UInt64)
    /// What `session` acknowledged of `key` on any node: 0 when nothing, nil when the store could
    /// not say (the subscriber then resumes from its `after` alone: duplicates, never a loss).
    func sessionAck(of key: OutcomeKey, session: String, completion: @escaping @Sendable (UInt64?) -> Void)
    /// Why the store cannot take writes now (nil when it can): `/readyz` answers 503 with it.
    var unavailableReason: String? { get }
    func close()
}

/// Records (HTTP callbacks, action links) shared by hub nodes: the shared store holds the truth,
/// each node's book is a copy it refreshes before deciding, so a callback URL or action link
/// works on whichever node the load balancer picks. A lease lets one node at a time drive a
/// record's engine call (the nodes' equivalent of a service's one-call-at-a-time).
public protocol SharedRecords: AnyObject, Sendable {
    /// Stores `record` (latest wins), expiring at its `expiresAt`.
    func put(_ record: StoredRecord, completion: @escaping @Sendable (Result<Void, HubError>) -> Void)
    /// The record with `id`, nil when there is none (never stored, or expired).
    func get(_ id: String, completion: @escaping @Sendable (Result<StoredRecord?, HubError>) -> Void)
    /// Takes the lease on `id` for `ms` unless another node holds it (false then).
    func lease(_ id: String, ms: Int, completion: @escaping @Sendable (Result<Bool, HubError>) -> Void)
    func release(_ id: String)
}

extension SharedRecords {
    public func put(_ record: StoredRecord) async -> Result<Void, HubError> {
        await withCheckedContinuation { c in put(record) { c.resume(returning: $0) } }
    }

    public func get(_ id: String) async -> Result<StoredRecord?, HubError> {
        await withCheckedContinuation { c in get(id) { c.resume(returning: $0) } }
    }

    public func lease(_ id: String, ms: Int) async -> Result<Bool, HubError> {
        await withCheckedContinuation { c in lease(id, ms: ms) { c.resume(returning: $0) } }
    }
}
