import Foundation
import Testing
import HubBytes
@testable import DevEngine

/// An engine with `bpmn` deployed, driven by hand with an explicit clock.
struct Harness {
    var engine = EngineCore()
    var now: Int64 = 1_000_000

    init(_ bpmn: [UInt8]) throws {
        _ = try engine.deploy([.init(name: "p.bpmn", bytes: bpmn)]).get()
    }

    mutating func start(_ id: String = "p", _ vars: [String: JSONValue] = [:]) throws -> Int64 {
        try engine.createInstance(.id(id, version: nil), variables: vars, nowMs: now).get().instanceKey
    }

    mutating func activate(_ type: String, timeoutMs: Int64 = 10_000) -> [JSONValue] {
        engine.activateJobs(type: type, worker: "t", timeoutMs: timeoutMs, max: 10, fetchVariables: nil, nowMs: now).map(\.json)
    }

    mutating func completeOnly(_ type: String, _ vars: [String: JSONValue] = [:]) throws {
        let jobs = activate(type)
        try #require(jobs.count == 1, "expected one \(type) job, got \(jobs.count)")
        #expect(engine.completeJob(key(jobs[0]), variables: vars, nowMs: now) == nil)
    }

    func state(_ key: Int64) -> InstanceState? { engine.instance(key)?.state }
}

func key(_ job: JSONValue) -> Int64 { Int64(job["jobKey"]!.stringValue!)! }

@Suite struct DemoWorkflow {
    @Test func theHappyPathPublishesACompletedOutcomeAndEnds() throws {
        var h = try Harness(demoBPMN)
        let pi = try h.start("order-fulfilment", ["orderId": "o1", "approvalThreshold": 500])
        try h.completeOnly("payment", ["total": 50])
        try h.completeOnly("inventory", ["inStock": true])
        #expect(h.activate("create-action-links").isEmpty, "below the threshold: no approval")
        let label = h.activate("http-callback")
        #expect(label.first?["customHeaders"]?["callbackEndpoint"] == "/labels")
        #expect(h.engine.completeJob(key(label[0]), variables: ["trackingNumber": "T1"], nowMs: h.now) == nil)
        let publish = h.activate("publish-outcome")
        #expect(publish.count == 1)
        #expect(publish[0]["customHeaders"]?["affinityStatus"] == "completed")
        #expect(publish[0]["variables"]?["trackingNumber"] == "T1")
        #expect(publish[0]["kind"] == "BPMN_ELEMENT")
        #expect(h.state(pi) == .active)
        #expect(h.engine.completeJob(key(publish[0]), variables: [:], nowMs: h.now) == nil)
        #expect(h.state(pi) == .completed)
    }

    @Test func theGatewayDefaultFlowTakesOutOfStockOrdersToTheFailedOutcome() throws {
        var h = try Harness(demoBPMN)
        _ = try h.start("order-fulfilment")
        try h.completeOnly("payment")
        try h.completeOnly("inventory", ["inStock": false])
        #expect(h.activate("http-callback").isEmpty)
        #expect(h.activate("publish-outcome").first?["customHeaders"]?["affinityStatus"] == "failed")
    }

    @Test func anOrderAboveTheThresholdWaitsForTheManagerAndADenialFailsIt() throws {
        var h = try Harness(demoBPMN)
        _ = try h.start("order-fulfilment", ["orderId": "big", "approvalThreshold": 500])
        try h.completeOnly("payment", ["total": 750])
        try h.completeOnly("inventory", ["inStock": true])
        try h.completeOnly("create-action-links", ["actionLinks": ["approve": "a", "deny": "d"]])
        try h.completeOnly("send-approval-email")
        #expect(h.activate("http-callback").isEmpty)
        _ = try h.engine.correlateMessage(name: "order-approval", correlationKey: "big", variables: ["decision": "denied", "reason": "no"], nowMs: h.now).get()
        #expect(h.activate("publish-outcome").first?["customHeaders"]?["affinityStatus"] == "failed")
    }

    @Test func anApprovalNobodyGivesExpiresIntoAFailedOutcome() throws {
        var h = try Harness(demoBPMN)
        _ = try h.start("order-fulfilment", ["orderId": "late", "approvalThreshold": 500])
        try h.completeOnly("payment", ["total": 750])
        try h.completeOnly("inventory", ["inStock": true])
        try h.completeOnly("create-action-links")
        try h.completeOnly("send-approval-email")
        h.now += 48 * 3_600_000
        h.engine.tick(nowMs: h.now)
        try h.completeOnly("approval-expired", ["reason": "no decision"])
        #expect(h.activate("publish-outcome").first?["variables"]?["reason"] == "no decision")
    }

