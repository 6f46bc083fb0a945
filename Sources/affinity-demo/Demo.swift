// The order-fulfilment demo: a REST server a Swift team would write, plus the workers for the
// workflow's service tasks. It talks to the hub (outcomes) and to the engine (Camunda REST v2,
// or the hub's embedded dev engine) exactly as production code would.
//
//   browser/curl ─POST /purchase─▶ affinity-demo ─createProcessInstance(awaitingOutcomeVia: hub)─▶ engine
//        ▲                              │ 200 outcome │ 202 + Location        payment/inventory workers
//        └──── live outcome (client.js) ◀── affinity-hub ◀── publish-outcome job (outcome worker)
//
//   above the approval threshold: the hub creates approve/deny links ─▶ the mailbox (/mailbox) ─▶ a click
//   correlates the decision; no decision within --approval-timeout rejects the order
//   shipping label: an http-callback task the hub sends to this server's /labels, which calls back later
import AffinityClient
import ArgumentParser
import CamundaClient
import Foundation
import HubBytes
import HubServer
import Logging
import Reactor

@main
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "affinity-demo", abstract: "The order-fulfilment demo: REST server and service-task workers.")

    @Option(help: "The hub's address.") var hub = "http://127.0.0.1:8080"
    @Option(help: "The hub's address as browsers reach it (behind a proxy). Default: --hub, or the page's host on --hub's port when --hub is loopback and the page is not.")
    var publicHubUrl: String?
    @Option(help: "The engine's REST address. Default: the hub's (its embedded dev engine).") var engine: String?
    @Option(help: "Port of the demo's REST server and page.") var port = 8081
    @Option(help: "The order-fulfilment BPMN to deploy.") var bpmn = "demo/order-fulfilment.bpmn"
    @Option(help: "Hub token secret, when the hub requires subscription tokens (browsers get tokens minted with it).") var tokenSecret: String?
    @Option(help: "Default wait of POST /purchase for the outcome, ms, before answering 202.") var waitMs = 5000
    @Option(help: "Chance (0-1) that a worker's attempt fails transiently and is retried by the engine.") var flakiness = 0.1
    @Option(help: "Orders above this total wait for a manager's approval.") var approvalThreshold = 500
    @Option(help: "How long the manager has to decide (ISO-8601 duration) before the order is rejected.") var approvalTimeout = "PT2M"
    @Option(help: "Base URL of the shipping-label service the hub calls back from (default: this server's /labels).") var labelService: String?
    @Flag(help: "Run the REST server only (workers elsewhere).") var noWorkers = false

    func run() async throws {
        var logger = Logger(label: "affinity-demo")
        logger.logLevel = .info
        guard ISODuration.milliseconds(approvalTimeout) != nil else { throw ValidationError("--approval-timeout is an ISO-8601 duration such as PT2M") }
        let camunda = try CamundaClient(CamundaConfiguration(baseURL: engine ?? hub))
        let hubConnection = try HubConnection(hubURL: hub)
        hubConnection.start()
        let mailbox = Mailbox()
        if !noWorkers {
            for service in ServiceWorkers.all(flakiness: flakiness, mailbox: mailbox, approvalTimeout: approvalTimeout) {
                var options = JobWorker.Options(type: service.type, name: "demo-\(service.type)")
                options.maxJobs = 16
                options.pollTimeout = .seconds(10)
                JobWorker(client: camunda, options: options, onError: { [logger] what, error in
                    logger.warning("\(what) failed", metadata: ["error": "\(error)"])
                }, handler: service.handle).start()
            }
        }
        let shop = Shop(engine: camunda, hub: hubConnection, hubURL: publicHubUrl ?? hub, tokenSecret: tokenSecret, defaultWaitMs: waitMs,
                        approvalThreshold: approvalThreshold)
        var config = ServerConfig()
        config.port = port
        config.loops = 1
        let stats = ServerStats(), lifecycle = Lifecycle()
        var router = Router.transportRoutes(echoPath: nil, stats: stats, lifecycle: lifecycle)
        router.addShopRoutes(shop, mailbox: mailbox, labels: LabelService(flakiness: flakiness))
        let server = try Server(config: config, router: router, stats: stats, lifecycle: lifecycle, logger: logger)
        let ownURL = "http://127.0.0.1:\(server.port ?? port)"

        // Deployed once this server listens: the label task calls it back at its real address.
        let path = try bpmnPath()
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "value=\"/labels\"", with: "value=\"\(labelService ?? ownURL)/labels\"")
            .replacingOccurrences(of: "PT48H", with: approvalTimeout)
        let deployment = try await camunda.deploy(resources: [(name: URL(fileURLWithPath: path).lastPathComponent, bytes: Array(text.utf8))])
        logger.info("deployed", metadata: ["processes": "\(deployment.processes.map { "\($0.processDefinitionId) v\($0.processDefinitionVersion)" })"])
        print("demo ready: open \(ownURL)/  (mailbox \(ownURL)/mailbox, hub \(hub))")
        flushStdout()
        // Run until killed (SIGTERM/SIGINT end the process; nothing here needs a drain).
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    /// `--bpmn` as given, else found beside the executable's checkout, so the demo starts from any folder.
    private func bpmnPath() throws -> String {
        if FileManager.default.fileExists(atPath: bpmn) { return bpmn }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("demo/order-fulfilment.bpmn").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        throw ValidationError("cannot find \(bpmn): pass --bpmn with the path of demo/order-fulfilment.bpmn")
    }
}
