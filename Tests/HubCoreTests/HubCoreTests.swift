import Testing
import HubBytes
@testable import HubCore

func key(_ s: String) -> OutcomeKey { try! OutcomeKey(validating: s) }
func request(_ k: String, _ status: OutcomeStatus = .completed, data: String = "{\"ok\":true}", idem: String? = nil) -> PublishRequest {
    PublishRequest(key: key(k), status: status, data: Array(data.utf8), idempotencyKey: idem)
}
let alice = SubscriberRef(loop: 0, id: 1)
let bob = SubscriberRef(loop: 1, id: 2)

@Suite struct Keys {
    @Test func keysAreValidatedByCharacterSetAndLength() {
        #expect((try? OutcomeKey(validating: "order-42:a.b_c")) != nil)
        #expect((try? OutcomeKey(validating: String(repeating: "k", count: 128))) != nil)
        for bad in ["", String(repeating: "k", count: 129), "a b", "a/b", "ключ", "a\u{0}", "a?b", "a%20"] {
            #expect(throws: HubError.self) { try OutcomeKey(validating: bad) }
        }
    }
}

@Suite struct Publishing {
    @Test func sequenceNumbersStartAtOneWithoutGapsPerKey() throws {
        var hub = HubCore(nowMs: 0)
        let a1 = try hub.publish(request("a", .progress), generatedID: "x1", nowMs: 0).get()
        let a2 = try hub.publish(request("a"), generatedID: "x2", nowMs: 0).get()
        let b1 = try hub.publish(request("b"), generatedID: "x3", nowMs: 0).get()
        #expect([a1.outcome.seq, a2.outcome.seq, b1.outcome.seq] == [1, 2, 1])
    }

    @Test func theSameIdempotencyKeyReturnsTheOriginalAndDeliversNothing() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        let first = try hub.publish(request("a", idem: "job-1"), generatedID: "x1", nowMs: 0).get()
        let again = try hub.publish(request("a", data: "{\"other\":1}", idem: "job-1"), generatedID: "x2", nowMs: 5).get()
        #expect(first.subscribers == [alice] && !first.duplicate)
        #expect(again.duplicate && again.subscribers.isEmpty)
        #expect(again.outcome == first.outcome)
        #expect(hub.outcomes(of: key("a")).count == 1)
    }

    @Test func limitsPerKeyAndInTotalAreTypedErrors() throws {
        var config = HubConfig()
        config.maxOutcomesPerKey = 2
        config.maxTotalBytes = 400
        config.maxDataBytes = 100
        var hub = HubCore(config: config, nowMs: 0)
        _ = try hub.publish(request("a", .progress), generatedID: "1", nowMs: 0).get()
        _ = try hub.publish(request("a", .progress), generatedID: "2", nowMs: 0).get()
        let full = hub.publish(request("a"), generatedID: "3", nowMs: 0)
        #expect(throws: HubError.keyFull("key a holds its maximum of 2 outcomes or 1048576 bytes")) { try full.get() }
        let big = hub.publish(request("b", data: "\"" + String(repeating: "x", count: 200) + "\""), generatedID: "4", nowMs: 0)
        #expect(throws: HubError.outcomeTooLarge(100)) { try big.get() }
        var filled = false
        for i in 0..<10 {
            if case .failure(let e) = hub.publish(request("k\(i)"), generatedID: "g\(i)", nowMs: 0) {
                #expect(e.status == 507); filled = true; break
            }
        }
        #expect(filled)
        #expect(HubError.keyFull("").status == 429)
    }

    @Test func publishBodiesAreParsedStrictly() {
        let k = key("a")
        func parse(_ body: String, idem: String? = nil) -> Result<PublishRequest, HubError> {
            PublishRequest.parse(key: k, body: Array(body.utf8), idempotencyKey: idem, maxDataBytes: 1000)
        }
        let ok = try? parse("{\"status\":\"failed\",\"data\":{\"lgkey\":\"x\", \"n\": [1, 2.5e3]},\"id\":\"o-1\"}").get()
        #expect(ok?.status == .failed)
        #expect(ok.map { String(decoding: $0.data, as: UTF8.self) } == "{\"lgkey\":\"x\", \"n\": [1, 2.5e3]}")
        #expect(ok?.idempotencyKey == "o-1")
        #expect((try? parse("{}").get())?.status == .completed)
        for bad in ["", "[]", "{\"status\":\"done\"}", "{\"data\":}", "{\"extra\":1}", "{\"data\":1,\"data\":2}",
                    "{\"data\":\"\u{1}\"}", "{\"id\":\"\"}", "{\"data\":01}", "{\"data\":{}} x"] {
            if case .success = parse(bad) { Issue.record("accepted \(bad)") }
        }
        if case .success = parse("{\"data\":\"" + String(repeating: "x", count: 2000) + "\"}") { Issue.record("accepted oversized data") }
    }

    @Test func theEnvelopeCarriesDataByteForByte() throws {
        var hub = HubCore(nowMs: 1_700_000_000_000)
        let r = try hub.publish(request("k", data: "{\"lgkey\":\"k\",\"lgseq\":7}"), generatedID: "id\"1", nowMs: 1_700_000_000_000).get()
        let text = String(decoding: r.outcome.envelope(), as: UTF8.self)
        #expect(text == "{\"type\":\"outcome\",\"key\":\"k\",\"seq\":1,\"id\":\"id\\\"1\",\"status\":\"completed\",\"publishedAt\":1700000000000,\"data\":{\"lgkey\":\"k\",\"lgseq\":7}}")
        #expect(JSONScanner.validate(r.outcome.envelope()) == nil)
    }
}

