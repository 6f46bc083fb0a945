// What one event loop's connections share: the loop, the configuration, the per-loop zlib
// streams, the cached Date header and the set of open connections (for draining).
import Reactor
import TLS
import WebSocket
import HubBytes
import HTTP1
import HubCore
import Synchronization

/// State shared by all loops (read-only config plus atomics).
public final class ServerShared: Sendable {
    public let config: ServerConfig
    public let router: Router
    public let stats: ServerStats
    public let tls: TLSContext?
    public let lifecycle: Lifecycle

    private let perClient = Mutex<[String: Int]>([:])

    /// Counts a new connection from `peer`; false when it is over the per-client limit.
    func admit(_ peer: String) -> Bool {
        let limit = config.maxConnectionsPerClient
        guard limit > 0 else { return true }
        return perClient.withLock { counts in
            let n = counts[peer, default: 0]
            if n >= limit { return false }
            counts[peer] = n + 1
            return true
        }
    }

    func release(_ peer: String) {
        guard config.maxConnectionsPerClient > 0 else { return }
        perClient.withLock { counts in
            if let n = counts[peer] { counts[peer] = n > 1 ? n - 1 : nil }
        }
    }

    init(config: ServerConfig, router: Router, stats: ServerStats, lifecycle: Lifecycle, tls: TLSContext?) {
        self.config = config; self.router = router; self.stats = stats; self.tls = tls
        self.lifecycle = lifecycle
    }
}

/// Loop-confined context of one event loop.
public final class LoopContext {
    public let loop: EventLoop
    public let shared: ServerShared
    var config: ServerConfig { shared.config }
    var connections: [Int32: Connection] = [:]
    /// Outcome subscribers on this loop, by the id the hub knows them by.
    var sinks: [UInt64: OutcomeSink] = [:]
    /// Publishes waiting for the durable store, by token.
    var pendingPublishes: [UInt64: (Result<PublishResult, HubError>) -> Void] = [:]
    /// Tokens for what waits on this loop for a store's answer (publishes, session reads).
    var nextPendingToken: UInt64 = 1
    /// Subscribes waiting for the shared store's record of their session's ack, by token.
    var pendingSessionReads: [UInt64: (UInt64?) -> Void] = [:]
    var listeners: [Listener] = []
    /// Set once draining starts: new connections are refused, finished ones close.
    var draining: CloseCode?
    /// From the shutdown signal on (the drain grace period included), new subscriptions are
    /// refused with 503 `draining` so clients go to another node; existing ones keep receiving.
    var refusesNewSubscriptions: Bool { draining != nil || shared.lifecycle.isDraining }

    private var deflaters: [Int: Deflater] = [:]
    private var inflaters: [Int: Inflater] = [:]
    private var dateSecond: Int64 = 0
    private var dateText = ""

    init(loop: EventLoop, shared: ServerShared) {
        self.loop = loop
        self.shared = shared
    }

    /// The Date header value, formatted at most once per second.
    var httpDate: String {
        let s = HubClock.wallSeconds
        if s != dateSecond { dateSecond = s; dateText = HubClock.httpDate(s) }
        return dateText
    }

    /// The loop's shared compressor for a window size (reset per message: no context takeover).
    func sharedDeflater(windowBits: Int) -> Deflater {
        if let d = deflaters[windowBits] { return d }
        let d = Deflater(windowBits: windowBits, resetPerMessage: true)
        deflaters[windowBits] = d
        return d
    }

    /// The loop's shared decompressor (used when the client agreed to client_no_context_takeover).
    func sharedInflater(windowBits: Int) -> Inflater {
        let bits = max(9, windowBits)
        if let i = inflaters[bits] { return i }
        let i = Inflater(windowBits: bits, resetPerMessage: true)
        inflaters[bits] = i
        return i
    }

    // MARK: accept

    func accept(fd: Int32, peer: String, tls: Bool) {
        let stats = shared.stats
        stats.connectionsAccepted.add(1, ordering: .relaxed)
        if !shared.admit(peer) {
            // Answered in plain HTTP even on the TLS port would be garbage there: just close.
            if !tls {
                let refusal = HTTPResponse(error: HTTPError(429, "too_many_connections", "this address holds its maximum of \(config.maxConnectionsPerClient) connections"))
                // Keep the encoded bytes alive across the send: `.bytes` is only a view of them.
                let encoded = refusal.encode(date: httpDate, keepAlive: false)
                withExtendedLifetime(encoded) { TCPTransport.sendNow(fd, encoded.bytes) }
            }
            TCPTransport(fd: fd).close()
            stats.connectionsRefused.add(1, ordering: .relaxed)
            return
        }
        let transport: StreamTransport
        if tls, let context = shared.tls {
            do { transport = try TLSTransport(fd: fd, context: context) } catch {
                TCPTransport(fd: fd).close()
                return
            }
        } else {
            transport = TCPTransport(fd: fd)
        }
        let connection = Connection(context: self, transport: transport, peer: peer)
        do {
            try loop.register(fd, connection, events: IOEvents.readable)
        } catch {
            transport.close()
            shared.release(peer)
            return
        }
        connections[fd] = connection
        stats.connectionsOpen.add(1, ordering: .relaxed)
        connection.start()
    }

    func connectionClosed(_ connection: Connection) {
        connections[connection.fd] = nil
        shared.release(connection.peer)
        shared.stats.connectionsOpen.subtract(1, ordering: .relaxed)
        if draining != nil && connections.isEmpty { shared.lifecycle.loopDrained() }
    }

    // MARK: drain

    /// Stops accepting and asks every connection to finish (WebSockets get `code`).
    func beginDrain(code: CloseCode) {
        guard draining == nil else { return }
        draining = code
        for listener in listeners { listener.close() }
        listeners = []
        for connection in Array(connections.values) { connection.drain(code: code) }
        if connections.isEmpty { shared.lifecycle.loopDrained() }
    }

    /// Delivers one published outcome to this loop's subscribers `ids` (run by the hub via `execute`).
    func deliver(_ outcome: SharedOutcome, to ids: [UInt64]) {
        for id in ids { sinks[id]?.deliver(outcome) }
    }

    func deliver(_ outcome: SharedOutcome, to id: UInt64) { sinks[id]?.deliver(outcome) }

    /// Drops whatever is still open (the drain deadline passed).
    func abortAll() {
        for connection in Array(connections.values) { connection.abort() }
    }
}
