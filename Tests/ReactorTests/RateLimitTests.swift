import Testing
@testable import HubServer

@Suite struct RateLimit {
    /// `count` messages spread evenly over `seconds`, starting at `from` (nanoseconds).
    func send(_ bucket: inout TokenBucket, perSecond: Int, seconds: Double, from: UInt64 = 1_000_000_000) -> [TokenBucket.Verdict] {
        let count = Int(Double(perSecond) * seconds)
        let gap = UInt64(1_000_000_000 / perSecond)
        return (0..<count).map { bucket.take(nowNs: from + UInt64($0) * gap) }
    }

    @Test func aClientSendingTwentyTimesItsRateIsClosedThreeSecondsAfterItsFirstRefusal() {
        var bucket = TokenBucket(ratePerSecond: 1000, burst: 2000)
        let verdicts = send(&bucket, perSecond: 20_000, seconds: 4)
        let firstRefused = verdicts.firstIndex { $0 == .refused } ?? 0
        let firstAbusive = verdicts.firstIndex { $0 == .abusive } ?? .max
        // Refusals interleave with refills (one token a millisecond), yet the cut-off comes
        // exactly 3 s (60,000 messages at 20k/s) after the first refusal.
        #expect(firstAbusive - firstRefused == 60_000)
        #expect(verdicts.contains(.allowed) && verdicts.contains(.refused))
    }

    @Test func aClientAtItsRateIsNeverRefused() {
        var bucket = TokenBucket(ratePerSecond: 1000, burst: 2000)
        #expect(send(&bucket, perSecond: 990, seconds: 10).allSatisfy { $0 == .allowed })
    }

    @Test func occasionalBurstsPastTheLimitAreRefusedButNotClosed() {
        var bucket = TokenBucket(ratePerSecond: 100, burst: 200)
        var verdicts: [TokenBucket.Verdict] = []
        // 300 messages at once every other second: the burst passes, the rest is refused.
        for second in stride(from: 1, to: 20, by: 2) {
            verdicts += (0..<300).map { bucket.take(nowNs: UInt64(second) * 1_000_000_000 + UInt64($0)) }
        }
        #expect(verdicts.contains(.refused))
        #expect(!verdicts.contains(.abusive))
    }
}