@Suite struct Delivery {
    @Test func lateSubscribersGetRetainedOutcomesInOrder() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.publish(request("a", .progress), generatedID: "1", nowMs: 0).get()
        _ = try hub.publish(request("a"), generatedID: "2", nowMs: 0).get()
        let replay = try hub.subscribe(alice, to: key("a"), nowMs: 10).get()
        #expect(replay.map(\.seq) == [1, 2])
        let after1 = try hub.subscribe(bob, to: key("a"), after: 1, nowMs: 10).get()
        #expect(after1.map(\.seq) == [2])
    }

    @Test func subscribeRacingPublishDeliversExactlyOnceInEitherOrder() throws {
        // Publish first: the outcome comes in the replay and not live.
        var h1 = HubCore(nowMs: 0)
        let p1 = try h1.publish(request("k"), generatedID: "1", nowMs: 0).get()
        let r1 = try h1.subscribe(alice, to: key("k"), nowMs: 0).get()
        #expect(p1.subscribers.isEmpty && r1.map(\.seq) == [1])
        // Subscribe first: live, and not in the replay.
        var h2 = HubCore(nowMs: 0)
        let r2 = try h2.subscribe(alice, to: key("k"), nowMs: 0).get()
        let p2 = try h2.publish(request("k"), generatedID: "1", nowMs: 0).get()
        #expect(r2.isEmpty && p2.subscribers == [alice])
    }

    @Test func everySubscriberOfAKeyIsListedForFanOut() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.subscribe(alice, to: key("k"), nowMs: 0).get()
        _ = try hub.subscribe(bob, to: key("k"), nowMs: 0).get()
        _ = try hub.subscribe(bob, to: key("k"), nowMs: 0).get()      // twice: still once
        let both = try hub.publish(request("k"), generatedID: "1", nowMs: 0).get()
        #expect(both.subscribers == [alice, bob])
        hub.unsubscribe(alice, from: key("k"), nowMs: 0)
        let onlyBob = try hub.publish(request("k"), generatedID: "2", nowMs: 0).get()
        #expect(onlyBob.subscribers == [bob])
    }

    @Test func unsubscribingEverythingLeavesNoSubscription() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        _ = try hub.subscribe(alice, to: key("b"), nowMs: 0).get()
        hub.unsubscribeAll(alice, keys: [key("a"), key("b")], nowMs: 0)
        #expect(hub.subscriptionCount == 0 && hub.keyCount == 0 && hub.budget.keys == 0)
    }
}

