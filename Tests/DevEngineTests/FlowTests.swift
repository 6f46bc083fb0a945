import Testing
import HubBytes
@testable import DevEngine

private func task(_ id: String, _ type: String) -> String {
    #"<bpmn:serviceTask id="\#(id)"><bpmn:extensionElements><zeebe:taskDefinition type="\#(type)"/></bpmn:extensionElements></bpmn:serviceTask>"#
}
private func flow(_ id: String, _ from: String, _ to: String) -> String { #"<bpmn:sequenceFlow id="\#(id)" sourceRef="\#(from)" targetRef="\#(to)"/>"# }

private extension Harness {
    func elements(_ instance: Int64, _ elementId: String) -> [ElementRecord] {
        engine.elementRecords.values.filter { $0.instanceKey == instance && $0.elementId == elementId }.sorted { $0.key < $1.key }
    }
}

@Suite struct ParallelGateways {
    /// s → Fork ⇉ (a, b) → Join → after → e
    let bpmn = process(#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="Fork"/>"# + task("A", "a") + task("B", "b")
                       + #"<bpmn:parallelGateway id="Join"/>"# + task("After", "after") + #"<bpmn:endEvent id="e"/>"#
                       + flow("f0", "s", "Fork") + flow("fa", "Fork", "A") + flow("fb", "Fork", "B") + flow("ja", "A", "Join")
                       + flow("jb", "B", "Join") + flow("f9", "Join", "After") + flow("fe", "After", "e"))

    @Test func aForkRunsBothBranchesAndTheJoinWaitsForBoth() throws {
        var h = try Harness(bpmn)
        let pi = try h.start()
        #expect(h.activate("a").count == 1 && h.activate("b").count == 1, "both branches run at once")
        let a = h.engine.jobViews().first { $0["type"] == "a" }!
        #expect(h.engine.completeJob(key(a), variables: ["fromA": 1], nowMs: h.now) == nil)
        #expect(h.activate("after").isEmpty, "the join waits for the other branch")
        #expect(h.state(pi) == .active)
        let b = h.engine.jobViews().first { $0["type"] == "b" }!
        #expect(h.engine.completeJob(key(b), variables: ["fromB": 2], nowMs: h.now) == nil)
        try h.completeOnly("after")
        #expect(h.state(pi) == .completed)
        #expect(h.engine.instance(pi)?.variables == ["fromA": 1, "fromB": 2])
        #expect(h.elements(pi, "Join").count == 1, "two arrivals merge into one join instance")
        #expect(h.elements(pi, "Join")[0].state == .completed)
    }

    @Test func cancellingTerminatesEveryBranch() throws {
        var h = try Harness(bpmn)
        let pi = try h.start()
        #expect(h.engine.cancelInstance(pi, nowMs: h.now) == nil)
        #expect(h.state(pi) == .terminated)
        #expect(h.engine.jobViews().isEmpty)
        #expect(h.elements(pi, "A")[0].state == .terminated && h.elements(pi, "B")[0].state == .terminated)
    }

    @Test func aTerminateEndEventEndsTheOtherBranches() throws {
        let body = #"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="Fork"/>"# + task("Slow", "slow")
            + #"<bpmn:endEvent id="Stop"><bpmn:terminateEventDefinition/></bpmn:endEvent><bpmn:endEvent id="e"/>"#
            + task("Quick", "quick") + flow("f0", "s", "Fork") + flow("f1", "Fork", "Slow") + flow("f2", "Fork", "Quick")
            + flow("f3", "Slow", "e") + flow("f4", "Quick", "Stop")
        var h = try Harness(process(body))
        let pi = try h.start()
        #expect(h.activate("slow").count == 1)
        try h.completeOnly("quick")
        #expect(h.state(pi) == .completed)
        #expect(h.engine.jobViews().isEmpty, "the slow branch's job went with it")
        #expect(h.elements(pi, "Slow")[0].state == .terminated)
    }
}

@Suite struct UserTasks {
    let bpmn = process(#"""
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="Approve" name="Approve the order">
      <bpmn:extensionElements><zeebe:userTask/><zeebe:assignmentDefinition assignee="ann" candidateGroups="managers, finance"/>
        <zeebe:formDefinition externalReference="https://forms.example/approve"/><zeebe:priorityDefinition priority="80"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Expired" attachedToRef="Approve"><bpmn:timerEventDefinition><bpmn:timeDuration>PT48H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="Remind" attachedToRef="Approve" cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeDuration>PT24H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    \#(task("Reminder", "remind"))\#(task("OnExpiry", "expired"))
    <bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>
    \#(flow("f0", "s", "Approve"))\#(flow("f1", "Approve", "e"))\#(flow("f2", "Expired", "OnExpiry"))\#(flow("f3", "OnExpiry", "e2"))
    \#(flow("f4", "Remind", "Reminder"))\#(flow("f5", "Reminder", "e3"))
    """#)

    @Test func aUserTaskIsAssignedAndCompletedThroughItsOwnCommands() throws {
        var h = try Harness(bpmn)
        let pi = try h.start()
        let task = try #require(h.engine.userTasks.values.first)
        let json = try #require(h.engine.userTaskJSON(task))
        #expect(json["assignee"] == "ann" && json["candidateGroups"] == ["managers", "finance"] && json["priority"] == 80)
        #expect(json["externalFormReference"] == "https://forms.example/approve" && json["state"] == "CREATED")
        #expect(h.engine.assignUserTask(task.key, assignee: "bob", allowOverride: false)?.status == 409, "ann holds it")
        #expect(h.engine.assignUserTask(task.key, assignee: "bob", allowOverride: true) == nil)
        #expect(h.engine.completeUserTask(task.key, variables: ["approved": true], nowMs: h.now) == nil)
        #expect(h.state(pi) == .completed)
        #expect(h.engine.instance(pi)?.variables["approved"] == true)
        #expect(h.engine.completeUserTask(task.key, variables: [:], nowMs: h.now)?.status == 409, "completed once")
        #expect(h.engine.completeUserTask(42, variables: [:], nowMs: h.now)?.status == 404)
    }

    @Test func aNonInterruptingTimerRemindsAndTheInterruptingOneExpiresTheTask() throws {
        var h = try Harness(bpmn)
        let pi = try h.start()
        h.now += 24 * 3_600_000
        h.engine.tick(nowMs: h.now)
        try h.completeOnly("remind")
        #expect(h.engine.userTasks.values.first?.state == .created, "the reminder left the task open")
        h.now += 24 * 3_600_000
        h.engine.tick(nowMs: h.now)
        #expect(h.engine.userTasks.values.first?.state == .canceled, "the expiry took the task away")
        try h.completeOnly("expired")
        #expect(h.state(pi) == .completed)
        h.now += 100 * 3_600_000
        h.engine.tick(nowMs: h.now)
        #expect(h.activate("remind").isEmpty, "a non-interrupting duration timer fires once")
    }

    @Test func withoutZeebeUserTaskItIsAJobWorkerTask() throws {
        let body = #"<bpmn:startEvent id="s"/><bpmn:userTask id="U"><bpmn:extensionElements><zeebe:assignmentDefinition assignee="ann"/></bpmn:extensionElements></bpmn:userTask><bpmn:endEvent id="e"/>"#
            + flow("f0", "s", "U") + flow("f1", "U", "e")
        var h = try Harness(process(body))
        let pi = try h.start()
        let jobs = h.activate("io.camunda.zeebe:userTask")
        #expect(jobs.count == 1 && jobs[0]["customHeaders"]?["io.camunda.zeebe:assignee"] == "ann")
        #expect(h.engine.completeJob(key(jobs[0]), variables: [:], nowMs: h.now) == nil)
        #expect(h.state(pi) == .completed)
    }
}

@Suite struct SignalsMessagesAndTimers {
    @Test func aSignalReachesCatchEventsBoundaryEventsAndStartsProcesses() throws {
        let waiter = process(#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="W"><bpmn:signalEventDefinition signalRef="Sig"/></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>"#
                             + flow("f0", "s", "W") + flow("f1", "W", "e"), extra: #"<bpmn:signal id="Sig" name="go"/>"#)
        var h = try Harness(waiter)
        let started = String(decoding: process(#"<bpmn:startEvent id="ss"><bpmn:signalEventDefinition signalRef="Sig"/></bpmn:startEvent>"# + task("T", "started")
                                               + flow("g0", "ss", "T"), extra: #"<bpmn:signal id="Sig" name="go"/>"#), as: UTF8.self)
            .replacingOccurrences(of: #"id="p""#, with: #"id="q""#)
        _ = try h.engine.deploy([.init(name: "q.bpmn", bytes: Array(started.utf8))]).get()
        let a = try h.start(), b = try h.start()
        #expect(h.engine.createInstance(.id("q", version: nil), variables: [:], nowMs: h.now).isFailure, "q has no none start event")
        _ = try h.engine.broadcastSignal(name: "go", variables: ["why": "test"], nowMs: h.now).get()
        #expect(h.state(a) == .completed && h.state(b) == .completed, "every waiting instance got it")
        let jobs = h.activate("started")
        #expect(jobs.count == 1 && jobs[0]["variables"]?["why"] == "test", "the signal start event began an instance of q")
        _ = try h.engine.broadcastSignal(name: "go", variables: [:], nowMs: h.now).get()
        #expect(h.activate("started").count == 1, "signals are not buffered: only q starts again")
    }

    @Test func aSignalEndEventThrowsToOtherInstances() throws {
        let body = #"<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="G" default="toWait"/><bpmn:intermediateCatchEvent id="W"><bpmn:signalEventDefinition signalRef="Sig"/></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/><bpmn:endEvent id="Throw"><bpmn:signalEventDefinition signalRef="Sig"/></bpmn:endEvent>"#
            + flow("f0", "s", "G") + #"<bpmn:sequenceFlow id="toThrow" sourceRef="G" targetRef="Throw"><bpmn:conditionExpression>=throw</bpmn:conditionExpression></bpmn:sequenceFlow>"#
            + flow("toWait", "G", "W") + flow("f2", "W", "e")
        var h = try Harness(process(body, extra: #"<bpmn:signal id="Sig" name="wake"/>"#))
        let waiting = try h.start("p", ["throw": false])
        let thrower = try h.start("p", ["throw": true])
        #expect(h.state(thrower) == .completed && h.state(waiting) == .completed)
    }

    @Test func messageBoundaryEventsInterruptOrForkAndBufferedMessagesCount() throws {
        let body = #"<bpmn:startEvent id="s"/>"# + task("Work", "work")
            + #"<bpmn:boundaryEvent id="Cancel" attachedToRef="Work"><bpmn:messageEventDefinition messageRef="MC"/></bpmn:boundaryEvent>"#
            + #"<bpmn:boundaryEvent id="Note" attachedToRef="Work" cancelActivity="false"><bpmn:messageEventDefinition messageRef="MN"/></bpmn:boundaryEvent>"#
            + task("Noted", "noted") + #"<bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>"#
            + flow("f0", "s", "Work") + flow("f1", "Work", "e") + flow("f2", "Cancel", "e2") + flow("f3", "Note", "Noted") + flow("f4", "Noted", "e3")
        let extra = #"<bpmn:message id="MC" name="cancel"><bpmn:extensionElements><zeebe:subscription correlationKey="=id"/></bpmn:extensionElements></bpmn:message><bpmn:message id="MN" name="note"><bpmn:extensionElements><zeebe:subscription correlationKey="=id"/></bpmn:extensionElements></bpmn:message>"#
        var h = try Harness(process(body, extra: extra))
        let pi = try h.start("p", ["id": "o1"])
        _ = try h.engine.publishMessage(name: "note", correlationKey: "o1", ttlMs: 0, messageId: nil, variables: ["n": 1], nowMs: h.now).get()
        _ = try h.engine.publishMessage(name: "note", correlationKey: "o1", ttlMs: 0, messageId: nil, variables: ["n": 2], nowMs: h.now).get()
        #expect(h.activate("noted").count == 2, "a non-interrupting boundary fires for each message")
        #expect(h.activate("work").count == 1, "the task is still there")
        _ = try h.engine.publishMessage(name: "cancel", correlationKey: "o1", ttlMs: 0, messageId: nil, variables: [:], nowMs: h.now).get()
        #expect(h.engine.jobViews().filter { $0["type"] == "work" }.isEmpty, "an interrupting boundary ends the task")
        // A message published before the task began, within its TTL, interrupts it on arrival.
        _ = try h.engine.publishMessage(name: "cancel", correlationKey: "o2", ttlMs: 60_000, messageId: nil, variables: [:], nowMs: h.now).get()
        let late = try h.start("p", ["id": "o2"])
        #expect(h.state(late) == .completed)
        _ = pi
    }

    @Test func timerCatchEventsWaitForDurationsDatesAndExpressions() throws {
        let body = #"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="Wait"><bpmn:timerEventDefinition><bpmn:timeDuration>=delay</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#
            + #"<bpmn:intermediateCatchEvent id="Until"><bpmn:timerEventDefinition><bpmn:timeDate>2030-01-01T00:00:00Z</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>"#
            + flow("f0", "s", "Wait") + flow("f1", "Wait", "Until") + flow("f2", "Until", "e")
        var h = try Harness(process(body))
        let pi = try h.start("p", ["delay": "PT5M"])
        h.now += 5 * 60_000 - 1
        h.engine.tick(nowMs: h.now)
        #expect(h.elements(pi, "Wait")[0].state == .active)
        h.now += 1
        h.engine.tick(nowMs: h.now)
        #expect(h.elements(pi, "Until")[0].state == .active)
        h.now = ISODateTime.milliseconds("2030-01-01T00:00:00Z")!
        h.engine.tick(nowMs: h.now)
        #expect(h.state(pi) == .completed)

        // A duration expression that gives no duration is an incident; resolving it retries.
        let bad = try h.start("p", ["delay": 5])
        let incident = try #require(h.engine.incidents.values.first { $0.processInstanceKey == bad })
        #expect(incident.errorType == "EXTRACT_VALUE_ERROR" && incident.elementId == "Wait")
        #expect(h.engine.instance(bad)?.hasIncident == true)
        #expect(h.engine.updateVariables(elementInstanceKey: bad, variables: ["delay": "PT1S"]) == nil)
        #expect(h.engine.resolveIncident(incident.key, nowMs: h.now) == nil)
        h.now += 1000
        h.engine.tick(nowMs: h.now)
        #expect(h.elements(bad, "Until")[0].state == .active)
    }

    @Test func variablesKeepTheirKeyAndTheStatisticsCountElements() throws {
        var h = try Harness(process(#"<bpmn:startEvent id="s"/>"# + task("T", "t") + #"<bpmn:endEvent id="e"/>"# + flow("f0", "s", "T") + flow("f1", "T", "e")))
        let pi = try h.start("p", ["x": 1])
        let before = h.engine.variableViews().first { $0["name"] == "x" }!
        try h.completeOnly("t", ["x": 2])
        let after = h.engine.variableViews().first { $0["name"] == "x" }!
        #expect(before["variableKey"] == after["variableKey"] && after["value"] == "2")
        let stats = try #require(h.engine.elementStatistics(pi))
        #expect(stats.map { $0["elementId"]!.stringValue! } == ["s", "T", "e"])
        #expect(stats.allSatisfy { $0["completed"] == 1 })
        #expect(h.engine.sequenceFlows(pi)?.map { $0["sequenceFlowId"]!.stringValue! } == ["f0", "f1"])
        #expect(h.engine.updateVariables(elementInstanceKey: pi, variables: ["y": 1])?.status == 404, "a completed instance takes no variables")
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { return true } else { return false } }
}

@Suite struct RunawayModels {
    @Test func aLongChainWithoutWaitStatesRuns() throws {
        var body = #"<bpmn:startEvent id="s"/>"#
        var previous = "s"
        for n in 0..<150 {
            body += #"<bpmn:task id="t\#(n)"/>"# + flow("f\(n)", previous, "t\(n)")
            previous = "t\(n)"
        }
        body += #"<bpmn:endEvent id="e"/>"# + flow("fe", previous, "e")
        var h = try Harness(process(body))
        let pi = try h.start()
        #expect(h.state(pi) == .completed)
    }

    @Test func aLoopWithoutAWaitStateIsAnIncidentNotACrash() throws {
        let body = #"<bpmn:startEvent id="s"/><bpmn:task id="A"/><bpmn:task id="B"/>"# + flow("f0", "s", "A") + flow("f1", "A", "B") + flow("f2", "B", "A")
        var h = try Harness(process(body))
        let pi = try h.start()
        let incident = try #require(h.engine.incidents.values.first { $0.processInstanceKey == pi })
        #expect(incident.errorType == "UNKNOWN" && incident.errorMessage.contains("without a wait state"))
        #expect(h.engine.resolveIncident(incident.key, nowMs: h.now) == nil)
        #expect(h.engine.incidents.values.filter { $0.processInstanceKey == pi && !$0.resolved }.count == 1, "the next stretch stops again")
        #expect(h.engine.cancelInstance(pi, nowMs: h.now) == nil)
    }

    @Test func aForkThatFeedsItselfIsBoundedToo() throws {
        // Every pass doubles the tokens: the per-command budget stops it.
        let body = #"<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="X"/><bpmn:parallelGateway id="F"/><bpmn:task id="A"/><bpmn:task id="B"/>"#
            + flow("f0", "s", "X") + flow("fx", "X", "F") + flow("f1", "F", "A") + flow("f2", "F", "B") + flow("f3", "A", "X") + flow("f4", "B", "X")
        var h = try Harness(process(body))
        let pi = try h.start()
        #expect(h.engine.instance(pi)?.hasIncident == true)
        #expect(h.engine.cancelInstance(pi, nowMs: h.now) == nil)
    }
}
