// An outgoing WebSocket (RFC 6455 client role) on the reactor, built from the server's codecs:
// masked frames out, unmasked frames in, the same parser limits. Events arrive on an AsyncStream.
//
//   connect(url) ─▶ GET + Upgrade ─▶ 101 + Sec-WebSocket-Accept checked ─▶ .text/.binary events
//   send(text) ─▶ masked frame        server ping ─▶ pong        close ─▶ close handshake ─▶ .closed
import HTTP1
import HubBytes
import Reactor
import WebSocket

/// What a client WebSocket receives.
public enum WebSocketClientEvent: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
    /// The connection ended: the peer's close code (nil when none came) and reason.
    case closed(code: UInt16?, reason: String)
}

/// An open client WebSocket: send from any task, read `events`.
public final class WebSocketClient: Sendable {
    public let events: AsyncStream<WebSocketClientEvent>
    public let subprotocol: String?
    private let loop: EventLoop
    private let handler: WebSocketClientHandler

    init(events: AsyncStream<WebSocketClientEvent>, subprotocol: String?, loop: EventLoop, handler: WebSocketClientHandler) {
        self.events = events; self.subprotocol = subprotocol; self.loop = loop; self.handler = handler
    }

    /// Opens a WebSocket to `url` (ws://), offering `subprotocols`. Throws if the upgrade fails.
    public static func connect(_ url: ClientURL, subprotocols: [String] = [], headers: [(String, String)] = [],
                               timeout: Duration = .seconds(10), caFile: String? = nil, loop: EventLoop = ClientLoop.shared) async throws -> WebSocketClient {
        let endpoint = try await ClientTLS(caFile: caFile).endpoint(for: url)
        let (stream, continuation) = AsyncStream<WebSocketClientEvent>.makeStream(bufferingPolicy: .unbounded)
        let ms = timeout.wholeMilliseconds
        let handler = WebSocketClientHandler(continuation: continuation)
        let subprotocol: String? = try await withCheckedThrowingContinuation { (opened: CheckedContinuation<String?, Error>) in
            loop.execute {
                handler.start(loop: loop, endpoint: endpoint, url: url, subprotocols: subprotocols, headers: headers, timeoutMs: ms) { result in
                    opened.resume(with: result)
                }
            }
        }
        return WebSocketClient(events: stream, subprotocol: subprotocol, loop: loop, handler: handler)
    }

    public func send(text: String) {
        let handler = self.handler
        loop.execute { handler.send(.text, Array(text.utf8)) }
    }

    public func ping() {
        let handler = self.handler
        loop.execute { handler.send(.ping, []) }
    }

    /// Starts the close handshake; the socket ends when the server answers (or after 2 s).
    public func close(code: UInt16 = 1000, reason: String = "") {
        let handler = self.handler
        loop.execute { handler.close(code: code, reason: reason) }
    }

    deinit {
        let handler = self.handler
        loop.execute { handler.close(code: 1001, reason: "client gone") }
    }
}

/// The connection's state on its loop.
final class WebSocketClientHandler: @unchecked Sendable {
    // @unchecked Sendable: every member but `continuation` (itself Sendable) is used only inside
    // `loop.execute` closures on the client's loop; `WebSocketClient` only posts to that loop.
    private let continuation: AsyncStream<WebSocketClientEvent>.Continuation
    private var socket: ClientSocket?
    private var parser = WebSocketParser(role: .client)
    private var handshake: [UInt8] = []
    private var open = false
    private var opened: ((Result<String?, Error>) -> Void)?
    private var expectedAccept = ""
    private var offered: [String] = []
    private var closeSent = false
    private var finished = false
    private var timer: TimerQueue.TimerID?
    private var mask: UInt32 = UInt32.random(in: 1...UInt32.max)

    init(continuation: AsyncStream<WebSocketClientEvent>.Continuation) { self.continuation = continuation }

