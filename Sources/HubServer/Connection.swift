// One client connection on one event loop: the I/O core shared by its HTTP and WebSocket phases.
//
//   epoll ─▶ handleEvents ─▶ readAvailable ─▶ HTTP: RequestParser ─▶ router ─▶ response
//                                         └─▶ WebSocket: WebSocketParser ─▶ handler
//   send ─▶ OutputQueue ─▶ (end of tick) flushQueuedOutput ─▶ transport.write (writev / SSL_write)
//   timers: one per connection, re-armed lazily when its deadline moves
//
// Closing is explicit: `closeGracefully` (flush, FIN, drain the peer for closeTimeout, close)
// avoids the RST that would destroy a final response or close frame still in flight;
// `abort` closes at once.
import HTTP1
import HubBytes
import Reactor
import WebSocket

public final class Connection: IOHandler {
    public let fd: Int32
    public let peer: String
    let context: LoopContext
    let transport: StreamTransport
    /// Accepted on the TLS listener.
    let isTLS: Bool

    enum Phase {
        case http
        case webSocket
        /// Output flushed up to our FIN; reading and discarding until the peer's EOF or the timeout.
        case lingering
        case closed
    }

    var phase: Phase = .http
    /// The HTTP phase's parser, out of line (about 200 bytes with its buffer): an upgraded
    /// connection lets it go, so an idle subscriber does not carry it for its whole life.
    var reader: HTTPReader?
    var webSocket: WebSocketSession?
    /// An HTTP exchange answered later or streamed (long-poll, SSE).
    var exchange: Exchange?
    var output = OutputQueue()

    private var flushRequested = false
    private var interest: UInt32 = IOEvents.readable
    /// The last flush stopped on a full socket: wait for EPOLLOUT (armed only then, so a
    /// connection whose writes complete costs no epoll_ctl per message).
    private var writeBlocked = false
    /// The last read stopped because TLS must write first (WANT_WRITE): read again on EPOLLOUT.
    private var readWaitsForWritable = false
    /// Close gracefully once the output queue is empty.
    var closeAfterFlush = false
    /// Reading paused because the peer is not reading our responses.
    var readPaused = false

    /// `.exchange`: a long-poll, SSE stream or deferred answer is open; it bounds its own time
    /// (and a hang-up cancels it), so the request-head deadline must not cut it off.
    enum Deadline { case requestHead, requestBody, keepAlive, exchange, webSocketIdle, webSocketPong, closing }
    var deadlineKind: Deadline = .requestHead
    var deadline: UInt64 = 0
    private var timer: (id: TimerQueue.TimerID, at: UInt64)?

    static let exchangeDeadlineMs = 86_400_000

    init(context: LoopContext, transport: StreamTransport, peer: String) {
        self.context = context
        self.transport = transport
        self.isTLS = !(transport is TCPTransport)
        self.fd = transport.fd
        self.peer = peer
        self.reader = HTTPReader(RequestParser(limits: context.config.http))
    }

    var loop: EventLoop { context.loop }
    var config: ServerConfig { context.config }
    var stats: ServerStats { context.shared.stats }

    func start() {
        setDeadline(.requestHead, afterMs: config.headerTimeoutMs)
    }

    // MARK: events

    public func handleEvents(_ events: UInt32) {
        if phase == .closed { return }
        if events & IOEvents.writable != 0 {
            flushQueuedOutput()
            // TLS: a handshake or read that waited for writability (WANT_WRITE) can continue now.
            if readWaitsForWritable && phase != .closed {
                readWaitsForWritable = false
                readAvailable()
            }
            if phase == .closed { return }
        }
        if readPaused && events & (IOEvents.hangup | IOEvents.error | IOEvents.readHangup) != 0 {
            // Not reading, but the peer is gone: cancel what waits for it.
            abort()
            return
        }
        if events & (IOEvents.readable | IOEvents.hangup | IOEvents.error | IOEvents.readHangup) != 0 {
            readAvailable()
        }
    }

