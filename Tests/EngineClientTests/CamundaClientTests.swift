import CamundaClient
import HTTPClient
import DevEngineServer
import HTTP1
import HubBytes
import HubServer
import Synchronization
import Testing

@Suite(.serialized) struct CamundaClientAgainstTheDevEngine {
    @Test func everyCallOfTheWorkflowRoundTrips() async throws {
        let engine = try Running()
        defer { engine.stop() }
        let client = try CamundaClient(CamundaConfiguration(baseURL: engine.url))

        let topology = try await client.topology()
        #expect(topology["clusterSize"] == 1)

        let deployment = try await client.deploy(resources: [(name: "order-fulfilment.bpmn", bytes: demoModel)])
        #expect(deployment.processes.map(\.processDefinitionId) == ["order-fulfilment"])
        #expect(deployment.processes[0].processDefinitionVersion == 1)

        // A long poll started before the job exists returns as soon as it does.
        async let polled = client.activateJobs(type: "payment", worker: "t", timeout: .seconds(30), maxJobsToActivate: 5, requestTimeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(100))
        let instance = try await client.createProcessInstance(processDefinitionId: "order-fulfilment", variables: ["orderId": "o1", "quantity": 2])
        #expect(!instance.processInstanceKey.isEmpty)
        let payment = try await polled
        #expect(payment.count == 1)
        #expect(payment[0].processInstanceKey == instance.processInstanceKey)
        #expect(payment[0].variables["orderId"] == "o1")
        #expect(payment[0].kind == "BPMN_ELEMENT")

        // Fail with a back-off: offered again only after it.
        try await client.failJob(payment[0].jobKey, retries: 2, errorMessage: "flaky", retryBackOff: .seconds(1))
        let none = try await client.activateJobs(type: "payment", worker: "t", timeout: .seconds(30), maxJobsToActivate: 5, requestTimeout: .milliseconds(50))
        #expect(none.isEmpty)
        let again = try await client.activateJobs(type: "payment", worker: "t", timeout: .seconds(30), maxJobsToActivate: 5, requestTimeout: .seconds(5))
        #expect(again.first?.retries == 2)

        // A BPMN error goes down the boundary path to the failed outcome task.
        try await client.throwError(again[0].jobKey, errorCode: "PAYMENT_DECLINED", errorMessage: "declined", variables: ["reason": "card"])
        let publish = try await client.activateJobs(type: "publish-outcome", worker: "t", timeout: .seconds(30), maxJobsToActivate: 1, requestTimeout: .seconds(5))
        #expect(publish.first?.customHeaders["affinityStatus"] == "failed")
        try await client.completeJob(publish[0].jobKey, variables: ["done": true])
        let state = try await client.processInstance(instance.processInstanceKey)
        #expect(state["state"] == "COMPLETED")
    }

    @Test func messagesCorrelateAndAwaitCompletionReturnsTheVariables() async throws {
        let engine = try Running()
        defer { engine.stop() }
        let client = try CamundaClient(CamundaConfiguration(baseURL: engine.url))
        _ = try await client.deploy(resources: [(name: "listener.bpmn", bytes: listenerModel)])
        let messageKey = try await client.publishMessage(name: "approval", correlationKey: "req-1", timeToLive: .seconds(30), messageId: "m-1",
                                                         variables: ["approved": true, "amount": 10])
        #expect(!messageKey.isEmpty)
        async let finished = client.createProcessInstance(processDefinitionId: "listener-outcome", variables: ["requestId": "req-1"],
                                                          awaitCompletion: true, requestTimeout: .seconds(10), fetchVariables: ["approved"])
        let work = try await client.activateJobs(type: "listener-work", worker: "t", timeout: .seconds(30), maxJobsToActivate: 1, requestTimeout: .seconds(5))
        try await client.completeJob(work[0].jobKey)
        let listener = try await client.activateJobs(type: "publish-outcome", worker: "t", timeout: .seconds(30), maxJobsToActivate: 1, requestTimeout: .seconds(5))
        #expect(listener.first?.kind == "EXECUTION_LISTENER")
        #expect(listener.first?.listenerEventType == "END")
        try await client.completeJob(listener[0].jobKey)
        let done = try await finished
        #expect(done.variables == ["approved": true])

        // correlate: needs an instance waiting now.
        await #expect(throws: CamundaError.self) { _ = try await client.correlateMessage(name: "approval", correlationKey: "nobody") }
        async let second = client.createProcessInstance(processDefinitionId: "listener-outcome", variables: ["requestId": "req-2"])
        let pi = try await second
        let work2 = try await client.activateJobs(type: "listener-work", worker: "t", timeout: .seconds(30), maxJobsToActivate: 1, requestTimeout: .seconds(5))
        try await client.completeJob(work2[0].jobKey)
        let correlated = try await client.correlateMessage(name: "approval", correlationKey: "req-2", variables: ["approved": false])
        #expect(correlated.processInstanceKey == pi.processInstanceKey)
    }

