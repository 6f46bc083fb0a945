import ArgumentParser
import RedisStore
import Auth
import CallbackService
import Callbacks
import CamundaClient
import HubBytes
import DevEngineServer
import Foundation
import HubCore
import HubServer
import Logging
import Metrics
import OutcomeLog
import OutcomeWorker
import Prometheus
import Reactor
import Synchronization
import WebhookService
import WebSocket

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the hub.",
        discussion: """
        Every option can also come from the environment as AFFINITY_<NAME> (e.g. AFFINITY_PORT,
        AFFINITY_PUBLISHER_KEY=k1,k2) or from the JSON object in --config (e.g. {"port": 8080}).
        Precedence: flag, then environment, then config file, then default.
        """)

    @Option(help: "JSON config file (also AFFINITY_CONFIG).") var config: String?
    @Option(help: "Address to listen on (IPv4 or IPv6 literal). Default 127.0.0.1.") var host: String?
    @Option(help: "Plain HTTP/WebSocket port (0 = ephemeral). Default 8080.") var port: Int?
    @Option(help: "Event loops (threads). Default: one per core.") var loops: Int?
    @Option(help: "PEM certificate chain: enables https/wss on --tls-port.") var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.") var tlsKey: String?
    @Option(help: "TLS port (0 = ephemeral). Default 8443.") var tlsPort: Int?
    @Option(help: "TLS 1.2 cipher suites, OpenSSL syntax. Default: ECDHE with AES-GCM or ChaCha20-Poly1305 only.") var tlsCiphers: String?
    @Option(help: "Send Strict-Transport-Security: max-age=N on HTTPS responses (seconds; 0 = off, the default).") var hstsMaxAge: Int?
    @Option(help: "Serve an echo WebSocket at this path (conformance tests). Off by default.") var echoPath: String?
    @Option(name: .customLong("allowed-origin"), help: "Browser Origin allowed to open WebSockets (repeatable). Default: any.")
    var allowedOrigins: [String] = []

    @Option(help: "Publisher API key (repeatable); publishing needs one when any is set.") var publisherKey: [String] = []
    @Option(help: "HS256 secret for subscription tokens; subscribing needs a token when set.") var tokenSecret: String?
    @Flag(help: "Allow listening beyond loopback without credentials.") var insecure = false

    @Option(help: "Seconds an outcome is retained for late subscribers. Default 600.") var retention: Int?
    @Option(help: "Outcome store: memory or log (durable append-only log). Default memory.") var store: String?
    @Option(help: "Path of the durable outcome log. Default ./affinity-outcomes.log.") var storePath: String?
    @Option(help: "Outcomes retained per key. Default 64.") var maxOutcomesPerKey: Int?
    @Option(help: "Largest outcome data, bytes. Default 262144.") var maxDataBytes: Int?
    @Option(help: "Bytes retained in all. Default 268435456.") var maxRetainedBytes: Int?
    @Option(help: "Keys the hub holds at once (retained outcomes or subscribers). Default 1000000.") var maxKeys: Int?
    @Option(help: "Keys one multiplexed WebSocket may subscribe to at once. Default 10000.") var maxSubscriptionsPerConnection: Int?
    @Option(help: "Messages per second one multiplexed client may send. Default 1000.") var messagesPerSecond: Int?
    @Option(help: "Connections one client address may hold (0 = no limit, the default: behind a proxy every client shares one address).")
    var maxConnectionsPerClient: Int?

    @Option(help: "Largest WebSocket message, bytes (after inflation). Default 16 MiB.") var maxMessageBytes: Int?
    @Option(help: "Largest WebSocket frame payload, bytes. Default 16 MiB.") var maxFrameBytes: Int?
    @Option(help: "Largest HTTP request body, bytes. Default 1 MiB.") var maxBodyBytes: Int?
    @Option(help: "Per-connection output buffer limit, bytes; past it a WebSocket is closed with 1008. Default 4 MiB.")
    var outputLimitBytes: Int?
    @Option(help: "Seconds to receive a request head (TLS handshake included). Default 10.") var headerTimeout: Int?
    @Option(help: "Seconds of WebSocket silence before the server pings. Default 60.") var idleTimeout: Int?
    @Option(help: "Seconds to wait for any frame after an idle ping before closing with 1001. Default 30.") var pongTimeout: Int?
    @Option(help: "Seconds open connections get to finish after SIGTERM. Default 10.") var drainTimeout: Int?
    @Option(help: "Seconds /readyz answers 503 before the listeners close on SIGTERM/SIGHUP (not SIGINT), so load balancers stop routing here first. Default 5.")
    var drainGrace: Int?
    @Flag(help: "Disable permessage-deflate.") var noDeflate = false
    @Flag(help: "Let clients keep their deflate window across messages (costs ~39 KiB per connection).")
    var deflateClientContextTakeover = false
    @OptionGroup(title: "Workflow engine") var engine: EngineOptions
    @OptionGroup(title: "Callbacks into the engine") var callbackOptions: CallbackOptions
    @OptionGroup(title: "Outcome webhooks") var webhookOptions: WebhookOptions
    @OptionGroup(title: "Scale-out") var redisOptions: RedisOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. Default info.") var logLevel: String?
    @Option(help: "Log format: text (default), or json (one object per line, for log shippers).") var logFormat: String?

    func run() throws {
        let s = try Settings(configPath: config)
        switch s.string("log-format", flag: logFormat, default: "text")! {
        case "text": break
        case "json": LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        case let other: throw ValidationError("--log-format is text or json, not \(other)")
        }
        // Before anything records a metric: the facade's backend, rendered on /metrics.
        let prometheus = PrometheusEndpoint()
        var logger = Logger(label: "affinity-hub")
        logger.logLevel = Logger.Level(rawValue: s.string("log-level", flag: logLevel, default: "info")!) ?? .info

        var c = ServerConfig()
        c.host = s.string("host", flag: host, default: "127.0.0.1")!
        c.port = try s.int("port", flag: port, default: 8080)
        c.loops = try s.int("loops", flag: loops, default: max(1, System.coreCount))
        c.tlsCertificateFile = s.string("tls-cert", flag: tlsCert, default: nil)
        c.tlsPrivateKeyFile = s.string("tls-key", flag: tlsKey, default: nil)
        c.tlsPort = try s.int("tls-port", flag: tlsPort, default: 8443)
        c.tlsCiphers = s.string("tls-ciphers", flag: tlsCiphers, default: c.tlsCiphers)!
        let hsts = try s.int("hsts-max-age", flag: hstsMaxAge, default: 0)
        c.strictTransportSecurity = hsts > 0 ? "max-age=\(hsts)" : nil
        c.echoPath = s.string("echo-path", flag: echoPath, default: nil)
        let origins = s.list("allowed-origin", flag: allowedOrigins)
        c.allowedOrigins = origins.isEmpty ? nil : Set(origins)
        c.webSocket.maxMessageBytes = try s.int("max-message-bytes", flag: maxMessageBytes, default: c.webSocket.maxMessageBytes)
        c.webSocket.maxFrameBytes = try s.int("max-frame-bytes", flag: maxFrameBytes, default: c.webSocket.maxFrameBytes)
        c.http.maxBodyBytes = try s.int("max-body-bytes", flag: maxBodyBytes, default: c.http.maxBodyBytes)
        c.outputLimitBytes = try s.int("output-limit-bytes", flag: outputLimitBytes, default: c.outputLimitBytes)
        c.headerTimeoutMs = try s.int("header-timeout", flag: headerTimeout, default: 10) * 1000
        c.webSocketIdleMs = try s.int("idle-timeout", flag: idleTimeout, default: 60) * 1000
        c.webSocketPongTimeoutMs = try s.int("pong-timeout", flag: pongTimeout, default: 30) * 1000
        c.drainTimeoutMs = try s.int("drain-timeout", flag: drainTimeout, default: 10) * 1000
        c.drainGraceMs = try s.int("drain-grace", flag: drainGrace, default: 5) * 1000
        c.maxConnectionsPerClient = try s.int("max-connections-per-client", flag: maxConnectionsPerClient, default: 0)
        c.deflate.enabled = !s.bool("no-deflate", flag: noDeflate)
        c.deflate.allowClientContextTakeover = s.bool("deflate-client-context-takeover", flag: deflateClientContextTakeover)
        if (c.tlsCertificateFile == nil) != (c.tlsPrivateKeyFile == nil) { throw ValidationError("--tls-cert and --tls-key go together") }

        var hubConfig = HubConfig()
        hubConfig.retentionMs = Int64(try s.int("retention", flag: retention, default: 600)) * 1000
        hubConfig.maxOutcomesPerKey = try s.int("max-outcomes-per-key", flag: maxOutcomesPerKey, default: hubConfig.maxOutcomesPerKey)
        hubConfig.maxDataBytes = try s.int("max-data-bytes", flag: maxDataBytes, default: hubConfig.maxDataBytes)
        hubConfig.maxTotalBytes = try s.int("max-retained-bytes", flag: maxRetainedBytes, default: hubConfig.maxTotalBytes)
        hubConfig.maxKeys = try s.int("max-keys", flag: maxKeys, default: hubConfig.maxKeys)
        hubConfig.maxSubscriptionsPerSubscriber = try s.int("max-subscriptions-per-connection", flag: maxSubscriptionsPerConnection,
                                                            default: hubConfig.maxSubscriptionsPerSubscriber)
        var limits = InterfaceLimits()
        limits.messagesPerSecond = try s.int("messages-per-second", flag: messagesPerSecond, default: limits.messagesPerSecond)

        let keys = s.list("publisher-key", flag: publisherKey)
        let secret = s.string("token-secret", flag: tokenSecret, default: nil)
        let access = AccessPolicy(publisherKeys: keys, tokenSecret: secret)
        let loopback = c.host.hasPrefix("127.") || c.host == "::1"
        if !loopback && !(access.requiresPublisherKey && access.requiresToken) && !s.bool("insecure", flag: insecure) {
            throw ValidationError("listening on \(c.host) without --publisher-key and --token-secret would let anyone publish and read outcomes; set both, or pass --insecure")
        }

        if s.bool("dev-engine", flag: engine.devEngine) && !loopback && !s.bool("insecure", flag: insecure) {
            throw ValidationError("--dev-engine serves an unauthenticated engine API; it listens on loopback only unless you pass --insecure")
        }

        let outcomeStore: OutcomeStore
        var secretPath: String?
        switch s.string("store", flag: store, default: "memory")! {
        case "memory": outcomeStore = MemoryOutcomeStore()
        case "log":
            let path = s.string("store-path", flag: storePath, default: "affinity-outcomes.log")!
            secretPath = path + ".callback-secret"
            outcomeStore = try OutcomeLogStore(path: path, nowMs: HubClock.wallMilliseconds, logger: logger)
        case let other: throw ValidationError("--store is memory or log, not \(other)")
        }

        // Block the shutdown signals before any thread exists, so only `sigwait` sees them.
        Process.blockShutdownSignals()
        let stats = ServerStats()
        let lifecycle = Lifecycle()
        let redisConfig = try redisOptions.configuration(s)
        // After the signals are blocked: the store starts a thread of its own.
        let shared = try redisConfig.map { try RedisOutcomeStore(config: $0, logger: logger) }
        let hub = Hub(config: hubConfig, store: outcomeStore, shared: shared)
        let camundaURL = s.string("camunda-url", flag: engine.camundaUrl, default: nil)
        let devEngineOn = s.bool("dev-engine", flag: engine.devEngine)
        let workerConfig = try engine.workerConfig(s)
        let camundaAuth = try engine.auth(s)
        let workerStats = WorkerStatsBox()
        let callbacksBox = CallbacksBox()
        let webhooks = WebhookService(hub: hub, store: outcomeStore, config: try webhookOptions.configuration(s, scaledOut: shared != nil), logger: logger)
        var router = Router.transportRoutes(echoPath: c.echoPath, stats: stats, lifecycle: lifecycle, hub: hub, metrics: prometheus.render)
        let baseSources: [ExportedMetrics.Source] = [stats.samples, hub.metricSamples, workerStats.samples, callbacksBox.metricSamples,
                                                 webhooks.metricSamples]
        var sources: [ExportedMetrics.Source] = baseSources
        if let shared { sources.append(shared.stats.samples) }
        for source in sources {
            prometheus.exported.add(source)
        }
        prometheus.exportEverySecond()
        router.addHubRoutes(hub: hub, access: access, limits: limits, stats: stats)
        router.addWebhookRoutes(webhooks, access: access)
        // The callback service needs the engine client, made once the port is known: the routes
        // reach it through a box, and answer 503 until it exists.
        router.addCallbackRoutes(callbacksBox)
        router.addActionLinkRoutes(access: access) { callbacksBox.links() }
        let devEngine = devEngineOn ? DevEngine() : nil
        if let devEngine { router.addDevEngineRoutes(devEngine) }
        let server = try Server(config: c, router: router, stats: stats, lifecycle: lifecycle, hub: hub, logger: logger)
        webhooks.start()
        if let p = server.port { print("listening http://\(c.host):\(p)") }
        if let p = server.tlsPort { print("listening https://\(c.host):\(p)") }

        // The outcome worker: against Camunda, or the embedded dev engine on this very port.
        var worker: OutcomeWorker?
        var callbacks: HTTPCallbacks?
        // The worker reaches the embedded engine on the hub's own listener (the client dials IPv4).
        let selfHost = c.host == "0.0.0.0" || c.host.contains(":") ? "127.0.0.1" : c.host
        let engineURL = camundaURL ?? (devEngineOn ? server.port.map { "http://\(selfHost):\($0)" } : nil)
        if let engineURL {
            let client = try CamundaClient(CamundaConfiguration(baseURL: engineURL, auth: camundaAuth,
                                                                caFile: s.string("camunda-ca-file", flag: engine.camundaCaFile, default: nil)))
            let w = OutcomeWorker(engine: client, hub: hub, config: workerConfig, logger: logger)
            workerStats.set(w.stats)
            w.start()
            worker = w
            let ownURL = server.port.map { "http://\(selfHost):\($0)" } ?? server.tlsPort.map { "https://\(selfHost):\($0)" } ?? ""
            let callbackConfig = try callbackOptions.configuration(s, defaultPublicURL: ownURL)
            let callbackSecret = try callbackOptions.secret(s, keptAt: secretPath)
            let service = HTTPCallbacks(config: callbackConfig, secret: callbackSecret, engine: client, store: outcomeStore, shared: shared,
                                        logger: logger)
            callbacksBox.set(service)
            service.start()
            callbacks = service
            var linkConfig = ActionLinkConfiguration()
            linkConfig.perAddressPerSecond = callbackConfig.perAddressPerSecond
            let links = ActionLinks(config: linkConfig, publicURL: callbackConfig.publicURL, secret: callbackSecret, engine: client,
                                    store: outcomeStore, shared: shared, logger: logger)
            callbacksBox.setLinks(links)
            links.start()
            logger.info("callback worker started", metadata: ["job_type": "\(callbackConfig.jobType)", "public_url": "\(callbackConfig.publicURL)"])
            logger.info("outcome worker started", metadata: ["engine": "\(engineURL)", "job_type": "\(workerConfig.jobType)",
                                                            "dev_engine": "\(devEngineOn)", "concurrency": "\(workerConfig.maxConcurrentJobs)"])
            if devEngineOn { logger.warning("the embedded dev engine is for development and tests, not production") }
        }
        logger.info("affinity-hub started", metadata: [
            "loops": "\(c.loops)", "store": "\(outcomeStore.isDurable ? "log" : "memory")",
            "redis": "\(redisConfig?.url.redacted ?? "none")",
            "recovered": "\(outcomeStore.recovered().count)", "publisher_auth": "\(access.requiresPublisherKey)",
            "subscriber_auth": "\(access.requiresToken)", "echo": "\(c.echoPath ?? "off")",
        ])
        flushStdout()

        let signal = Process.waitForShutdownSignal()
        // SIGTERM and SIGHUP: a restart or rolling deploy — clients get 1012 and reconnect (to
        // another node). SIGINT: an operator stopping the hub — 1001 going away.
        let code: CloseCode = signal == 2 ? .goingAway : .serviceRestart
        let graceMs = signal == 2 ? 0 : c.drainGraceMs
        logger.info("draining", metadata: ["signal": "\(signal)", "close_code": "\(code.rawValue)", "grace_ms": "\(graceMs)"])
        worker?.stop()
        webhooks.stop()
        callbacks?.stop()
        callbacksBox.links()?.stop()
        devEngine?.stop()
        server.shutdown(code: code, graceMs: graceMs)
        shared?.close()
        logger.info("stopped")
    }
}

