import CamundaClient
import Foundation
import HubBytes
import Testing

/// The project's own client for the calls beside jobs, against the dev engine: the same flow the
/// official SDK's test drives (tests/integration/test_official_sdk.py).
@Suite(.serialized) struct OperateCallsAgainstTheDevEngine {
    @Test func userTasksTimersSignalsSearchesAndVariables() async throws {
        let engine = try Running()
        defer { engine.stop() }
        let client = try CamundaClient(CamundaConfiguration(baseURL: engine.url))
        _ = try await client.deploy(resources: [(name: "approval.bpmn", bytes: approvalModel), (name: "signals.bpmn", bytes: signalsModel)])

        let definitions = try await client.search(.processDefinitions, filter: ["isLatestVersion": true], sort: [("processDefinitionId", false)])
        #expect(definitions.items.map { $0["processDefinitionId"]?.stringValue } == ["approval", "on-stop", "wait-for-stop"])

        // Approved: the user task found by candidate group, assigned, completed; the join waits for Prepare.
        let approved = try await client.createProcessInstance(processDefinitionId: "approval").processInstanceKey
        let tasks = try await client.search(.userTasks, filter: ["processInstanceKey": .string(approved), "candidateGroup": "managers"])
        let taskKey = try #require(tasks.items.first?["userTaskKey"]?.stringValue)
        try await client.assignUserTask(taskKey, to: "ann")
        await #expect(throws: CamundaError.self) { try await client.assignUserTask(taskKey, to: "bob", allowOverride: false) }
        #expect(try await client.userTask(taskKey)["assignee"] == "ann")
        try await client.completeUserTask(taskKey, variables: ["approved": true])
        #expect(try await client.processInstance(approved)["state"] == "ACTIVE", "the join waits for the other branch")
        let prepare = try await client.activateJobs(type: "sdk-prepare", worker: "t", timeout: .seconds(30), maxJobsToActivate: 5, requestTimeout: .seconds(5))
        for job in prepare { try await client.completeJob(job.jobKey) }
        #expect(try await client.processInstance(approved)["state"] == "COMPLETED")
        let variables = try await client.search(.variables, filter: ["processInstanceKey": .string(approved), "name": "approved"])
        #expect(variables.items.first?["value"] == "true")

        // Nobody approves: the pinned clock fires the reminder, then the expiry.
        let lapsed = try await client.createProcessInstance(processDefinitionId: "approval").processInstanceKey
        try await client.setVariables(elementInstanceKey: lapsed, ["note": "chased"])
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await client.pinClock(epochMilliseconds: now + 24 * 3_600_000 + 1000)
        let reminders = try await client.activateJobs(type: "sdk-remind", worker: "t", timeout: .seconds(30), maxJobsToActivate: 5, requestTimeout: .seconds(5))
        #expect(reminders.count == 1 && reminders[0].variables["note"] == "chased")
        try await client.pinClock(epochMilliseconds: now + 48 * 3_600_000 + 1000)
        #expect(try await client.processInstance(lapsed)["state"] == "COMPLETED")
        let expired = try await client.search(.elementInstances, filter: ["processInstanceKey": .string(lapsed), "elementId": "Approve"])
        #expect(expired.items.first?["state"] == "TERMINATED")
        try await client.resetClock()

        // Signals: a catch event and a signal start event.
        let waiting = try await client.createProcessInstance(processDefinitionId: "wait-for-stop").processInstanceKey
        try await client.broadcastSignal(name: "stop", variables: ["why": "test"])
        #expect(try await client.processInstance(waiting)["state"] == "COMPLETED")
        let started = try await client.search(.processInstances, filter: ["processDefinitionId": "on-stop"])
        #expect(started.totalItems == 1)

        // Pages: one item at a time, continued by cursor.
        let first = try await client.search(.processInstances, sort: [("processInstanceKey", true)], limit: 1)
        let second = try await client.search(.processInstances, sort: [("processInstanceKey", true)], limit: 1, after: first.endCursor)
        #expect(first.totalItems == 4 && first.items.count == 1 && second.items.count == 1)
        #expect(first.items[0]["processInstanceKey"] != second.items[0]["processInstanceKey"])
    }
}
