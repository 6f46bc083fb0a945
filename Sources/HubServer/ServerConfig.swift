import HTTP1
import WebSocket
import TLS

/// Everything `affinity-hub serve` can set. Every limit and timeout has a safe default and a reason.
public struct ServerConfig: Sendable {
    /// Listen address. Loopback by default: listening beyond it is a deliberate choice.
    public var host = "127.0.0.1"
    /// Plain HTTP/WebSocket port; 0 picks an ephemeral port (tests). nil disables the plain listener.
    public var port: Int? = 8080
    /// TLS port (https/wss), used when a certificate and key are given.
    public var tlsPort: Int? = nil
    public var tlsCertificateFile: String? = nil
    public var tlsPrivateKeyFile: String? = nil
    /// Event loops (threads). One per core: each owns its connections, nothing is shared per message.
    public var loops = 1

    public var http = HTTPLimits()
    public var webSocket = WebSocketLimits()
    public var deflate = DeflateConfig()
    /// Browser origins allowed to open WebSockets; nil allows any.
    public var allowedOrigins: Set<String>? = nil

    /// Time to receive a complete request head, TLS handshake included, from its first byte (or
    /// from accept). 10 s is ample for real clients and bounds slowloris attacks. → 408.
    public var headerTimeoutMs = 10_000
    /// Time to receive a request body once its head arrived. → 408.
    public var bodyTimeoutMs = 30_000
    /// An idle keep-alive HTTP connection is closed after this long.
    public var keepAliveTimeoutMs = 30_000
    /// A WebSocket with no traffic from the peer for this long is pinged.
    public var webSocketIdleMs = 60_000
    /// ...and closed (1001) if nothing arrives within this long after the ping.
    public var webSocketPongTimeoutMs = 30_000
    /// After our close frame or final response, how long to wait for the peer to finish before
    /// dropping the TCP connection.
    public var closeTimeoutMs = 5_000
    /// Graceful shutdown: how long open connections get to finish after SIGTERM.
    public var drainTimeoutMs = 10_000
    /// TLS 1.2 cipher suites (OpenSSL syntax). The default admits only ECDHE key exchange with
    /// AEAD ciphers (forward secrecy, no CBC, no static RSA); TLS 1.3 suites are OpenSSL's own.
    public var tlsCiphers = TLSPolicy.tls12Ciphers
    /// `Strict-Transport-Security` value sent on HTTPS responses (`max-age=N`), or nil (off: HSTS
    /// pins browsers to HTTPS for the whole host, a decision for whoever runs it).
    public var strictTransportSecurity: String?
    /// Graceful shutdown: how long the hub keeps its listeners open after SIGTERM/SIGHUP,
    /// answering `/readyz` with 503 and refusing new subscriptions, before it closes them and
    /// the drain starts. Load balancers poll readiness every few seconds: 5 s lets them see the
    /// 503 and stop routing here before connections are refused. SIGINT skips it.
    public var drainGraceMs = 5_000

    /// Bytes a connection may have queued for a peer that is not reading. Past it a WebSocket is
    /// closed with 1008 (its outcomes stay in the store for replay) and an HTTP connection stops
    /// reading requests until it drains. 4 MiB lets one maximum-size burst through.
    public var outputLimitBytes = 4 * 1024 * 1024
    /// Connections one client address may hold; 0 means no limit (the default: behind a proxy or
    /// load balancer every client shares one address). More → 429 and close.
    public var maxConnectionsPerClient = 0
    /// Path of the echo WebSocket used by conformance tests; nil (the default) disables it.
    public var echoPath: String? = nil

    public init() {}
}