    @Test func aThrownErrorIsCaughtByTheMatchingBoundaryEvent() throws {
        var h = try Harness(demoBPMN)
        _ = try h.start("order-fulfilment")
        let payment = h.activate("payment")
        #expect(h.engine.throwError(key(payment[0]), errorCode: "PAYMENT_DECLINED", errorMessage: "no", variables: ["reason": "card"], nowMs: h.now) == nil)
        let publish = h.activate("publish-outcome")
        #expect(publish.first?["customHeaders"]?["affinityStatus"] == "failed")
        #expect(publish.first?["variables"]?["errorCode"] == "PAYMENT_DECLINED")
    }

    @Test func anUncaughtErrorRaisesAnIncident() throws {
        var h = try Harness(demoBPMN)
        let pi = try h.start("order-fulfilment")
        try h.completeOnly("payment")
        let inventory = h.activate("inventory")
        #expect(h.engine.throwError(key(inventory[0]), errorCode: "NOPE", errorMessage: nil, variables: [:], nowMs: h.now) == nil)
        let incident = try #require(h.engine.incidents.values.first)
        #expect(incident.errorType == "UNHANDLED_ERROR_EVENT")
        #expect(incident.processInstanceKey == pi)
        #expect(h.engine.instance(pi)?.hasIncident == true)
    }
}