/// Shards of one hub share its key and byte limits through one `HubBudget`.
@Suite struct SharedBudget {
    @Test func keysAreCountedAcrossShardsAndReturnedWhenForgotten() throws {
        var config = HubConfig()
        config.maxKeys = 3
        let budget = HubBudget()
        var one = HubCore(config: config, budget: budget, nowMs: 0)
        var two = HubCore(config: config, budget: budget, nowMs: 0)
        _ = try one.subscribe(alice, to: key("a"), nowMs: 0).get()
        _ = try two.publish(request("b"), generatedID: "1", nowMs: 0).get()
        _ = try two.subscribe(bob, to: key("c"), nowMs: 0).get()
        #expect(budget.keys == 3)
        #expect(throws: HubError.storeFull("the hub holds 3 keys")) { try one.publish(request("d"), generatedID: "2", nowMs: 0).get() }
        #expect(throws: HubError.storeFull("the hub holds 3 keys")) { try one.subscribe(bob, to: key("e"), nowMs: 0).get() }
        two.unsubscribe(bob, from: key("c"), nowMs: 0)          // never published: forgotten at once
        #expect(budget.keys == 2)
        _ = try one.publish(request("d"), generatedID: "2", nowMs: 0).get()
        #expect(budget.keys == 3 && one.keyCount + two.keyCount == 3)
    }

    @Test func bytesAreChargedAcrossShardsAndRefundedOnExpiry() throws {
        var config = HubConfig()
        config.maxTotalBytes = 1_000
        config.retentionMs = 1_000
        let budget = HubBudget()
        var shards = [HubCore(config: config, budget: budget, nowMs: 0), HubCore(config: config, budget: budget, nowMs: 0)]
        var stored = 0
        for i in 0..<100 {
            guard case .success = shards[i % 2].publish(request("k\(i)"), generatedID: "\(i)", nowMs: 0) else { break }
            stored += 1
        }
        #expect(stored > 2 && budget.bytes <= 1_000)
        #expect(budget.bytes == shards[0].totalBytes + shards[1].totalBytes)
        #expect(throws: HubError.self) { try shards[0].publish(request("late"), generatedID: "x", nowMs: 0).get() }
        shards[0].expire(nowMs: 2_000)
        shards[1].expire(nowMs: 2_000)
        #expect(budget.bytes == 0)
        _ = try shards[1].publish(request("late"), generatedID: "x", nowMs: 2_000).get()
    }
}

@Suite struct Retention {
    @Test func outcomesExpireAfterRetentionAndNotBefore() throws {
        var config = HubConfig()
        config.retentionMs = 10_000
        var hub = HubCore(config: config, nowMs: 0)
        _ = try hub.publish(request("a"), generatedID: "1", nowMs: 500).get()
        _ = try hub.publish(request("b"), generatedID: "2", nowMs: 4_000).get()
        let early = hub.expire(nowMs: 10_000)
        let due = hub.expire(nowMs: 11_000)
        #expect(early == 0 && due == 1)
        #expect(hub.outcomes(of: key("a")).isEmpty && hub.outcomes(of: key("b")).count == 1)
        let second = hub.expire(nowMs: 14_000)
        #expect(second == 1 && hub.totalBytes == 0)
    }

    @Test func sequenceNumbersSurviveExpiryForOneMoreRetentionPeriod() throws {
        var config = HubConfig()
        config.retentionMs = 1_000
        var hub = HubCore(config: config, nowMs: 0)
        _ = try hub.publish(request("a"), generatedID: "1", nowMs: 0).get()
        hub.expire(nowMs: 1_500)
        let next = try hub.publish(request("a"), generatedID: "2", nowMs: 1_600).get()
        #expect(next.outcome.seq == 2)
        hub.expire(nowMs: 10_000)          // outcome 2 expires; its counter is kept one more period
        #expect(hub.keyCount == 1)
        hub.expire(nowMs: 11_000)
        #expect(hub.keyCount == 0)
        // A resume beyond the forgotten history replays everything retained now.
        _ = try hub.publish(request("a"), generatedID: "3", nowMs: 11_000).get()
        let resumed = try hub.subscribe(alice, to: key("a"), after: 2, nowMs: 11_000).get()
        #expect(resumed.map(\.seq) == [1])
    }

