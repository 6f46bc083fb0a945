// The WebSocket phase of a connection: parse frames, answer pings, run the close handshake,
// compress outgoing messages with the loop's shared deflater, and enforce the output limit.
import HTTP1
import HubBytes
import WebSocket

/// What happened to a message handed to `send`.
public enum SendResult: Sendable, Equatable {
    case queued
    /// The connection is closing or closed; nothing was queued.
    case closed
    /// The peer is not reading: the output limit was exceeded and the connection is being closed with 1008.
    case slowConsumer
}

extension Connection {
    func upgrade(_ accepted: AcceptedHandshake, handler: WebSocketHandler, leftover: [UInt8]) {
        var inflater: Inflater?
        if let deflate = accepted.deflate {
            inflater = deflate.clientNoContextTakeover
                ? context.sharedInflater(windowBits: deflate.clientMaxWindowBits)
                : Inflater(windowBits: deflate.clientMaxWindowBits, resetPerMessage: false)
        }
        webSocket = WebSocketSession(parser: WebSocketParser(role: .server, limits: config.webSocket, inflater: inflater),
                                     deflate: accepted.deflate, handler: handler, subprotocol: accepted.subprotocol)
        phase = .webSocket
        // The HTTP parser is done for good.
        reader = nil
        stats.webSocketsOpen.add(1, ordering: .relaxed)
        setDeadline(.webSocketIdle, afterMs: config.webSocketIdleMs)
        handler.webSocketDidOpen(self)
        if !leftover.isEmpty && phase == .webSocket {
            leftover.withUnsafeBytes { receivedWebSocket($0) }
        }
    }

    /// The subprotocol agreed in the handshake.
    public var subprotocol: String? { webSocket?.subprotocol }

    func receivedWebSocket(_ bytes: UnsafeRawBufferPointer) {
        guard webSocket != nil else { return }
        if deadlineKind != .closing { setDeadline(.webSocketIdle, afterMs: config.webSocketIdleMs) }
        var offset = 0
        while phase == .webSocket, webSocket != nil {
            let event = webSocket!.parser.next(bytes, offset: &offset)
            switch event {
            case .needMore:
                return
            case .message(let kind, let payload):
                if webSocket!.closeSent { continue }
                stats.messagesReceived.add(1, ordering: .relaxed)
                webSocket!.handler.webSocket(self, didReceive: kind, payload)
            case .ping(let payload):
                if !webSocket!.closeSent { sendControl(.pong, payload: payload) }
            case .pong:
                break
            case .close(let code, let reason):
                receivedClose(code, reason)
            case .violation(let code, let reason):
                stats.protocolViolations.add(1, ordering: .relaxed)
                close(code, reason: reason)
                // The parser discards whatever follows; stop reading it as protocol.
                return
            }
        }
    }

    private func receivedClose(_ code: CloseCode?, _ reason: String) {
        webSocket!.closeReceived = true
        if !webSocket!.closeSent {
            // Echo the peer's code (RFC 6455 §5.5.1); an empty close is answered with an empty close.
            webSocket!.closeSent = true
            enqueue(FrameEncoder.close(code))
            stats.countClose(code?.rawValue ?? 1005)
        }
        finishWebSocket(code: code)
        // The server closes the TCP connection first (RFC 6455 §7.1.1) once the close frame is out.
        closeGracefully()
    }

    /// Starts the closing handshake with `code` (or answers a violation with it).
    public func close(_ code: CloseCode, reason: String = "") {
        guard phase == .webSocket, let session = webSocket else { return }
        if !session.closeSent {
            session.closeSent = true
            enqueue(FrameEncoder.close(code, reason: reason))
            stats.countClose(code.rawValue)
        }
        if code != .normal && code != .goingAway && code != .serviceRestart {
            // We failed the connection: no need to wait for the peer's close frame.
            finishWebSocket(code: code)
            closeGracefully()
        } else {
            setDeadline(.closing, afterMs: config.closeTimeoutMs)
        }
    }

    /// Tells the handler once that the WebSocket is over.
    func finishWebSocket(code: CloseCode?) {
        guard let session = webSocket, !session.finished else { return }
        session.finished = true
        stats.webSocketsOpen.subtract(1, ordering: .relaxed)
        session.handler.webSocketDidClose(self, code: code)
    }

    func sendControl(_ opcode: Opcode, payload: [UInt8]) {
        enqueue(FrameEncoder.frame(opcode, payload: payload))
    }

    /// Sends a data message, compressed when permessage-deflate is on and it is large enough.
    @discardableResult
    public func send(_ kind: MessageKind, _ payload: [UInt8]) -> SendResult {
        payload.withUnsafeBytes { send(kind, $0) }
    }

    @discardableResult
    public func send(_ kind: MessageKind, _ payload: UnsafeRawBufferPointer) -> SendResult {
        guard phase == .webSocket, let session = webSocket, !session.closeSent else { return .closed }
        if output.queuedBytes > config.outputLimitBytes { return slowConsumer() }
        let frame: OutboundBytes
        if let deflate = session.deflate, deflate.compressesOutgoing, payload.count >= config.deflate.compressionThreshold {
            let compressed = context.sharedDeflater(windowBits: deflate.serverMaxWindowBits).compressMessage(payload)
            frame = compressed.withUnsafeBytes { FrameEncoder.frame(kind.opcode, payload: $0, rsv1: true) }
        } else {
            frame = FrameEncoder.frame(kind.opcode, payload: payload)
        }
        enqueue(frame)
        stats.messagesSent.add(1, ordering: .relaxed)
        return .queued
    }

    /// Queues a frame encoded once for many connections (fan-out). The frame must be uncompressed
    /// (a compressed variant needs the peer to have negotiated permessage-deflate).
    @discardableResult
    public func sendPrepared(_ frame: OutboundBytes) -> SendResult {
        guard phase == .webSocket, let session = webSocket, !session.closeSent else { return .closed }
        if output.queuedBytes > config.outputLimitBytes { return slowConsumer() }
        enqueue(frame)
        stats.messagesSent.add(1, ordering: .relaxed)
        return .queued
    }

    private func slowConsumer() -> SendResult {
        stats.slowConsumersClosed.add(1, ordering: .relaxed)
        close(.policyViolation, reason: "output buffer limit exceeded: the client is not reading")
        return .slowConsumer
    }
}
