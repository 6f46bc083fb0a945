import AffinityClient
import Auth
import CamundaClient
import HubBytes
import HubCore
import HubServer
import Logging
import OutcomeWorker
import Synchronization
import Testing

private func publish(_ hub: Hub, _ key: String, _ status: OutcomeStatus, _ data: String) {
    hub.publish(PublishRequest(key: try! OutcomeKey(validating: key), status: status, data: Array(data.utf8))) { _ in }
}

/// Collects callback deliveries across threads.
final class Seen: Sendable {
    let outcomes = Mutex<[HubOutcome]>([])
    func add(_ o: HubOutcome) { outcomes.withLock { $0.append(o) } }
    var seqs: [UInt64] { outcomes.withLock { $0.map(\.seq) } }
}

func eventually(_ seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

@Suite(.serialized) struct HubConnectionBehaviour {
    @Test func awaitsATerminalOutcomeAndCallbacksSeeProgressToo() async throws {
        let hub = Hub()
        let node = try Running(engineAuth: nil, hub: hub)
        defer { node.stop() }
        let connection = try HubConnection(hubURL: node.url)
        defer { connection.close() }
        let seen = Seen()
        let registration = connection.onOutcome("order-1") { seen.add($0) }
        await connection.watch("order-1")
        async let outcome = connection.outcome(for: "order-1", timeout: .seconds(5))
        try await Task.sleep(for: .milliseconds(50))
        publish(hub, "order-1", .progress, #"{"step":"paid"}"#)
        publish(hub, "order-1", .completed, #"{"tracking":"T1"}"#)
        let o = try await outcome
        #expect(o.status == "completed")
        #expect(o.seq == 2)
        #expect(o.data == ["tracking": "T1"])
        #expect(await eventually { seen.seqs == [1, 2] })
        registration.cancel()
    }

    @Test func anOutcomePublishedBeforeTheWaitIsReplayedFromRetention() async throws {
        let hub = Hub()
        let node = try Running(engineAuth: nil, hub: hub)
        defer { node.stop() }
        publish(hub, "early", .completed, "42")
        let connection = try HubConnection(hubURL: node.url)
        defer { connection.close() }
        let o = try await connection.outcome(for: "early", timeout: .seconds(5))
        #expect(o.data == 42)
    }

    @Test func aWaitTimesOutAndABadKeyIsRefused() async throws {
        let node = try Running(engineAuth: nil, hub: Hub())
        defer { node.stop() }
        let connection = try HubConnection(hubURL: node.url)
        defer { connection.close() }
        await #expect(throws: HubClientError.timedOut(key: "never")) { _ = try await connection.outcome(for: "never", timeout: .milliseconds(200)) }
        do { _ = try await connection.outcome(for: "bad key!", timeout: .seconds(5)); Issue.record("accepted") } catch let e as HubClientError {
            guard case .refused(_, let code, _) = e else { Issue.record("\(e)"); return }
            #expect(code == "invalid_key")
        }
    }

    @Test func aMintedTokenOpensItsKeysAndNoOthers() async throws {
        let hub = Hub()
        let node = try Running(engineAuth: nil, hub: hub, access: AccessPolicy(publisherKeys: [], tokenSecret: "s3cret"))
        defer { node.stop() }
        let token = SubscriptionTokens.mint(secret: "s3cret", keys: ["order-7"], expiresIn: .seconds(60))
        let connection = try HubConnection(hubURL: node.url, options: .init(token: token))
        defer { connection.close() }
        publish(hub, "order-7", .completed, "7")
        #expect(try await connection.outcome(for: "order-7", timeout: .seconds(5)).data == 7)
        do { _ = try await connection.outcome(for: "order-8", timeout: .seconds(5)); Issue.record("read a key the token does not name") } catch let e as HubClientError {
            guard case .refused = e else { Issue.record("\(e)"); return }
        }
        let forged = SubscriptionTokens.mint(secret: "wrong", keys: ["order-7"])
        let other = try HubConnection(hubURL: node.url, options: .init(token: forged))
        defer { other.close() }
        await #expect(throws: HubClientError.self) { _ = try await other.outcome(for: "order-7", timeout: .seconds(5)) }
    }

    @Test func reconnectsAfterTheHubRestartsAndResumesWithoutDuplicates() async throws {
        let hub = Hub()
        var node = try Running(engineAuth: nil, hub: hub)
        let port = node.server.port!
        let connection = try HubConnection(hubURL: node.url)
        defer { connection.close() }
        let seen = Seen()
        _ = connection.onOutcome("resume") { seen.add($0) }
        await connection.watch("resume")
        publish(hub, "resume", .progress, "1")
        #expect(await eventually { seen.seqs == [1] })

        node.stop()  // every socket closed with 1001
        publish(hub, "resume", .progress, "2")  // published while the client is away
        node = try Running(engineAuth: nil, hub: hub, port: port)
        defer { node.stop() }
        publish(hub, "resume", .completed, "3")
        #expect(await eventually(10) { seen.seqs == [1, 2, 3] })
        #expect(connection.connectCount >= 2)
        // Nothing more arrives: seq 1 was not replayed twice.
        try await Task.sleep(for: .milliseconds(200))
        #expect(seen.seqs == [1, 2, 3])
    }
}

@Suite(.serialized) struct StartAndAwait {
    /// The hub with its dev engine and outcome worker, in one process, as `--dev-engine` runs it.
    func hubWithEngine() async throws -> (Running, CamundaClient, OutcomeWorker) {
        let hub = Hub()
        let node = try Running(hub: hub)
        let client = try CamundaClient(CamundaConfiguration(baseURL: node.url))
        var logger = Logger(label: "worker")
        logger.logLevel = .critical
        let worker = OutcomeWorker(engine: client, hub: hub, logger: logger)
        worker.start()
        _ = try await client.deploy(resources: [(name: "order-fulfilment.bpmn", bytes: demoModel)])
        return (node, client, worker)
    }

    /// Completes the demo's service tasks as workers would (the label task by hand, as its callback would).
    func runServiceTasks(_ client: CamundaClient, delay: Duration = .zero) async throws {
        for (type, vars) in [("payment", ["total": JSONValue(30)]), ("inventory", ["inStock": true]), ("http-callback", ["trackingNumber": "T9"])] as [(String, [String: JSONValue])] {
            let jobs = try await client.activateJobs(type: type, worker: "t", timeout: .seconds(30), maxJobsToActivate: 1, requestTimeout: .seconds(5))
            try #require(jobs.count == 1)
            if delay > .zero { try await Task.sleep(for: delay) }
            try await client.completeJob(jobs[0].jobKey, variables: vars)
        }
    }

    @Test func startsAnInstanceAndReturnsItsOutcome() async throws {
        let (node, client, worker) = try await hubWithEngine()
        defer { worker.stop(); node.stop() }
        let hub = try HubConnection(hubURL: node.url)
        defer { hub.close() }
        async let result = client.createProcessInstance(processDefinitionId: "order-fulfilment", variables: ["orderId": "o-7"],
                                                        awaitingOutcomeVia: hub, timeout: .seconds(10))
        try await runServiceTasks(client)
        guard case .finished(let outcome, let instance) = try await result else { Issue.record("pending"); return }
        #expect(outcome.status == "completed")
        #expect(outcome.data["orderId"] == "o-7")
        #expect(outcome.data["trackingNumber"] == "T9")
        #expect(outcome.key.hasPrefix("pi-"))
        #expect(!instance.processInstanceKey.isEmpty)
        // The worker completes the job right after the outcome is stored and delivered.
        #expect(await eventually { worker.stats.completed == 1 })
    }

    @Test func aSlowWorkflowIsPendingWithAHandleThatLaterResolves() async throws {
        let (node, client, worker) = try await hubWithEngine()
        defer { worker.stop(); node.stop() }
        let hub = try HubConnection(hubURL: node.url)
        defer { hub.close() }
        let result = try await client.createProcessInstance(processDefinitionId: "order-fulfilment", awaitingOutcomeVia: hub,
                                                            timeout: .milliseconds(200), affinityKey: "order-slow")
        guard case .pending(let pending) = result else { Issue.record("finished early"); return }
        #expect(pending.key == "order-slow")
        try await runServiceTasks(client)
        let outcome = try await pending.wait(timeout: .seconds(10))
        #expect(outcome.status == "completed")
    }
}
