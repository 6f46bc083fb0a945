import Synchronization

/// The hub-wide limits that span shards: keys held and bytes retained. The hub splits its keys
/// over several `HubCore`s (one lock each, so loops publish and subscribe in parallel); every
/// shard charges this one budget, so `maxKeys` and `maxTotalBytes` stay exact however keys hash.
///
/// A charge is one compare-and-swap on a counter shared by every shard: cheap next to a publish,
/// and exact, which a per-shard allowance would not be.
public final class HubBudget: Sendable {
    private let keyCount = Atomic<Int>(0)
    private let byteCount = Atomic<Int>(0)

    public init() {}

    public var keys: Int { keyCount.load(ordering: .relaxed) }
    public var bytes: Int { byteCount.load(ordering: .relaxed) }

    /// Takes one key if fewer than `limit` are held.
    func takeKey(limit: Int) -> Bool { take(1, limit: limit, from: keyCount) }
    func returnKey() { keyCount.subtract(1, ordering: .relaxed) }

    /// Charges `bytes` if the total stays within `limit`.
    func charge(_ bytes: Int, limit: Int) -> Bool { take(bytes, limit: limit, from: byteCount) }
    /// Charges without a limit: what a restart reads back was accepted before.
    func chargeUnconditionally(_ bytes: Int) { byteCount.add(bytes, ordering: .relaxed) }
    func refund(_ bytes: Int) { byteCount.subtract(bytes, ordering: .relaxed) }

    private func take(_ amount: Int, limit: Int, from counter: borrowing Atomic<Int>) -> Bool {
        var current = counter.load(ordering: .relaxed)
        while current + amount <= limit {
            let (exchanged, found) = counter.compareExchange(expected: current, desired: current + amount, ordering: .relaxed)
            if exchanged { return true }
            current = found
        }
        return false
    }
}