@Suite struct Jobs {
    static let oneTask = process(#"""
        <bpmn:startEvent id="s"/><bpmn:serviceTask id="T"><bpmn:extensionElements><zeebe:taskDefinition type="work" retries="2"/></bpmn:extensionElements></bpmn:serviceTask>
        <bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="T"/><bpmn:sequenceFlow id="f2" sourceRef="T" targetRef="e"/>
        """#)

    @Test func anActivatedJobIsNotOfferedAgainUntilItTimesOut() throws {
        var h = try Harness(Self.oneTask)
        _ = try h.start()
        let first = h.activate("work", timeoutMs: 5_000)
        #expect(first.count == 1)
        #expect(h.activate("work").isEmpty)
        h.now += 5_001
        h.engine.tick(nowMs: h.now)
        let again = h.activate("work")
        #expect(again.count == 1)
        #expect(key(again[0]) == key(first[0]))
    }

    @Test func aFailedJobComesBackAfterItsBackOffThenBecomesAnIncident() throws {
        var h = try Harness(Self.oneTask)
        let pi = try h.start()
        let job = key(h.activate("work")[0])
        #expect(h.engine.failJob(job, retries: 1, errorMessage: "flaky", backOffMs: 1_000, variables: [:], nowMs: h.now) == nil)
        #expect(h.activate("work").isEmpty)
        h.now += 1_000
        #expect(h.activate("work").first?["retries"] == 1)
        #expect(h.engine.failJob(job, retries: 0, errorMessage: "broken", backOffMs: 0, variables: [:], nowMs: h.now) == nil)
        let incident = try #require(h.engine.incidents.values.first)
        #expect(incident.errorType == "JOB_NO_RETRIES")
        #expect(incident.errorMessage == "broken")
        #expect(incident.jobKey == job)
        // A failed job cannot be completed; after new retries and resolution it is offered again.
        #expect(h.engine.completeJob(job, variables: [:], nowMs: h.now)?.status == 409)
        #expect(h.engine.updateJob(job, retries: 1, timeoutMs: nil, nowMs: h.now) == nil)
        #expect(h.engine.resolveIncident(incident.key, nowMs: h.now) == nil)
        try h.completeOnly("work")
        #expect(h.state(pi) == .completed)
    }

    @Test func commandsOnUnknownJobsAreNotFound() throws {
        var h = try Harness(Self.oneTask)
        #expect(h.engine.completeJob(42, variables: [:], nowMs: h.now)?.title == "NOT_FOUND")
        #expect(h.engine.failJob(42, retries: 1, errorMessage: nil, backOffMs: 0, variables: [:], nowMs: h.now)?.status == 404)
        #expect(h.engine.throwError(42, errorCode: "E", errorMessage: nil, variables: [:], nowMs: h.now)?.status == 404)
        if case .failure(let e) = h.engine.createInstance(.id("missing", version: nil), variables: [:], nowMs: h.now) { #expect(e.status == 404) } else { Issue.record("created") }
        if case .failure(let e) = h.engine.createInstance(.id("p", version: 9), variables: [:], nowMs: h.now) { #expect(e.status == 404) } else { Issue.record("created") }
    }

    @Test func completionVariablesMergeIntoTheInstanceAndFetchVariablesFilters() throws {
        var h = try Harness(Self.oneTask)
        let pi = try h.start("p", ["a": 1, "b": 2])
        let jobs = h.engine.activateJobs(type: "work", worker: "w", timeoutMs: 1000, max: 1, fetchVariables: ["a"], nowMs: h.now).map(\.json)
        #expect(jobs[0]["variables"] == ["a": 1])
        #expect(h.engine.completeJob(key(jobs[0]), variables: ["c": 3], nowMs: h.now) == nil)
        #expect(h.engine.instance(pi)?.variables == ["a": 1, "b": 2, "c": 3])
    }
}

@Suite struct Messages {
    static let listenerModel: [UInt8] = {
        let url = demoBPMNURL.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("tests/integration/fixtures/listener-outcome.bpmn")
        return [UInt8](try! Data(contentsOf: url))
    }()

    @Test func aMessageCorrelatesToTheWaitingInstanceByKey() throws {
        var h = try Harness(Self.listenerModel)
        let a = try h.start("listener-outcome", ["requestId": "r-1"])
        let b = try h.start("listener-outcome", ["requestId": "r-2"])
        try h.completeOnlyEach("listener-work", 2)
        _ = try h.engine.publishMessage(name: "approval", correlationKey: "r-2", ttlMs: 0, messageId: nil, variables: ["approved": true, "amount": 5], nowMs: h.now).get()
        // Only b moved on: to its end event, whose process end listener is now a job.
        let listener = h.activate("publish-outcome")
        #expect(listener.count == 1)
        #expect(listener[0]["processInstanceKey"] == .string(String(b)))
        #expect(listener[0]["kind"] == "EXECUTION_LISTENER")
        #expect(listener[0]["listenerEventType"] == "END")
        #expect(h.state(a) == .active)
        #expect(h.engine.completeJob(key(listener[0]), variables: [:], nowMs: h.now) == nil)
        #expect(h.state(b) == .completed)
    }

    @Test func aBufferedMessageCorrelatesWhenTheInstanceArrivesWithinItsTTL() throws {
        var h = try Harness(Self.listenerModel)
        _ = try h.engine.publishMessage(name: "approval", correlationKey: "early", ttlMs: 10_000, messageId: "m-1", variables: ["approved": true, "amount": 1], nowMs: h.now).get()
        if case .failure(let e) = h.engine.publishMessage(name: "approval", correlationKey: "early", ttlMs: 10_000, messageId: "m-1", variables: [:], nowMs: h.now) {
            #expect(e.title == "ALREADY_EXISTS")
        } else { Issue.record("duplicate message id accepted") }
        _ = try h.start("listener-outcome", ["requestId": "early"])
        try h.completeOnly("listener-work")
        #expect(h.activate("publish-outcome").count == 1)
        // An expired message does not correlate.
        _ = try h.start("listener-outcome", ["requestId": "late"])
        _ = try h.engine.publishMessage(name: "approval", correlationKey: "late", ttlMs: 1_000, messageId: nil, variables: [:], nowMs: h.now).get()
        h.now += 2_000
        h.engine.tick(nowMs: h.now)
        try h.completeOnly("listener-work")
        #expect(h.activate("publish-outcome").isEmpty)
    }

    @Test func correlateNeedsAWaitingInstance() throws {
        var h = try Harness(Self.listenerModel)
        if case .failure(let e) = h.engine.correlateMessage(name: "approval", correlationKey: "none", variables: [:], nowMs: h.now) {
            #expect(e.status == 404)
        } else { Issue.record("correlated to nothing") }
        let pi = try h.start("listener-outcome", ["requestId": "x"])
        try h.completeOnly("listener-work")
        let r = try h.engine.correlateMessage(name: "approval", correlationKey: "x", variables: ["approved": false], nowMs: h.now).get()
        #expect(r.instanceKey == pi)
    }
}

let demoBPMNURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../demo/order-fulfilment.bpmn").standardized

extension Harness {
    mutating func completeOnlyEach(_ type: String, _ count: Int) throws {
        let jobs = activate(type)
        try #require(jobs.count == count)
        for j in jobs { #expect(engine.completeJob(key(j), variables: [:], nowMs: now) == nil) }
    }
}
