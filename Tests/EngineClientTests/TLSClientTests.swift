import AffinityClient
import CamundaClient
import HTTPClient
import HubCore
import HubServer
import Testing

@Suite(.serialized) struct TLSClient {
    @Test func theEngineClientSpeaksHTTPSAndVerifiesTheCertificate() async throws {
        let files = try selfSigned("localhost")
        let node = try Running(tls: files)
        defer { node.stop() }
        let trusting = try CamundaClient(CamundaConfiguration(baseURL: node.secureURL, caFile: files.cert))
        #expect(try await trusting.topology()["clusterSize"] == 1)
        let deployed = try await trusting.deploy(resources: [(name: "order-fulfilment.bpmn", bytes: demoModel)])
        #expect(deployed.processes.count == 1)
        // By IP address: the certificate names 127.0.0.1 too.
        let byIP = try CamundaClient(CamundaConfiguration(baseURL: "https://127.0.0.1:\(node.server.tlsPort!)", caFile: files.cert))
        #expect(try await byIP.topology()["clusterSize"] == 1)

        // The system trust store does not know a self-signed certificate: refused, and said why.
        let system = try CamundaClient(CamundaConfiguration(baseURL: node.secureURL, maxRetries: 0))
        do { _ = try await system.topology(); Issue.record("accepted an untrusted certificate") } catch let e as CamundaError {
            #expect("\(e)".contains("certificate"))
        }
    }

    @Test func aCertificateForAnotherNameIsRefused() async throws {
        let files = try selfSigned("other.example")
        let node = try Running(tls: files)
        defer { node.stop() }
        let client = try CamundaClient(CamundaConfiguration(baseURL: node.secureURL, maxRetries: 0, caFile: files.cert))
        do { _ = try await client.topology(); Issue.record("accepted a certificate for another name") } catch let e as CamundaError {
            #expect("\(e)".contains("hostname mismatch") || "\(e)".contains("certificate"))
        }
    }

    @Test func theHubConnectionWorksOverWSS() async throws {
        let files = try selfSigned("localhost")
        let hub = Hub()
        let node = try Running(engineAuth: nil, hub: hub, tls: files)
        defer { node.stop() }
        let connection = try HubConnection(hubURL: node.secureURL, options: .init(caFile: files.cert))
        defer { connection.close() }
        await connection.watch("secure-1")
        _ = await hub.publishStored(PublishRequest(key: try OutcomeKey(validating: "secure-1"), status: .completed, data: Array("\"ok\"".utf8)))
        let outcome = try await connection.outcome(for: "secure-1", timeout: .seconds(5))
        #expect(outcome.data == "ok")
    }
}