    @Test func aLongPauseExpiresEverythingDueInOneStep() throws {
        var config = HubConfig()
        config.retentionMs = 1_000
        var hub = HubCore(config: config, nowMs: 0)
        for i in 0..<100 { _ = try hub.publish(request("k\(i)"), generatedID: "\(i)", nowMs: Int64(i) * 10).get() }
        let all = hub.expire(nowMs: 86_400_000)
        #expect(all == 100)
        #expect(hub.totalBytes == 0)
    }

    @Test func restoredOutcomesKeepTheirSequenceAndExpiry() {
        var hub = HubCore(nowMs: 0)
        let o = Outcome(key: key("a"), seq: 7, id: "x", status: .completed, data: Array("1".utf8), publishedAt: 0, expiresAt: 5_000, idempotencyKey: "i")
        hub.restore(o, nowMs: 100)
        hub.restore(o, nowMs: 100)
        #expect(hub.outcomes(of: key("a")) == [o])
        let eight = try! hub.publish(request("a"), generatedID: "y", nowMs: 200).get()
        let dup = try! hub.publish(request("a", idem: "i"), generatedID: "z", nowMs: 200).get()
        #expect(eight.outcome.seq == 8 && dup.duplicate)
        hub.expire(nowMs: 6_000)
        #expect(hub.outcomes(of: key("a")).map(\.seq) == [8])
    }
}

@Suite struct Acks {
    @Test func aResumedSessionSkipsWhatItAcked() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.subscribe(alice, to: key("a"), session: "s1", nowMs: 0).get()
        _ = try hub.publish(request("a", .progress), generatedID: "1", nowMs: 0).get()
        _ = try hub.publish(request("a", .progress), generatedID: "2", nowMs: 0).get()
        hub.ack(alice, key: key("a"), seq: 1, session: "s1", nowMs: 0)
        hub.unsubscribeAll(alice, keys: [key("a")], nowMs: 0)
        let resumed = try hub.subscribe(bob, to: key("a"), session: "s1", nowMs: 0).get()
        #expect(resumed.map(\.seq) == [2])
        let fresh = try hub.subscribe(SubscriberRef(loop: 0, id: 9), to: key("a"), nowMs: 0).get()
        #expect(fresh.map(\.seq) == [1, 2])
    }

    @Test func aTerminalOutcomeAckedByEverySubscriberReleasesTheKey() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.subscribe(alice, to: key("a"), nowMs: 0).get()
        _ = try hub.subscribe(bob, to: key("a"), nowMs: 0).get()
        _ = try hub.publish(request("a", .progress), generatedID: "1", nowMs: 0).get()
        let notTerminal = hub.ack(alice, key: key("a"), seq: 1, session: nil, nowMs: 0)
        #expect(!notTerminal)
        _ = try hub.publish(request("a"), generatedID: "2", nowMs: 0).get()
        let bobMissing = hub.ack(alice, key: key("a"), seq: 2, session: nil, nowMs: 0)
        #expect(!bobMissing)
        let everyone = hub.ack(bob, key: key("a"), seq: 2, session: nil, nowMs: 0)
        #expect(everyone)
        #expect(hub.outcomes(of: key("a")).isEmpty && hub.totalBytes == 0)
        #expect(hub.counters.released == 1)
    }

    @Test func acksForKeysNotSubscribedToAreIgnored() throws {
        var hub = HubCore(nowMs: 0)
        _ = try hub.publish(request("a"), generatedID: "1", nowMs: 0).get()
        let released = hub.ack(alice, key: key("a"), seq: 1, session: "s", nowMs: 0)
        #expect(!released)
        // No session was recorded: a fresh subscriber with that session still gets everything.
        let replay = try hub.subscribe(bob, to: key("a"), session: "s", nowMs: 0).get()
        #expect(replay.map(\.seq) == [1] && hub.outcomes(of: key("a")).count == 1)
    }

    @Test func sessionsExpireAfterRetention() throws {
        var config = HubConfig()
        config.retentionMs = 1_000
        var hub = HubCore(config: config, nowMs: 0)
        _ = try hub.subscribe(alice, to: key("a"), session: "s", nowMs: 0).get()
        _ = try hub.publish(request("a", .progress), generatedID: "1", nowMs: 0).get()
        hub.ack(alice, key: key("a"), seq: 1, session: "s", nowMs: 0)
        _ = try hub.publish(request("a", .progress), generatedID: "2", nowMs: 900).get()
        hub.expire(nowMs: 1_500)
        // The session is gone, but outcome 2 (published at 900) is still retained: full replay.
        let afterExpiry = try hub.subscribe(bob, to: key("a"), session: "s", nowMs: 1_500).get()
        #expect(afterExpiry.map(\.seq) == [2])
    }
}

