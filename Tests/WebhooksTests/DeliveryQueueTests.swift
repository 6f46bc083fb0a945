import HubBytes
import HubCore
import Testing
@testable import Webhooks

private func outcome(_ key: String, _ seq: UInt64, status: OutcomeStatus = .progress, expiresAt: Int64 = 10_000_000) -> Outcome {
    Outcome(key: try! OutcomeKey(validating: key), seq: seq, id: "o-\(key)-\(seq)", status: status, data: Array("{}".utf8), publishedAt: 0, expiresAt: expiresAt)
}

@Suite struct DeliveryQueueBehaviour {
    let schedule = RetrySchedule(delaysMs: [1000, 2000])

    @Test func eachKeyIsAFifoAndOnlyItsHeadIsInFlight() {
        var q = DeliveryQueue(schedule: schedule)
        for seq in UInt64(1)...3 { _ = q.enqueue(outcome("a", seq), endpoint: "e", nowMs: 0) }
        _ = q.enqueue(outcome("b", 1), endpoint: "e", nowMs: 0)
        let due = q.due(nowMs: 0)
        #expect(due.map { "\($0.key)\($0.seq)" }.sorted() == ["a1", "b1"])
        #expect(q.due(nowMs: 0).isEmpty, "heads in flight, the rest wait behind them")
        _ = q.finish(due.first { $0.key == "a" }!, .delivered, nowMs: 1, jitter: 0)
        #expect(q.due(nowMs: 1).map(\.seq) == [2])
    }

    @Test func aSeqAtOrBelowTheMarkIsNotQueuedTwice() {
        var q = DeliveryQueue(schedule: schedule)
        #expect(!q.enqueue(outcome("a", 2), endpoint: "e", nowMs: 0).isEmpty)
        #expect(q.enqueue(outcome("a", 2), endpoint: "e", nowMs: 0).isEmpty)
        #expect(q.enqueue(outcome("a", 1), endpoint: "e", nowMs: 0).isEmpty)
        #expect(q.pendingCount(endpoint: "e") == 1)
    }

    @Test func failuresFollowTheScheduleThenDeadLetterAndTheKeyMovesOn() {
        var q = DeliveryQueue(schedule: schedule)
        _ = q.enqueue(outcome("a", 1), endpoint: "e", nowMs: 0)
        _ = q.enqueue(outcome("a", 2), endpoint: "e", nowMs: 0)
        var d = q.due(nowMs: 0)[0]
        _ = q.finish(d, .failed("HTTP 500"), nowMs: 0, jitter: 0)
        #expect(q.due(nowMs: 999).isEmpty && q.nextDueAt(nowMs: 999) == 1000)
        d = q.due(nowMs: 1000)[0]
        _ = q.finish(d, .failed("HTTP 500"), nowMs: 1000, jitter: 1)
        let next: Int64? = q.nextDueAt(nowMs: 1000)
        #expect(next == Int64(3200), "+10 % jitter at most")
        d = q.due(nowMs: 3200)[0]
        let (changes, gone) = q.finish(d, .failed("timed out"), nowMs: 3200, jitter: 0)
        #expect(!gone && changes.deadLetters == ["e a:1"])
        #expect(q.deadLetters["e"]?["a:1"]?.reason.contains("3 attempts failed; the last: timed out") == true)
        #expect(q.due(nowMs: 3200).map(\.seq) == [2], "a dead letter does not block its key")
        #expect(q.replay(endpoint: "e", deadLetter: "a:1", nowMs: 4000) != nil)
        #expect(q.deadLetters["e"]?.isEmpty == true && q.pendingCount(endpoint: "e") == 2)
    }

    @Test func theInFlightCapAndTheQueueCapHoldPerEndpoint() {
        var limits = DeliveryLimits()
        limits.maxInFlightPerEndpoint = 2
        limits.maxPendingPerEndpoint = 3
        var q = DeliveryQueue(schedule: schedule, limits: limits)
        for key in ["a", "b", "c", "d"] { _ = q.enqueue(outcome(key, 1), endpoint: "slow", nowMs: 0) }
        _ = q.enqueue(outcome("a", 1), endpoint: "fast", nowMs: 0)
        #expect(q.deadLetters["slow"]?.count == 1, "the fourth could not be queued: dead-lettered, not dropped")
        let due = q.due(nowMs: 0)
        #expect(due.filter { $0.endpointID == "slow" }.count == 2 && due.filter { $0.endpointID == "fast" }.count == 1)
    }

