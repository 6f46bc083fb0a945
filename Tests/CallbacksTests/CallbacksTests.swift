import Testing
import HubBytes
import HubCore
@testable import Callbacks
@testable import CallbackService

let secret = Array("a secret of at least thirty-two bytes".utf8)

@Suite struct Capabilities {
    let caps = CallbackCapabilities(secret: secret)

    @Test func aTokenOpensOnlyItsJobAndItsKind() {
        let token = caps.token(jobKey: "42", kind: .response)
        #expect(token.utf8.count == 43)
        #expect(caps.verify(jobKey: "42", kind: .response, token: token))
        #expect(!caps.verify(jobKey: "42", kind: .error, token: token))
        #expect(!caps.verify(jobKey: "43", kind: .response, token: token))
        #expect(!CallbackCapabilities(secret: Array("another secret of thirty-two bytes!!".utf8)).verify(jobKey: "42", kind: .response, token: token))
    }

    @Test func malformedTokensAreRefusedWithoutDecodingTrouble() {
        for bad in ["", "x", String(repeating: "A", count: 43), String(repeating: "=", count: 43), String(repeating: "é", count: 22), "+/+/"] {
            #expect(!caps.verify(jobKey: "42", kind: .response, token: bad))
        }
    }

    @Test func tokensAreStableForTheSameSecret() {
        #expect(caps.token(jobKey: "7", kind: .error) == CallbackCapabilities(secret: secret).token(jobKey: "7", kind: .error))
    }
}

@Suite struct Book {
    func book(allowed: [String]? = nil, expiresAt: Int64 = 10_000) -> CallbackBook {
        var b = CallbackBook(nowMs: 0)
        _ = b.issue(CallbackRecord(jobKey: "1", processInstanceKey: "p", elementInstanceKey: "e", allowedVariables: allowed, issuedAt: 0, expiresAt: expiresAt))
        return b
    }

    func decide(_ b: CallbackBook, _ kind: CallbackKind, _ body: String, at now: Int64 = 5) -> CallbackDecision {
        b.decide(jobKey: "1", kind: kind, body: Array(body.utf8), nowMs: now)
    }