    /// Reads until the socket is empty (bounded per event for fairness, except for bytes TLS
    /// already holds, which epoll would never report again).
    func readAvailable() {
        var reads = 0
        let buffer = loop.receiveBuffer
        while phase != .closed && !readPaused && (reads < 8 || transport.hasBufferedInput) {
            switch transport.read(into: buffer) {
            case .bytes(let n):
                reads += 1
                stats.bytesReceived.add(n, ordering: .relaxed)
                received(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                // A short read drained the socket: skip the read that would only say EAGAIN
                // (level-triggered epoll reports anything that arrives later).
                if n < buffer.count && !transport.hasBufferedInput {
                    if !output.isEmpty { requestFlush() }
                    return
                }
            case .wouldBlock:
                readWaitsForWritable = transport.needsWritable
                updateInterest()
                if !output.isEmpty { requestFlush() }
                return
            case .closed:
                peerClosed()
                return
            case .failed:
                if !(transport is TCPTransport) { stats.tlsHandshakesFailed.add(1, ordering: .relaxed) }
                abort()
                return
            }
        }
        if !output.isEmpty { requestFlush() }
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        switch phase {
        case .http: receivedHTTP(bytes)
        case .webSocket: receivedWebSocket(bytes)
        case .lingering, .closed: break
        }
    }

    private func peerClosed() {
        switch phase {
        case .webSocket:
            // TCP dropped without a close handshake: 1006 locally (RFC 6455 §7.1.5).
            finishWebSocket(code: nil)
            abort()
        case .http where !output.isEmpty:
            // Half-closed by the client after its last request: still deliver the responses.
            closeAfterFlush = true
            requestFlush()
        default:
            abort()
        }
    }

    // MARK: output

    /// Queues bytes for the end-of-tick flush.
    func enqueue(_ bytes: OutboundBytes) {
        guard phase != .closed && phase != .lingering else { return }
        output.append(bytes)
        requestFlush()
    }

    private func requestFlush() {
        guard !flushRequested, phase != .closed else { return }
        flushRequested = true
        loop.requestFlush(self)
    }

    public func flushQueuedOutput() {
        flushRequested = false
        guard phase != .closed else { return }
        while !output.isEmpty {
            switch transport.write(from: output, scratch: loop.writeScratch) {
            case .bytes(let n):
                if n == 0 { break }
                output.consume(n)
                stats.bytesSent.add(n, ordering: .relaxed)
            case .wouldBlock:
                // TLS waiting for the peer's bytes: the flush is retried after the next read.
                writeBlocked = !transport.writeNeedsReadable
                updateInterest()
                return
            case .closed, .failed:
                if phase == .webSocket { finishWebSocket(code: nil) }
                abort()
                return
            }
        }
        if writeBlocked { writeBlocked = false; updateInterest() }
        if readPaused && exchange == nil && output.queuedBytes <= config.outputLimitBytes {
            resumeReading()
            if phase == .closed { return }
        }
        if closeAfterFlush && output.isEmpty && phase != .lingering { linger() }
    }

    /// epoll interest: readable unless paused; writable while output waits or TLS needs it.
    private func updateInterest() {
        guard phase != .closed else { return }
        // While reading is paused, a hang-up is still reported (EPOLLRDHUP), so a waiting
        // long-poll or stream notices its client leaving.
        var wanted: UInt32 = readPaused ? IOEvents.readHangup : IOEvents.readable
        if writeBlocked || transport.needsWritable { wanted |= IOEvents.writable }
        if wanted != interest {
            interest = wanted
            loop.modify(fd, events: wanted)
        }
    }

    func pauseReading() {
        readPaused = true
        updateInterest()
    }

    func resumeReading() {
        guard readPaused else { return }
        readPaused = false
        updateInterest()
        readAvailable()
    }

    // MARK: closing

    /// Flushes, then closes gracefully.
    func closeGracefully() {
        closeAfterFlush = true
        // A peer that never reads what is left would hold the connection forever: bound it.
        if deadlineKind != .closing { setDeadline(.closing, afterMs: config.closeTimeoutMs) }
        if output.isEmpty { linger() } else { requestFlush() }
    }

    /// Sends FIN and keeps reading (discarding) until the peer closes or `closeTimeoutMs` passes,
    /// so unread input does not turn our close into a reset that destroys the last bytes sent.
    private func linger() {
        guard phase != .closed && phase != .lingering else { return }
        phase = .lingering
        readPaused = false
        transport.shutdownWrite()
        setDeadline(.closing, afterMs: config.closeTimeoutMs)
        updateInterest()
    }

    /// Closes now.
    public func abort() {
        guard phase != .closed else { return }
        if phase == .webSocket { finishWebSocket(code: nil) }
        if let exchange { self.exchange = nil; exchange.cancel() }
        phase = .closed
        if let timer { loop.cancelTimer(timer.id) }
        timer = nil
        output.removeAll()
        loop.deregister(fd)
        transport.close()
        context.connectionClosed(self)
    }

    /// Graceful shutdown: WebSockets get a close frame with `code`; idle HTTP connections close;
    /// busy ones finish their request and then close.
    func drain(code: CloseCode) {
        switch phase {
        case .webSocket: close(code, reason: code == .serviceRestart ? "server restarting, reconnect" : "server shutting down")
        case .http:
            if let exchange {
                // A waiting long-poll or stream is told to wind down (its handler decides how).
                exchange.drain()
            } else if reader?.parser.isIdle ?? true {
                // Mid-request connections finish it: the response then says Connection: close.
                if output.isEmpty { abort() } else { closeAfterFlush = true }
            }
        case .lingering, .closed: break
        }
    }

    // MARK: timers

    /// Moves the connection's single deadline; the timer is re-armed only if it would fire too late.
    func setDeadline(_ kind: Deadline, afterMs ms: Int) {
        deadlineKind = kind
        deadline = loop.now + UInt64(ms) * 1_000_000
        if let timer, timer.at <= deadline { return }
        if let timer { loop.cancelTimer(timer.id) }
        armTimer(at: deadline)
    }

    private func armTimer(at when: UInt64) {
        let id = loop.scheduleTimer(at: when) { [weak self] in self?.timerFired() }
        timer = (id, when)
    }

    private func timerFired() {
        timer = nil
        guard phase != .closed else { return }
        if loop.now < deadline { armTimer(at: deadline); return }
        deadlineExpired(deadlineKind)
    }

    private func deadlineExpired(_ kind: Deadline) {
        switch kind {
        case .requestHead, .requestBody:
            // A connection that sent nothing (or never finished its TLS handshake) just closes.
            if kind == .requestHead && !hasPartialRequest {
                abort()
            } else {
                let what = kind == .requestHead ? "request head" : "request body"
                respondWithError(HTTPError(408, "request_timeout", "\(what) not received in time"))
            }
        case .keepAlive:
            abort()
        case .exchange:
            // Still open a day later: whatever it waits for is not coming; re-arm rather than cut.
            setDeadline(.exchange, afterMs: Self.exchangeDeadlineMs)
        case .webSocketIdle:
            sendControl(.ping, payload: [])
            setDeadline(.webSocketPong, afterMs: config.webSocketPongTimeoutMs)
        case .webSocketPong:
            close(.goingAway, reason: "no answer to ping")
            // A peer that stopped answering will not complete the close handshake either.
            setDeadline(.closing, afterMs: config.closeTimeoutMs)
        case .closing:
            abort()
        }
    }

    /// Whether any byte of a request has arrived (a silent connection just closes on timeout).
    var hasPartialRequest: Bool { !(reader?.parser.isIdle ?? true) }
}

/// A connection's HTTP request parser, in a box of its own so the connection can drop it.
final class HTTPReader {
    var parser: RequestParser
    init(_ parser: RequestParser) { self.parser = parser }
}