    @Test func goneLeavesTheDecisionToTheCallerAndRemoveForgetsEverything() {
        var q = DeliveryQueue(schedule: schedule)
        _ = q.enqueue(outcome("a", 1), endpoint: "e", nowMs: 0)
        let (_, gone) = q.finish(q.due(nowMs: 0)[0], .gone, nowMs: 0, jitter: 0)
        #expect(gone)
        let removed = q.remove(endpoint: "e")
        #expect(removed.queues.count == 1 && q.pendingCount(endpoint: "e") == 0 && q.nextDueAt(nowMs: 0) == nil)
    }

    @Test func recordsRestoreTheQueueWithInFlightDeliveriesDueAgain() {
        var q = DeliveryQueue(schedule: schedule)
        _ = q.enqueue(outcome("a", 1), endpoint: "e", nowMs: 0)
        _ = q.enqueue(outcome("a", 2), endpoint: "e", nowMs: 0)
        let first = q.due(nowMs: 0)[0]
        _ = q.finish(first, .failed("HTTP 503"), nowMs: 0, jitter: 0)
        _ = q.enqueue(outcome("b", 1), endpoint: "e", nowMs: 0)
        _ = q.due(nowMs: 0)   // b1 in flight when the hub stops
        var restored = DeliveryQueue(schedule: schedule)
        for qid in [QueueID(endpoint: "e", key: "a"), QueueID(endpoint: "e", key: "b")] {
            let r = q.queueRecord(qid, nowMs: 0)
            #expect(r.expiresAt > 0)
            restored.restore(recordID: r.id, body: r.body, nowMs: 0)
        }
        #expect(restored.pendingCount(endpoint: "e") == 3)
        #expect(restored.due(nowMs: 0).map { "\($0.key)\($0.seq)" } == ["b1"], "b1 (in flight) is due again; a1 waits for its retry")
        #expect(restored.due(nowMs: 1000).first?.attempts == 1)
        #expect(restored.enqueue(outcome("a", 2), endpoint: "e", nowMs: 0).isEmpty, "the mark came back too")
    }
}

@Suite struct WebhookInputs {
    @Test func keyPatterns() throws {
        let p = try KeyPattern(validating: "order-*")
        let order = try OutcomeKey(validating: "order-42"), invoice = try OutcomeKey(validating: "invoice-1")
        #expect(p.matches(order) && !p.matches(invoice))
        let all = try KeyPattern(validating: "*"), exact = try KeyPattern(validating: "exact")
        let x = try OutcomeKey(validating: "x"), e = try OutcomeKey(validating: "exact"), longer = try OutcomeKey(validating: "exactly")
        #expect(all.matches(x) && exact.matches(e) && !exact.matches(longer))
        for bad in ["", "a*b", "**", "a b", "é*"] { #expect(throws: WebhookError.self) { try KeyPattern(validating: bad) } }
    }

    @Test func destinations() {
        let strict = DestinationPolicy(allowedHosts: ["hooks.example.com", "*.example.org"])
        #expect(strict.refusal(host: "hooks.example.com") == nil && strict.refusal(host: "a.example.org") == nil)
        #expect(strict.refusal(host: "evil.com") != nil)
        let open = DestinationPolicy()
        for bad in ["127.0.0.1", "10.0.0.8", "172.20.1.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "localhost", "::1"] {
            #expect(open.refusal(host: bad) != nil, "\(bad)")
        }
        #expect(open.refusal(host: "203.0.113.7") == nil && open.refusal(address: "93.184.216.34") == nil)
        #expect(open.refusal(address: "127.0.1.1")?.contains("loopback") == true)
        #expect(DestinationPolicy(allowPrivateAddresses: true).refusal(address: "127.0.0.1") == nil)
    }

    @Test func schedules() {
        #expect(RetrySchedule.standard.attempts == 8)
        #expect(RetrySchedule(parsing: "5s, 5m,2h,100ms")?.delaysMs == [5000, 300_000, 7_200_000, 100])
        for bad in ["", "5", "5d", "-1s", "x", "8d"] { #expect(RetrySchedule(parsing: bad) == nil, "\(bad)") }
    }

    @Test func registrationsRoundTripThroughTheirRecord() throws {
        let e = WebhookEndpoint(id: "wh_1", url: "https://x.example/h", keys: [try KeyPattern(validating: "a-*")], statuses: [.completed],
                                description: "d", secrets: [SigningSecret(value: "whsec_new"), SigningSecret(value: "whsec_old", validUntil: 99)], createdAt: 5)
        #expect(WebhookEndpoint(record: e.recordBody) == e)
        #expect(e.signingSecrets(nowMs: 98) == ["whsec_new", "whsec_old"] && e.signingSecrets(nowMs: 99) == ["whsec_new"])
        #expect(e.publicJSON["secrets"] == nil)
    }
}