    @Test func aFirstAnswerIsAppliedThenRepeatsAndConflictsAreToldApart() {
        var b = book()
        guard case .apply(var answer, let command) = decide(b, .response, #"{"data":{"x":1}}"#) else { Issue.record("not applied"); return }
        #expect(command == .complete(variables: ["x": 1]))
        answer.state = .completed
        b.record(answer, jobKey: "1")
        #expect(decide(b, .response, #"{ "data" : { "x" : 1 } }"#) == .repeated(answer))
        #expect(decide(b, .response, #"{"data":{"x":2}}"#) == .conflict(answer))
        #expect(decide(b, .error, #"{"errorMessage":"no"}"#) == .conflict(answer))
    }

    @Test func aPendingAnswerIsDrivenAgainByItsRepeatAndAWithdrawnOneIsForgotten() {
        var b = book()
        guard case .apply(let pending, _) = decide(b, .error, #"{"errorCode":"E"}"#) else { Issue.record("not applied"); return }
        b.record(pending, jobKey: "1")
        #expect(decide(b, .error, #"{"errorCode":"E"}"#) == .apply(pending, .throwError(code: "E", message: nil)))
        #expect(decide(b, .response, "{}") == .conflict(pending))
        b.withdraw(jobKey: "1")
        guard case .apply = decide(b, .response, "{}") else { Issue.record("withdrawn answer still counted"); return }
    }

    @Test func aGoneAnswerStaysGoneAndUnknownOrExpiredRecordsAreUnknown() {
        var b = book()
        b.record(CallbackRecord.Answer(kind: .response, body: ["data": [:]], at: 1, state: .gone), jobKey: "1")
        guard case .gone = decide(b, .response, "") else { Issue.record("not gone"); return }
        #expect(b.decide(jobKey: "2", kind: .response, body: [], nowMs: 5) == .unknown)
        #expect(decide(book(expiresAt: 100), .response, "{}", at: 100) == .unknown)
        var reaped = book(expiresAt: 100)
        #expect(reaped.reap(nowMs: 100) == 1 && reaped.records.isEmpty)
    }

    @Test func responseBodies() {
        let b = book(allowed: ["a", "b"])
        #expect(decide(b, .response, "") == decide(b, .response, "{}"), "an empty body sets no variables")
        guard case .refused(400, "variable_not_allowed", let m) = decide(b, .response, #"{"data":{"a":1,"z":2,"c":3}}"#) else { Issue.record("allowed"); return }
        #expect(m.contains("c, z"))
        for bad in ["[]", "{", #"{"data":[1]}"#, #"{"data":{},"x":1}"#, "null"] {
            guard case .refused(400, _, _) = decide(b, .response, bad) else { Issue.record("accepted \(bad)"); continue }
        }
        guard case .apply(_, .complete(let vars)) = decide(b, .response, #"{"data":null}"#) else { Issue.record("null data"); return }
        #expect(vars.isEmpty)
    }

    @Test func errorBodies() {
        let b = book()
        #expect(decide(b, .error, #"{"errorCode":"E","errorMessage":"m"}"#).command == .throwError(code: "E", message: "m"))
        #expect(decide(b, .error, #"{"errorMessage":"m"}"#).command == .fail(message: "m"))
        for bad in ["", "{}", #"{"errorCode":""}"#, #"{"errorCode":5}"#, #"{"errorMessage":["x"]}"#, #"{"errorMessage":"m","data":{}}"#] {
            guard case .refused(400, _, _) = decide(b, .error, bad) else { Issue.record("accepted \(bad)"); continue }
        }
        guard case .refused(413, _, _) = decide(b, .error, "{\"errorMessage\":\"\(String(repeating: "x", count: 9000))\"}") else { Issue.record("huge message"); return }
    }

    @Test func recordsRoundTripThroughTheStore() {
        var r = CallbackRecord(jobKey: "9", processInstanceKey: "p", elementInstanceKey: "e", allowedVariables: ["a"], issuedAt: 3, expiresAt: 99)
        #expect(CallbackRecord(r.stored) == r)
        r.answer = CallbackRecord.Answer(kind: .error, body: ["errorCode": "E", "n": [1, true, nil]], at: 7, state: .errorThrown)
        r.allowedVariables = nil
        #expect(CallbackRecord(r.stored) == r)
        #expect(CallbackRecord(StoredRecord(id: "link:1", body: r.stored.body, expiresAt: 1)) == nil)
        #expect(CallbackRecord(StoredRecord(id: "callback:1", body: Array("{}".utf8), expiresAt: 1)) == nil)
    }

    /// Several nodes: a read of the shared store answered after a change here must not undo it.
    @Test func aStaleCopyFromTheSharedStoreDoesNotUndoANewerAnswer() throws {
        var b = book()
        let pending = CallbackRecord.Answer(kind: .response, body: ["data": [:]], at: 1, state: .pending)
        let recorded = b.record(pending, jobKey: "1")
        let stale = try #require(recorded)
        var done = pending
        done.state = .completed
        _ = b.record(done, jobKey: "1")
        b.adopt(try #require(CallbackRecord(stale.stored)))
        #expect(b.records["1"]?.answer == done)
        var newer = try #require(b.records["1"])
        newer.version += 1
        newer.answer = nil
        b.adopt(newer)
        #expect(b.records["1"] == newer)
    }
}

extension CallbackDecision {
    var command: EngineCommand? { if case .apply(_, let c) = self { return c }; return nil }
}

@Suite struct RateLimiting {
    @Test func eachAddressHasItsOwnBucketAndMemoryIsBounded() {
        var limiter = AddressRateLimiter(perSecond: 2, burst: 4, maxAddresses: 3)
        let burst = (0..<6).map { _ in limiter.allow("a", nowMs: 0) }
        #expect(burst == [true, true, true, true, false, false])
        let other = limiter.allow("b", nowMs: 0)
        #expect(other)
        let refilled = limiter.allow("a", nowMs: 500)
        #expect(refilled, "one token back after half a second")
        for i in 0..<1000 { _ = limiter.allow("flood-\(i)", nowMs: 1_000) }
        let afterFlood = limiter.allow("c", nowMs: 1_000)
        #expect(afterFlood)
    }
}

@Suite struct Durations {
    @Test func isoDurationsAndSeconds() {
        #expect(parseDuration("PT48H") == .seconds(172_800))
        #expect(parseDuration("P2DT3H30M") == .seconds(2 * 86_400 + 3 * 3_600 + 30 * 60))
        #expect(parseDuration("PT1.5S") == .milliseconds(1_500))
        #expect(parseDuration("P1W") == .seconds(604_800))
        #expect(parseDuration("90") == .seconds(90))
        for bad in ["", "P", "PT", "48H", "P1H", "PT1D", "P1M", "PTxS", "-5", "0", "P1DT", "PT5"] { #expect(parseDuration(bad) == nil, "\(bad)") }
    }
}
