import CamundaClient
import DevEngineServer
import HTTP1
import HTTPClient
import HubBytes
import HubServer
import Synchronization
import Testing

@Suite(.serialized) struct EngineAuth {
    @Test func basicAuthIsSentAndAWrongPasswordIsRefused() async throws {
        let engine = try Running(engineAuth: .basic(user: "demo", password: "s3cret"))
        defer { engine.stop() }
        let good = try CamundaClient(CamundaConfiguration(baseURL: engine.url, auth: .basic(user: "demo", password: "s3cret")))
        #expect(try await good.topology()["clusterSize"] == 1)
        let bad = try CamundaClient(CamundaConfiguration(baseURL: engine.url, auth: .basic(user: "demo", password: "wrong")))
        do { _ = try await bad.topology(); Issue.record("accepted") } catch let e as CamundaError { #expect(e.problem?.status == 401) }
        let none = try CamundaClient(CamundaConfiguration(baseURL: engine.url))
        do { _ = try await none.topology(); Issue.record("accepted") } catch let e as CamundaError { #expect(e.problem?.status == 401) }
    }

    @Test func oauthTokensAreCachedAndRefreshedBeforeTheyExpire() async throws {
        let engine = try Running(engineAuth: .oauth(clientId: "worker", clientSecret: "pw", tokenTTLSeconds: 2))
        defer { engine.stop() }
        let client = try CamundaClient(CamundaConfiguration(baseURL: engine.url, auth: .oauth(tokenURL: engine.url + "/oauth/token", clientId: "worker", clientSecret: "pw")))
        // Many calls, concurrently: one token.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 { group.addTask { _ = try await client.topology() } }
            try await group.waitForAll()
        }
        #expect(client.tokensFetched == 1)
        #expect(engine.engine!.tokensIssued.load(ordering: .relaxed) == 1)
        // The 2 s token is refreshed at 80 % of its life, before the engine would refuse it.
        try await Task.sleep(for: .milliseconds(1700))
        _ = try await client.topology()
        #expect(client.tokensFetched == 2)

        let wrong = try CamundaClient(CamundaConfiguration(baseURL: engine.url, auth: .oauth(tokenURL: engine.url + "/oauth/token", clientId: "worker", clientSecret: "nope")))
        do { _ = try await wrong.topology(); Issue.record("accepted") } catch let e as CamundaError {
            guard case .authentication(let why) = e else { Issue.record("\(e)"); return }
            #expect(why.contains("401"))
        }
    }
}

/// A stand-in gateway that answers each path with a scripted status sequence (then 200), counting calls:
/// the retry policy is about what Camunda's gateway or a proxy in front of it may answer, which the
/// dev engine never does on purpose.
final class ScriptedGateway: Sendable {
    let calls = Mutex<[String: Int]>([:])
    let script: [String: [Int]]
    init(_ script: [String: [Int]]) { self.script = script }

    func install(_ router: inout Router) {
        for path in script.keys {
            router.add(path, .http(methods: ["GET", "POST"]) { [self] _, _ in
                let n = calls.withLock { c -> Int in c[path, default: 0] += 1; return c[path]! }
                let statuses = script[path]!
                if n <= statuses.count {
                    let s = statuses[n - 1]
                    return HTTPResponse(status: s, headers: [("Content-Type", "application/problem+json")],
                                        body: Array("{\"type\":\"about:blank\",\"title\":\"RESOURCE_EXHAUSTED\",\"status\":\(s),\"detail\":\"scripted\"}".utf8))
                }
                return .json(200, "{\"clusterSize\":1,\"processInstanceKey\":\"1\",\"processDefinitionKey\":\"2\",\"processDefinitionId\":\"p\",\"processDefinitionVersion\":1}")
            })
        }
    }
}

@Suite(.serialized) struct EngineRetries {
    @Test func backpressureIsRetriedButAnAmbiguousCreateIsNot() async throws {
        let gateway = ScriptedGateway(["/v2/topology": [503, 429, 504], "/v2/process-instances": [502], "/v2/jobs/7/completion": [504, 404]])
        let server = try Running(engineAuth: nil) { gateway.install(&$0) }
        defer { server.stop() }
        let client = try CamundaClient(CamundaConfiguration(baseURL: server.url, maxRetries: 4, retryBaseDelay: .milliseconds(5)))
        // 503 and 429 mean "not done": retried; 504 on a read: retried too.
        #expect(try await client.topology()["clusterSize"] == 1)
        #expect(gateway.calls.withLock { $0["/v2/topology"] } == 4)
        // 502 on create: the instance may exist; a retry could start a second one. Surface it.
        do { _ = try await client.createProcessInstance(processDefinitionId: "p"); Issue.record("succeeded") } catch let e as CamundaError {
            #expect(e.problem?.status == 502)
        }
        #expect(gateway.calls.withLock { $0["/v2/process-instances"] } == 1)
        // A completion whose first answer was lost (504) and whose retry finds no job: it took effect.
        try await client.completeJob("7")
        #expect(gateway.calls.withLock { $0["/v2/jobs/7/completion"] } == 2)
    }

    @Test func anUnreachableEngineIsATransportError() async throws {
        let client = try CamundaClient(CamundaConfiguration(baseURL: "http://127.0.0.1:9", maxRetries: 1, retryBaseDelay: .milliseconds(5)))
        do { _ = try await client.topology(); Issue.record("succeeded") } catch let e as CamundaError {
            guard case .transport(let t) = e else { Issue.record("\(e)"); return }
            #expect(t.isConnectFailure)
        }
    }
}
