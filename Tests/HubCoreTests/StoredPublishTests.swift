import Testing
import HubBytes
@testable import HubCore

/// The durable path: reserve → the store writes → commit or abandon.
@Suite struct StoredPublish {
    func reserveNew(_ hub: inout HubCore, _ r: PublishRequest, id: String, at now: Int64 = 0) throws -> Outcome {
        guard case .new(let outcome) = try hub.reserve(r, generatedID: id, nowMs: now).get() else {
            Issue.record("expected a new reservation"); throw HubError.storeFailed("not new")
        }
        return outcome
    }

    @Test func aReservedOutcomeIsInvisibleUntilCommitted() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        let o = try reserveNew(&hub, request("a"), id: "x")
        #expect(hub.outcomes(of: key("a")).isEmpty)
        #expect(try hub.subscribe(bob, to: key("a"), nowMs: 0).get().isEmpty)
        let delivered = hub.commit(key("a"), seq: o.seq, nowMs: 0)
        #expect(delivered == [OutcomeDelivery(outcome: o, subscribers: [alice, bob])])
        #expect(hub.outcomes(of: key("a")) == [o] && hub.counters.published == 1)
    }

    @Test func anAbandonedPublishLeavesNoTraceAndItsSeqIsGivenAgain() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        let refused = try reserveNew(&hub, request("a", data: "\"lost\"", idem: "job-1"), id: "x1")
        #expect(hub.abandon(key("a"), seq: refused.seq, nowMs: 0).isEmpty)
        #expect(hub.totalBytes == 0 && hub.outcomes(of: key("a")).isEmpty && hub.counters.abandoned == 1)
        #expect(hub.storedOutcome(of: key("a"), idempotencyKey: "job-1") == nil)
        // The retry is a new publish, not a "duplicate" of something never stored.
        let retry = try reserveNew(&hub, request("a", data: "\"kept\"", idem: "job-1"), id: "x2")
        #expect(retry.seq == refused.seq && retry.data == Array("\"kept\"".utf8))
    }

    @Test func aRetryWhileTheOriginalIsInFlightWaitsForItsFate() throws {
        var hub = HubCore(nowMs: 0)
        let original = try reserveNew(&hub, request("a", idem: "job-1"), id: "x1")
        #expect(try hub.reserve(request("a", idem: "job-1"), generatedID: "x2", nowMs: 0).get() == .inFlight(original))
        _ = hub.commit(key("a"), seq: original.seq, nowMs: 0)
        #expect(hub.storedOutcome(of: key("a"), idempotencyKey: "job-1") == original)
        #expect(try hub.reserve(request("a", idem: "job-1"), generatedID: "x3", nowMs: 0).get() == .duplicate(original))
    }

    @Test func aStoredOutcomeWaitsBehindAnEarlierOneStillBeingWritten() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        let one = try reserveNew(&hub, request("a", .progress), id: "1")
        let two = try reserveNew(&hub, request("a"), id: "2")
        #expect(hub.commit(key("a"), seq: two.seq, nowMs: 0).isEmpty)
        #expect(hub.outcomes(of: key("a")).isEmpty)
        #expect(hub.commit(key("a"), seq: one.seq, nowMs: 0).map(\.outcome.seq) == [1, 2])
    }

    @Test func abandoningAnEarlierOneReleasesLaterStoredOnesAndNeverReusesTheirSeqs() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        let one = try reserveNew(&hub, request("a", .progress), id: "1")
        let two = try reserveNew(&hub, request("a"), id: "2")
        _ = hub.commit(key("a"), seq: two.seq, nowMs: 0)
        #expect(hub.abandon(key("a"), seq: one.seq, nowMs: 0).map(\.outcome.seq) == [2])
        // 2 was shown, so numbering goes on after it: a gap at 1, never a second 2.
        #expect(try reserveNew(&hub, request("a"), id: "3").seq == 3)
    }

    @Test func limitsCountOutcomesInFlight() throws {
        var config = HubConfig()
        config.maxOutcomesPerKey = 1
        var hub = HubCore(config: config, nowMs: 0)
        _ = try reserveNew(&hub, request("a", .progress), id: "1")
        #expect(throws: HubError.self) { try hub.reserve(request("a"), generatedID: "2", nowMs: 0).get() }
    }

    @Test func aKeyIsNotReleasedEarlyWhileAnOutcomeIsInFlight() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        _ = try hub.publish(request("a"), generatedID: "1", nowMs: 0).get()
        _ = try reserveNew(&hub, request("a"), id: "2")
        let released = hub.ack(alice, key: key("a"), seq: 1, session: nil, nowMs: 0)
        #expect(!released)
    }

    @Test func aKeyWithAnOutcomeInFlightIsNotForgotten() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        let o = try reserveNew(&hub, request("a"), id: "1")
        hub.unsubscribe(alice, from: key("a"), nowMs: 0)
        #expect(hub.keyCount == 1)
        _ = hub.commit(key("a"), seq: o.seq, nowMs: 0)
        #expect(hub.outcomes(of: key("a")) == [o])
    }
}