@Suite struct KeptCounts {
    /// Every operation that changes retained outcomes or subscriptions, in a seeded random order:
    /// the counts kept as they change must equal a walk of every key after each step.
    @Test func keptCountsEqualARecountAfterEveryOperation() throws {
        var rng = SplitMix(seed: 42)
        var config = HubConfig()
        config.retentionMs = 50
        var hub = HubCore(config: config, nowMs: 0)
        var now: Int64 = 0
        var reserved: [(OutcomeKey, UInt64)] = []
        let subscribers = (0..<4).map { SubscriberRef(loop: $0 % 2, id: UInt64($0)) }
        for step in 0..<5_000 {
            let k = key("k\(rng.next() % 6)")
            let who = subscribers[Int(rng.next() % 4)]
            switch rng.next() % 9 {
            case 0: _ = hub.publish(request(k.description, rng.next() % 3 == 0 ? .completed : .progress), generatedID: "g\(step)", nowMs: now)
            case 1: if case .success(.new(let o)) = hub.reserve(request(k.description), generatedID: "r\(step)", nowMs: now) { reserved.append((o.key, o.seq)) }
            case 2: if !reserved.isEmpty { let (rk, seq) = reserved.removeFirst(); _ = hub.commit(rk, seq: seq, nowMs: now) }
            case 3: if !reserved.isEmpty { let (rk, seq) = reserved.removeLast(); _ = hub.abandon(rk, seq: seq, nowMs: now) }
            case 4: _ = hub.subscribe(who, to: k, nowMs: now)
            case 5: hub.unsubscribe(who, from: k, nowMs: now)
            case 6: hub.unsubscribeAll(who, keys: [k, key("k0")], nowMs: now)
            case 7:
                let last = hub.outcomes(of: k).last?.seq ?? 0
                hub.ack(who, key: k, seq: rng.next() % 4 == 0 ? UInt64(rng.next() % 8) : last, session: rng.next() % 2 == 0 ? "s" : nil, nowMs: now)
            default: now += Int64(rng.next() % 30); hub.expire(nowMs: now)
            }
            let recount = hub.recountedTheSlowWay()
            #expect(hub.retainedOutcomes == recount.retainedOutcomes, "step \(step)")
            #expect(hub.subscriptionCount == recount.subscriptions, "step \(step)")
            if hub.retainedOutcomes != recount.retainedOutcomes || hub.subscriptionCount != recount.subscriptions { return }
        }
        // Every path was taken: early releases, expiries and abandons included.
        #expect(hub.counters.released > 10 && hub.counters.expired > 100 && hub.counters.abandoned > 10, "\(hub.counters)")
    }
}

/// A small deterministic generator, so a failing sequence replays.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct Envelope {
    @Test func theEnvelopeIsWrittenInOnePassWithItsLengthKnownInAdvance() {
        for (id, quoted) in [("a3f1", "\"a3f1\""), ("say \"hi\"\n", #""say \"hi\"\n""#)] {
            for seq: UInt64 in [1, 9, 10, 12_345_678_901] {
                let o = Outcome(key: key("order-1"), seq: seq, id: id, status: .completed, data: Array(#"{"ok":true}"#.utf8),
                                publishedAt: 1_800_000_000_123, expiresAt: 0)
                let text = String(decoding: o.envelope(), as: UTF8.self)
                #expect(text == #"{"type":"outcome","key":"order-1","seq":\#(seq),"id":\#(quoted),"status":"completed","publishedAt":1800000000123,"data":{"ok":true}}"#)
                #expect(o.envelopeCount == o.envelope().count)
            }
        }
    }
}