/// The callback and action-link services, set once the engine client exists (after the server binds).
final class CallbacksBox: CallbackAnswering {
    private let service = Mutex<HTTPCallbacks?>(nil)
    private let linkService = Mutex<ActionLinks?>(nil)
    func set(_ s: HTTPCallbacks) { service.withLock { $0 = s } }
    func setLinks(_ l: ActionLinks) { linkService.withLock { $0 = l } }
    func links() -> ActionLinks? { linkService.withLock { $0 } }
    @Sendable func metricSamples() -> [ExportedMetrics.Sample] {
        (service.withLock { $0 }?.stats.samples() ?? []) + (links()?.stats.samples() ?? [])
    }
    func answer(jobKey: String, kind: CallbackKind, token: String, body: [UInt8], from address: String) async -> CallbackReply {
        guard let s = service.withLock({ $0 }) else {
            return CallbackReply(status: 503, body: JSONText.errorBody(code: "unavailable", message: "callbacks need a workflow engine (--camunda-url or --dev-engine)"))
        }
        return await s.answer(jobKey: jobKey, kind: kind, token: token, body: body, from: address)
    }
}

/// The worker's counters for /metrics, set once the worker exists (after the server binds).
final class WorkerStatsBox: Sendable {
    private let stats = Mutex<OutcomeWorkerStats?>(nil)
    func set(_ s: OutcomeWorkerStats) { stats.withLock { $0 = s } }
    @Sendable func samples() -> [ExportedMetrics.Sample] { stats.withLock { $0 }?.samples() ?? [] }
}
