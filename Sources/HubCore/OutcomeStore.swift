/// A document the hub keeps beside outcomes: the state of an HTTP callback or an action link.
/// Records are latest-wins by `id`; the store forgets them after `expiresAt`.
public struct StoredRecord: Sendable, Equatable {
    /// Unique across kinds, e.g. `callback:<jobKey>`.
    public var id: String
    /// A JSON object: the owner's encoding of its state.
    public var body: [UInt8]
    /// Milliseconds since the epoch.
    public var expiresAt: Int64

    public init(id: String, body: [UInt8], expiresAt: Int64) { self.id = id; self.body = body; self.expiresAt = expiresAt }
}

/// Where outcomes are persisted. The hub keeps its working set in HubCore either way; a store
/// adds durability (and, later, sharing between nodes: a Redis store keeps the same contract —
/// append completes when the outcome is safe, recovery returns what is unexpired).
public protocol OutcomeStore: Sendable {
    /// True when `append` completes only after the outcome survives a crash.
    var isDurable: Bool { get }
    /// Unexpired outcomes found at start (read once, before serving).
    func recovered() -> [Outcome]
    /// Persists `outcome`; `completion` runs once, on any thread, when it is safe or failed.
    func append(_ outcome: Outcome, completion: @escaping @Sendable (Result<Void, HubError>) -> Void)
    /// Runs `completion` once everything appended so far is safe (an idempotent retry must not be
    /// acknowledged before the original it repeats).
    func afterPendingWrites(_ completion: @escaping @Sendable (Result<Void, HubError>) -> Void)
    /// A hint that `count` outcomes expired (stores may compact).
    func expired(count: Int)
    /// Flushes and closes (graceful shutdown).
    func close()
    /// Why the store refuses writes right now (nil while it accepts them): `/readyz` answers 503
    /// with this reason, so a load balancer stops sending publishes to this node.
    var unavailableReason: String? { get }

    /// Persists `record` (replacing an earlier one with its id); `completion` runs once, on any
    /// thread, when it is safe or failed. Records share the outcomes' durability and group commit.
    func put(_ record: StoredRecord, completion: @escaping @Sendable (Result<Void, HubError>) -> Void)
    /// The latest unexpired version of every record found at start.
    func recoveredRecords() -> [StoredRecord]
}

extension OutcomeStore {
    public var unavailableReason: String? { nil }
}

/// Keeps nothing beyond HubCore's memory: appends complete at once.
public final class MemoryOutcomeStore: OutcomeStore {
    public init() {}
    public var isDurable: Bool { false }
    public func recovered() -> [Outcome] { [] }
    public func append(_ outcome: Outcome, completion: @escaping @Sendable (Result<Void, HubError>) -> Void) { completion(.success(())) }
    public func afterPendingWrites(_ completion: @escaping @Sendable (Result<Void, HubError>) -> Void) { completion(.success(())) }
    public func expired(count: Int) {}
    public func close() {}
    public func put(_ record: StoredRecord, completion: @escaping @Sendable (Result<Void, HubError>) -> Void) { completion(.success(())) }
    public func recoveredRecords() -> [StoredRecord] { [] }
}
