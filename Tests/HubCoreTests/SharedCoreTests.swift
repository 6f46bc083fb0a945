import Testing
import HubBytes
@testable import HubCore

/// Shared mode (HubCore+Shared.swift): the core as a cache of a store other nodes publish to.
/// Outcomes arrive from pub/sub, publish replies and reads, in any order and more than once;
/// each subscriber must get each once, in seq order, from where it asked.
@Suite struct SharedCore {
    func shared() -> HubCore {
        var config = HubConfig()
        config.sharedStore = true
        return HubCore(config: config, nowMs: 0)
    }

    func stored(_ k: String, _ seq: UInt64, expiresAt: Int64 = 60_000) -> Outcome {
        Outcome(key: key(k), seq: seq, id: "o\(seq)", status: .progress, data: Array("\(seq)".utf8), publishedAt: 0, expiresAt: expiresAt)
    }

    /// Every delivery's seq for `who`, in order.
    func seqs(_ deliveries: [OutcomeDelivery], for who: SubscriberRef) -> [UInt64] {
        deliveries.filter { $0.subscribers.contains(who) }.map(\.outcome.seq)
    }

    @Test func aKeyIsHeldOnlyWhileSubscribedAndTheFirstReadReplays() throws {
        var hub = shared()
        #expect(!hub.holds(key("a")))
        // Outcomes of a key nobody here subscribes to are not kept.
        let unheld = hub.ingest([stored("a", 1)], of: key("a"), nowMs: 0)
        #expect(unheld.deliveries.isEmpty)
        #expect(try hub.subscribe(alice, to: key("a"), nowMs: 0).get().isEmpty, "the replay waits for the store's answer")
        #expect(hub.holds(key("a")))
        // A pub/sub message before the read's answer is held, then placed by it.
        let early = hub.ingest([stored("a", 3)], of: key("a"), nowMs: 0)
        #expect(early.deliveries.isEmpty)
        let (replay, fill) = hub.synced(key("a"), outcomes: [stored("a", 1), stored("a", 2)], storeNextSeq: 3, nowMs: 0)
        #expect(fill == nil)
        #expect(seqs(replay, for: alice) == [1, 2, 3])
        hub.unsubscribe(alice, from: key("a"), nowMs: 0)
        #expect(!hub.holds(key("a")) && hub.totalBytes == 0 && hub.retainedOutcomes == 0 && hub.budget.keys == 0)
    }

    @Test func earlySubscribersAreReplayedFromWhereEachAsked() throws {
        var hub = shared()
        _ = try hub.subscribe(alice, to: key("a"), after: 2, nowMs: 0).get()
        _ = try hub.subscribe(bob, to: key("a"), nowMs: 0).get()
        let carol = SubscriberRef(loop: 0, id: 3)
        // Past anything the key ever had: the store forgot it, so everything is replayed (as on one node).
        _ = try hub.subscribe(carol, to: key("a"), after: 99, nowMs: 0).get()
        let (replay, _) = hub.synced(key("a"), outcomes: (1...4).map { stored("a", $0) }, storeNextSeq: 5, nowMs: 0)
        #expect(seqs(replay, for: alice) == [3, 4])
        #expect(seqs(replay, for: bob) == [1, 2, 3, 4])
        #expect(seqs(replay, for: carol) == [1, 2, 3, 4])
        // A later subscriber is replayed from the cache at once.
        let late = SubscriberRef(loop: 1, id: 4)
        #expect(try hub.subscribe(late, to: key("a"), after: 3, nowMs: 0).get().map(\.seq) == [4])
    }

    @Test func repeatsAreDroppedAndAGapAsksForAFillThatPlacesEverythingInOrder() throws {
        var hub = shared()
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        _ = hub.synced(key("a"), outcomes: [], storeNextSeq: 1, nowMs: 0)
        let one = hub.ingest([stored("a", 1)], of: key("a"), nowMs: 0)
        #expect(seqs(one.deliveries, for: alice) == [1])
        // The same outcome again (the publish reply after the pub/sub message): nothing.
        let again = hub.ingest([stored("a", 1)], of: key("a"), nowMs: 0)
        #expect(again.deliveries.isEmpty)
        // 2 and 3 were lost (a reconnect): 4 is held and a fill after 1 is asked for.
        let gap = hub.ingest([stored("a", 4)], of: key("a"), nowMs: 0)
        #expect(gap.deliveries.isEmpty && gap.fillAfter == 1)
        // 5 arrives before the fill's answer: held too, no second fill.
        let five = hub.ingest([stored("a", 5)], of: key("a"), nowMs: 0)
        #expect(five.deliveries.isEmpty && five.fillAfter == nil)
        let filled = hub.synced(key("a"), outcomes: [stored("a", 2), stored("a", 3), stored("a", 4)], storeNextSeq: 5, nowMs: 0)
        #expect(seqs(filled.deliveries, for: alice) == [2, 3, 4, 5] && filled.fillAfter == nil)
        #expect(hub.knownSeq(of: key("a")) == 5)
    }

    @Test func seqsTheStoreNoLongerHoldsAreSkippedNotAwaited() throws {
        var hub = shared()
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        // 1 and 2 expired in the store before the read; 3 is there.
        let first = hub.synced(key("a"), outcomes: [stored("a", 3)], storeNextSeq: 4, nowMs: 0)
        #expect(seqs(first.deliveries, for: alice) == [3])
        // A read whose outcomes expired here meanwhile only moves the count.
        let later = hub.synced(key("a"), outcomes: [stored("a", 4, expiresAt: 10)], storeNextSeq: 5, nowMs: 20)
        #expect(later.deliveries.isEmpty && hub.knownSeq(of: key("a")) == 4)
        // Past the read's count and past a gap: held, and a fill asked for.
        let ahead = hub.synced(key("a"), outcomes: [stored("a", 7)], storeNextSeq: 5, nowMs: 20)
        #expect(ahead.deliveries.isEmpty && ahead.fillAfter == 4)
    }

    @Test func aStoreThatLostTheKeyIsFollowedFromItsNewCount() throws {
        var hub = shared()
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        _ = hub.synced(key("a"), outcomes: [stored("a", 1), stored("a", 2)], storeNextSeq: 3, nowMs: 0)
        // Redis restarted without persistence: it counts from 1 again.
        _ = hub.synced(key("a"), outcomes: [], storeNextSeq: 1, nowMs: 0)
        #expect(hub.outcomes(of: key("a")).isEmpty && hub.totalBytes == 0)
        let restarted = hub.ingest([stored("a", 1)], of: key("a"), nowMs: 0)
        #expect(seqs(restarted.deliveries, for: alice) == [1])
    }

    @Test func acksDoNotReleaseAKeyOtherNodesMayStillNeed() throws {
        var hub = shared()
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        var done = stored("a", 1)
        done.status = .completed
        _ = hub.synced(key("a"), outcomes: [done], storeNextSeq: 2, nowMs: 0)
        let released = hub.ack(alice, key: key("a"), seq: 1, session: nil, nowMs: 0)
        #expect(!released)
        #expect(hub.outcomes(of: key("a")).count == 1)
    }
}
