/// Requests per second per client address, for routes anyone on the network may call (callback
/// and action-link URLs): a token bucket per address, bounded in how many addresses it tracks.
/// Pure: time is passed in.
public struct AddressRateLimiter: Sendable {
    public let perSecond: Double
    public let burst: Double
    /// Past this many tracked addresses, idle ones (full buckets) are forgotten; if none is idle,
    /// all are (a flood from many addresses resets everyone's allowance instead of growing memory).
    public let maxAddresses: Int
    private var buckets: [String: (tokens: Double, lastMs: Int64)] = [:]

    public init(perSecond: Int, burst: Int, maxAddresses: Int = 100_000) {
        self.perSecond = Double(max(1, perSecond)); self.burst = Double(max(1, burst)); self.maxAddresses = maxAddresses
    }

    public mutating func allow(_ address: String, nowMs: Int64) -> Bool {
        var bucket = buckets[address] ?? (burst, nowMs)
        bucket.tokens = min(burst, bucket.tokens + Double(max(0, nowMs - bucket.lastMs)) / 1000 * perSecond)
        bucket.lastMs = nowMs
        let allowed = bucket.tokens >= 1
        if allowed { bucket.tokens -= 1 }
        if buckets[address] == nil && buckets.count >= maxAddresses { forgetIdle(nowMs: nowMs) }
        buckets[address] = bucket
        return allowed
    }

    private mutating func forgetIdle(nowMs: Int64) {
        let full = burst, rate = perSecond
        buckets = buckets.filter { $0.value.tokens + Double(nowMs - $0.value.lastMs) / 1000 * rate < full }
        if buckets.count >= maxAddresses { buckets = [:] }
    }
}
