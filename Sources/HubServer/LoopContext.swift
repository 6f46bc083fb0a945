// What one event loop's connections share: the loop, the configuration, the per-loop zlib
// streams, the cached Date header and the set of open connections (for draining).
import Reactor
import TLS
import WebSocket
import HubBytes

/// State shared by all loops (read-only config plus atomics).
public final class ServerShared: Sendable {
    public let config: ServerConfig
    public let router: Router
    public let stats: ServerStats
    public let tls: TLSContext?
    public let lifecycle: Lifecycle

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
    var listeners: [Listener] = []
    /// Set once draining starts: new connections are refused, finished ones close.
    var draining: CloseCode?

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
        let s = Clock.wallSeconds
        if s != dateSecond { dateSecond = s; dateText = Clock.httpDate(s) }
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
            return
        }
        connections[fd] = connection
        stats.connectionsOpen.add(1, ordering: .relaxed)
        connection.start()
    }

    func connectionClosed(_ connection: Connection) {
        connections[connection.fd] = nil
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

    /// Drops whatever is still open (the drain deadline passed).
    func abortAll() {
        for connection in Array(connections.values) { connection.abort() }
    }
}
