import Auth
import DevEngineServer
import Foundation
import HTTP1
import HubCore
import HubServer
import Logging

/// In-process servers on loopback port 0: the dev engine, the hub, or both, like the binary wires them.
final class Running: @unchecked Sendable {
    // @unchecked Sendable: set up once before use; the servers and engine are themselves Sendable.
    let server: Server
    let engine: DevEngine?
    let hub: Hub?
    var url: String { "http://127.0.0.1:\(server.port!)" }

    var secureURL: String { "https://localhost:\(server.tlsPort!)" }

    init(engineAuth: DevEngineAuth? = DevEngineAuth.none, hub: Hub? = nil, port: Int = 0, tls: (cert: String, key: String)? = nil,
         access: AccessPolicy = AccessPolicy(publisherKeys: [], tokenSecret: nil),
         extraRoutes: (inout Router) -> Void = { _ in }) throws {
        let stats = ServerStats(), lifecycle = Lifecycle()
        var router = Router.transportRoutes(echoPath: nil, stats: stats, lifecycle: lifecycle, hub: hub)
        if let hub { router.addHubRoutes(hub: hub, access: access, limits: InterfaceLimits(), stats: stats) }
        engine = engineAuth.map { DevEngine(auth: $0) }
        if let engine { router.addDevEngineRoutes(engine) }
        extraRoutes(&router)
        var config = ServerConfig()
        config.port = port
        config.loops = 1
        config.drainTimeoutMs = 200
        if let tls {
            config.tlsCertificateFile = tls.cert
            config.tlsPrivateKeyFile = tls.key
            config.tlsPort = 0
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        server = try Server(config: config, router: router, stats: stats, lifecycle: lifecycle, hub: hub, logger: logger)
        self.hub = hub
    }

    func stop() {
        engine?.stop()
        server.shutdown()
    }
}

/// A file of the repository, by its path from the root.
func repositoryFile(_ path: String) -> [UInt8] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../" + path).standardized
    return [UInt8](try! Data(contentsOf: url))
}

let demoModel = repositoryFile("demo/order-fulfilment.bpmn")
let listenerModel = repositoryFile("tests/integration/fixtures/listener-outcome.bpmn")
let approvalModel = repositoryFile("tests/integration/fixtures/approval.bpmn")
let signalsModel = repositoryFile("tests/integration/fixtures/signals.bpmn")

/// A self-signed certificate for `name` (and 127.0.0.1), made with the openssl CLI.
func selfSigned(_ name: String) throws -> (cert: String, key: String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    p.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                   "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name),IP:127.0.0.1"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return (cert, key)
}
