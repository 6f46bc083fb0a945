// The order-fulfilment demo: a REST server a Swift team would write, plus the workers for the
// workflow's service tasks. It talks to the hub (outcomes) and to the engine (Camunda REST v2,
// or the hub's embedded dev engine) exactly as production code would.
//
//   browser/curl ─POST /purchase─▶ affinity-demo ─createProcessInstance(awaitingOutcomeVia: hub)─▶ engine
//        ▲                              │ 200 outcome │ 202 + Location        payment/inventory/shipping workers
//        └──── live outcome (client.js) ◀── affinity-hub ◀── publish-outcome job (outcome worker)
import AffinityClient
import ArgumentParser
import CamundaClient
import Foundation
import HubServer
import Logging
import Reactor

@main
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "affinity-demo", abstract: "The order-fulfilment demo: REST server and service-task workers.")

    @Option(help: "The hub's address.") var hub = "http://127.0.0.1:8080"
    @Option(help: "The engine's REST address. Default: the hub's (its embedded dev engine).") var engine: String?
    @Option(help: "Port of the demo's REST server and page.") var port = 8081
    @Option(help: "The order-fulfilment BPMN to deploy.") var bpmn = "demo/order-fulfilment.bpmn"
    @Option(help: "Hub token secret, when the hub requires subscription tokens (browsers get tokens minted with it).") var tokenSecret: String?
    @Option(help: "Default wait of POST /purchase for the outcome, ms, before answering 202.") var waitMs = 5000
    @Option(help: "Chance (0-1) that a worker's attempt fails transiently and is retried by the engine.") var flakiness = 0.1
    @Flag(help: "Run the REST server only (workers elsewhere).") var noWorkers = false

    func run() async throws {
        var logger = Logger(label: "affinity-demo")
        logger.logLevel = .info
        let camunda = try CamundaClient(CamundaConfiguration(baseURL: engine ?? hub))
        let resource = try Data(contentsOf: URL(fileURLWithPath: bpmn))
        let deployment = try await camunda.deploy(resources: [(name: URL(fileURLWithPath: bpmn).lastPathComponent, bytes: [UInt8](resource))])
        logger.info("deployed", metadata: ["processes": "\(deployment.processes.map { "\($0.processDefinitionId) v\($0.processDefinitionVersion)" })"])

        let hubConnection = try HubConnection(hubURL: hub)
        hubConnection.start()
        if !noWorkers {
            for service in ServiceWorkers.all(flakiness: flakiness) {
                var options = JobWorker.Options(type: service.type, name: "demo-\(service.type)")
                options.maxJobs = 16
                options.pollTimeout = .seconds(10)
                JobWorker(client: camunda, options: options, onError: { [logger] what, error in
                    logger.warning("\(what) failed", metadata: ["error": "\(error)"])
                }, handler: service.handle).start()
            }
        }
        let shop = Shop(engine: camunda, hub: hubConnection, hubURL: hub, tokenSecret: tokenSecret, defaultWaitMs: waitMs)
        var config = ServerConfig()
        config.port = port
        config.loops = 1
        let stats = ServerStats(), lifecycle = Lifecycle()
        var router = Router.transportRoutes(echoPath: nil, stats: stats, lifecycle: lifecycle)
        router.addShopRoutes(shop)
        let server = try Server(config: config, router: router, stats: stats, lifecycle: lifecycle, logger: logger)
        print("demo ready: open http://127.0.0.1:\(server.port ?? port)/  (hub \(hub))")
        flushStdout()
        // Run until killed (SIGTERM/SIGINT end the process; nothing here needs a drain).
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
