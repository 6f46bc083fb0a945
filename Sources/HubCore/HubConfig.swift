/// Retention and memory limits of the hub core. Each has a safe default and a reason.
public struct HubConfig: Sendable {
    /// How long an outcome is kept for late subscribers. Minutes, not hours: outcomes answer
    /// waiting requests; 10 minutes covers slow clients and reconnects.
    public var retentionMs: Int64 = 10 * 60 * 1000
    /// Outcomes kept per key (progress updates, then the terminal one).
    public var maxOutcomesPerKey = 64
    /// Bytes kept per key.
    public var maxBytesPerKey = 1 << 20
    /// Bytes kept in all (data + bookkeeping). 256 MiB.
    public var maxTotalBytes = 256 << 20
    /// Keys with retained outcomes.
    public var maxKeys = 1_000_000
    /// Largest `data` of one outcome. 256 KiB: outcomes are workflow variables, not files.
    public var maxDataBytes = 256 * 1024
    /// Subscriptions one subscriber may hold at once (a multiplexed socket).
    public var maxSubscriptionsPerSubscriber = 10_000
    /// This node shares its outcomes with other nodes through a store (Redis): the core is then a
    /// cache of the keys subscribed here (HubCore+Shared.swift), seqs come from the store, and an
    /// ack does not release a key early (a subscriber on another node may still need it).
    public var sharedStore = false

    public init() {}
}