    func start(loop: EventLoop, endpoint: Endpoint, url: ClientURL, subprotocols: [String], headers: [(String, String)], timeoutMs: Int,
               opened: @escaping (Result<String?, Error>) -> Void) {
        self.opened = opened
        offered = subprotocols
        let key = Base64.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        expectedAccept = Handshake.acceptValue(forKey: key)
        do {
            let s = try ClientSocket(loop: loop, endpoint: endpoint)
            socket = s
            s.onBytes = { [weak self] b in self?.received(b) }
            s.onClosed = { [weak self] reason in self?.ended(code: nil, reason: reason ?? "connection closed") }
            var head = "GET \(url.target) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
            if !subprotocols.isEmpty { head += "Sec-WebSocket-Protocol: \(subprotocols.joined(separator: ", "))\r\n" }
            for (n, v) in headers { head += "\(n): \(v)\r\n" }
            s.send(OutboundBytes(head + "\r\n"))
            timer = loop.scheduleTimer(afterMilliseconds: timeoutMs) { [weak self] in
                guard let self, !self.open else { return }
                self.fail(HTTPClientError.timedOut)
            }
        } catch {
            opened(.failure(error))
            self.opened = nil
            continuation.finish()
        }
    }

    private func fail(_ error: Error) {
        if let opened { self.opened = nil; opened(.failure(error)) }
        socket?.close(reason: "\(error)")
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        if open { consume(bytes); return }
        handshake.append(contentsOf: bytes)
        guard let end = MultipartForm.find([13, 10, 13, 10], in: handshake, from: 0) else {
            if handshake.count > 16 * 1024 { fail(HTTPClientError.badResponse("handshake response too large")) }
            return
        }
        var rp = ResponseParser()
        rp.feed(handshake[0..<(end + 4)])
        guard case .response(let r) = rp.next() else { fail(HTTPClientError.badResponse("malformed handshake response")); return }
        guard r.status == 101 else {
            // Read the refusal's JSON body if it came along, for the error message.
            let body = String(decoding: handshake[(end + 4)...], as: UTF8.self)
            fail(HTTPClientError.badResponse("upgrade refused with \(r.status) \(body)"))
            return
        }
        guard r.headers["Sec-WebSocket-Accept"] == expectedAccept else { fail(HTTPClientError.badResponse("wrong Sec-WebSocket-Accept")); return }
        let chosen = r.headers["Sec-WebSocket-Protocol"]
        if let chosen, !offered.contains(chosen) { fail(HTTPClientError.badResponse("server chose a subprotocol not offered: \(chosen)")); return }
        open = true
        if let timer, let loop = socket?.loop { loop.cancelTimer(timer); self.timer = nil }
        let rest = Array(handshake[(end + 4)...])
        handshake = []
        opened?(.success(chosen))
        opened = nil
        if !rest.isEmpty { rest.withUnsafeBytes { consume($0) } }
    }

    private func consume(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while !finished {
            switch parser.next(bytes, offset: &offset) {
            case .needMore: return
            case .message(let kind, let payload):
                continuation.yield(kind == .text ? .text(String(decoding: payload, as: UTF8.self)) : .binary(payload))
            case .ping(let p): send(.pong, p)
            case .pong: break
            case .close(let code, let reason):
                if !closeSent { closeSent = true; socket?.send(FrameEncoder.close(code, reason: "", mask: nextMask())) }
                ended(code: code?.rawValue, reason: reason)
                socket?.close(reason: nil)
                return
            case .violation(let code, let reason):
                if !closeSent { closeSent = true; socket?.send(FrameEncoder.close(code, reason: reason, mask: nextMask())) }
                ended(code: code.rawValue, reason: "protocol violation: \(reason)")
                socket?.close(reason: nil)
                return
            }
        }
    }

    private func nextMask() -> UInt32 {
        mask = mask &* 1_664_525 &+ 1_013_904_223
        return mask
    }

    func send(_ opcode: Opcode, _ payload: [UInt8]) {
        guard open, !closeSent, let socket else { return }
        socket.send(FrameEncoder.frame(opcode, payload: payload, mask: nextMask()))
    }

    func close(code: UInt16, reason: String) {
        guard let socket, !finished else { return }
        guard open, !closeSent else { socket.close(reason: nil); return }
        closeSent = true
        socket.send(FrameEncoder.close(CloseCode(rawValue: code), reason: reason, mask: nextMask()))
        _ = socket.loop.scheduleTimer(afterMilliseconds: 2000) { [weak self] in self?.socket?.close(reason: nil) }
    }

    private func ended(code: UInt16?, reason: String) {
        guard !finished else { return }
        finished = true
        if let opened { self.opened = nil; opened(.failure(HTTPClientError.connectionClosed(reason))) }
        continuation.yield(.closed(code: code, reason: reason))
        continuation.finish()
    }
}
