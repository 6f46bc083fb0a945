// `affinity-hub dev-engine`: the embedded dev engine alone, for a hub (or several) to use as
// their engine, and for tests that must kill a hub while the engine lives on.
import ArgumentParser
import DevEngine
import DevEngineServer
import HubServer
import Logging
import Reactor

struct DevEngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-engine",
        abstract: "Run the embedded dev engine alone (Camunda REST API v2 subset). Development and tests only.")

    @Option(help: "Address to listen on. Default 127.0.0.1.") var host = "127.0.0.1"
    @Option(help: "Port (0 = ephemeral). Default 8088.") var port = 8088
    @Option(help: "Require auth: none, basic or oauth. Default none.") var auth = "none"
    @Option(help: "Basic auth user:password, or OAuth client-id:secret.") var credentials = "demo:demo"
    @Option(help: "Lifetime of OAuth tokens, seconds. Default 300.") var tokenTtl = 300

    func run() throws {
        let engineAuth: DevEngineAuth
        let parts = credentials.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw ValidationError("--credentials is name:secret") }
        switch auth {
        case "none": engineAuth = .none
        case "basic": engineAuth = .basic(user: parts[0], password: parts[1])
        case "oauth": engineAuth = .oauth(clientId: parts[0], clientSecret: parts[1], tokenTTLSeconds: tokenTtl)
        default: throw ValidationError("--auth is none, basic or oauth")
        }
        Process.blockShutdownSignals()
        let engine = DevEngine(auth: engineAuth)
        let stats = ServerStats(), lifecycle = Lifecycle()
        var router = Router.transportRoutes(echoPath: nil, stats: stats, lifecycle: lifecycle)
        router.addDevEngineRoutes(engine)
        var config = ServerConfig()
        config.host = host
        config.port = port
        config.loops = 1
        let server = try Server(config: config, router: router, stats: stats, lifecycle: lifecycle, logger: Logger(label: "dev-engine"))
        print("dev engine listening http://\(host):\(server.port ?? port) (development only, state in memory)")
        flushStdout()
        _ = Process.waitForShutdownSignal()
        engine.stop()
        server.shutdown()
    }
}