    @Test func refusalsCarryTheProblemDetail() async throws {
        let engine = try Running()
        defer { engine.stop() }
        let client = try CamundaClient(CamundaConfiguration(baseURL: engine.url))
        func problem(_ body: () async throws -> Void) async -> ProblemDetail? {
            do { try await body(); return nil } catch let e as CamundaError { return e.problem } catch { return nil }
        }
        let unknownProcess = await problem { _ = try await client.createProcessInstance(processDefinitionId: "no-such-process") }
        #expect(unknownProcess?.status == 404)
        #expect(unknownProcess?.title == "NOT_FOUND")
        #expect(unknownProcess?.detail.contains("no-such-process") == true)

        let unknownJob = await problem { try await client.completeJob("2251799813999999") }
        #expect(unknownJob?.status == 404)

        let badModel = await problem { _ = try await client.deploy(resources: [(name: "bad.bpmn", bytes: Array("<bpmn:definitions xmlns:bpmn=\"x\"><bpmn:process id=\"p\"><bpmn:startEvent id=\"s\"/><bpmn:inclusiveGateway id=\"Fork\"/></bpmn:process></bpmn:definitions>".utf8))]) }
        #expect(badModel?.status == 400)
        #expect(badModel?.detail.contains("inclusiveGateway 'Fork'") == true)

        _ = try await client.publishMessage(name: "m", correlationKey: "k", timeToLive: .seconds(60), messageId: "dup")
        let duplicate = await problem { _ = try await client.correlateMessage(name: "m", correlationKey: "k") }
        #expect(duplicate?.status == 404)
        let conflict = await problem {
            // Two distinct publications with one id: the second is a conflict (a retry of the same call would not be).
            let raw = HTTPClient()
            let response = try await raw.send("POST", ClientURL(engine.url + "/v2/messages/publication")!,
                                              json: #"{"name":"m","correlationKey":"k","timeToLive":60000,"messageId":"dup"}"#)
            if response.status != 200 { throw CamundaError.problem(ProblemDetail(status: response.status, body: response.body)) }
        }
        #expect(conflict?.status == 409)
        #expect(conflict?.title == "ALREADY_EXISTS")

        _ = try await client.deploy(resources: [(name: "order-fulfilment.bpmn", bytes: demoModel)])
        _ = try await client.createProcessInstance(processDefinitionId: "order-fulfilment")
        let job = try await client.activateJobs(type: "payment", worker: "t", timeout: .seconds(30), maxJobsToActivate: 1, requestTimeout: .seconds(5))
        try await client.failJob(job[0].jobKey, retries: 0, errorMessage: "gave up")
        let failedJob = await problem { try await client.completeJob(job[0].jobKey) }
        #expect(failedJob?.status == 409)
        #expect(failedJob?.title == "INVALID_STATE")
        let incidents = try await client.searchIncidents(processInstanceKey: job[0].processInstanceKey)
        #expect(incidents.first?["errorType"] == "JOB_NO_RETRIES")
        #expect(incidents.first?["errorMessage"] == "gave up")
    }
}

