import ArgumentParser
import HubServer
import Logging
import Reactor
import WebSocket

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the hub.")

    @Option(help: "Address to listen on (IPv4 or IPv6 literal). Loopback by default.")
    var host = "127.0.0.1"
    @Option(help: "Plain HTTP/WebSocket port (0 = ephemeral).")
    var port = 8080
    @Option(help: "Event loops (threads); default one per core.")
    var loops: Int?
    @Option(help: "PEM certificate chain: enables https/wss on --tls-port.")
    var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?
    @Option(help: "TLS port (0 = ephemeral).")
    var tlsPort = 8443
    @Option(help: "Serve an echo WebSocket at this path (conformance tests). Off by default.")
    var echoPath: String?
    @Option(name: .customLong("allowed-origin"), help: "Browser Origin allowed to open WebSockets (repeatable). Default: any.")
    var allowedOrigins: [String] = []
    @Option(help: "Largest WebSocket message, bytes (after inflation).")
    var maxMessageBytes = 16 * 1024 * 1024
    @Option(help: "Largest WebSocket frame payload, bytes.")
    var maxFrameBytes = 16 * 1024 * 1024
    @Option(help: "Largest HTTP request body, bytes.")
    var maxBodyBytes = 1024 * 1024
    @Option(help: "Per-connection output buffer limit, bytes; past it a WebSocket is closed with 1008.")
    var outputLimitBytes = 4 * 1024 * 1024
    @Option(help: "Seconds to receive a request head (TLS handshake included).")
    var headerTimeout = 10
    @Option(help: "Seconds of WebSocket silence before the server pings.")
    var idleTimeout = 60
    @Option(help: "Seconds to wait for any frame after an idle ping before closing with 1001.")
    var pongTimeout = 30
    @Option(help: "Seconds open connections get to finish after SIGTERM.")
    var drainTimeout = 10
    @Flag(help: "Disable permessage-deflate.")
    var noDeflate = false
    @Flag(help: "Let clients keep their deflate window across messages (costs ~39 KiB per connection).")
    var deflateClientContextTakeover = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() throws {
        var logger = Logger(label: "affinity-hub")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var config = ServerConfig()
        config.host = host
        config.port = port
        config.loops = loops ?? max(1, System.coreCount)
        config.tlsCertificateFile = tlsCert
        config.tlsPrivateKeyFile = tlsKey
        config.tlsPort = tlsPort
        config.echoPath = echoPath
        config.allowedOrigins = allowedOrigins.isEmpty ? nil : Set(allowedOrigins)
        config.webSocket.maxMessageBytes = maxMessageBytes
        config.webSocket.maxFrameBytes = maxFrameBytes
        config.http.maxBodyBytes = maxBodyBytes
        config.outputLimitBytes = outputLimitBytes
        config.headerTimeoutMs = headerTimeout * 1000
        config.webSocketIdleMs = idleTimeout * 1000
        config.webSocketPongTimeoutMs = pongTimeout * 1000
        config.drainTimeoutMs = drainTimeout * 1000
        config.deflate.enabled = !noDeflate
        config.deflate.allowClientContextTakeover = deflateClientContextTakeover
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }

        // Block the shutdown signals before any loop thread exists, so only `sigwait` sees them.
        Process.blockShutdownSignals()
        let stats = ServerStats()
        let lifecycle = Lifecycle()
        let router = Router.transportRoutes(echoPath: config.echoPath, stats: stats, lifecycle: lifecycle)
        let server = try Server(config: config, router: router, stats: stats, lifecycle: lifecycle, logger: logger)
        if let p = server.port { print("listening http://\(host):\(p)") }
        if let p = server.tlsPort { print("listening https://\(host):\(p)") }
        logger.info("affinity-hub started", metadata: ["loops": "\(config.loops)", "echo": "\(echoPath ?? "off")"])
        flushStdout()

        let signal = Process.waitForShutdownSignal()
        // SIGHUP means "restarting": clients are told 1012 and reconnect; SIGTERM/SIGINT mean going away (1001).
        let code: CloseCode = signal == 1 ? .serviceRestart : .goingAway
        logger.info("shutting down", metadata: ["signal": "\(signal)", "close_code": "\(code.rawValue)"])
        server.shutdown(code: code)
        logger.info("stopped")
    }
}
