// An async HTTP/1.1 client on the project's reactor: keep-alive pool per host, a deadline per
// request, cancellation that closes the connection. Used by the engine client (REST v2, OAuth)
// and by the demo; it shares the HTTP/1.1 codec with the server.
//
//   execute(request) ─▶ [resolve host] ─▶ loop: idle connection for host:port, or connect
//                    ─▶ write request ─▶ ResponseParser ─▶ response ─▶ back to the pool (keep-alive)
//
// Retries are the caller's decision (the engine client knows which calls are idempotent); the
// client itself retries nothing.
import HTTP1
import HubBytes
import Reactor
import Synchronization
import TLS

/// One request to send.
public struct ClientRequest: Sendable {
    public var method: String
    public var url: ClientURL
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String, url: ClientURL, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
    }

    func encoded() -> OutboundBytes {
        var head = "\(method) \(url.target) HTTP/1.1\r\nHost: \(url.hostHeader)\r\n"
        var hasLength = false, hasUA = false
        for (name, value) in headers {
            head += "\(name): \(value)\r\n"
            if name.lowercased() == "content-length" { hasLength = true }
            if name.lowercased() == "user-agent" { hasUA = true }
        }
        if !hasLength && (!body.isEmpty || ["POST", "PUT", "PATCH"].contains(method)) { head += "Content-Length: \(body.count)\r\n" }
        if !hasUA { head += "User-Agent: affinity-hub-client\r\n" }
        head += "\r\n"
        let headBytes = head.utf8.count
        return OutboundBytes(capacity: headBytes + body.count) { buf in
            var head = head
            head.withUTF8 { buf.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: headBytes) }
            body.withUnsafeBytes { if let src = $0.baseAddress, !body.isEmpty { (buf.baseAddress! + headBytes).copyMemory(from: src, byteCount: body.count) } }
            return headBytes + body.count
        }
    }
}

/// An HTTP/1.1 client with a keep-alive pool; safe to share between tasks.
public final class HTTPClient: Sendable {
    public let loop: EventLoop
    private let pool: ConnectionPool
    /// Idle keep-alive connections kept per host:port.
    public let maxIdlePerHost: Int
    /// Largest response body accepted.
    public let maxResponseBytes: Int

    private let tls: ClientTLS
    /// Asked with each resolved IPv4 address before connecting: a reason refuses it. The address
    /// checked is the one connected to, so a name that resolves elsewhere later changes nothing.
    private let addressCheck: (@Sendable (_ address: String) -> String?)?

    /// `caFile`: PEM certificates to trust for https (default: the system's trust store).
    public init(loop: EventLoop = ClientLoop.shared, caFile: String? = nil, maxIdlePerHost: Int = 16, maxResponseBytes: Int = 64 << 20,
                addressCheck: (@Sendable (_ address: String) -> String?)? = nil) {
        self.addressCheck = addressCheck
        self.loop = loop
        self.tls = ClientTLS(caFile: caFile)
        self.pool = ConnectionPool(loop: loop)
        self.maxIdlePerHost = maxIdlePerHost
        self.maxResponseBytes = maxResponseBytes
    }

    /// Sends `request` and returns the response, or throws `HTTPClientError`. `timeout` covers
    /// connect, write and the whole response.
    public func execute(_ request: ClientRequest, timeout: Duration = .seconds(30)) async throws -> ClientResponse {
        let endpoint = try await tls.endpoint(for: request.url)
        if let reason = addressCheck?(endpoint.address) { throw HTTPClientError.refused(reason) }
        let ms = timeout.wholeMilliseconds
        let handle = RequestHandle()
        let pool = self.pool, maxIdle = maxIdlePerHost, maxBytes = maxResponseBytes, loop = self.loop
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ClientResponse, Error>) in
                loop.execute {
                    pool.start(request, endpoint: endpoint, timeoutMs: ms, maxIdle: maxIdle, maxBytes: maxBytes, handle: handle) { result in
                        continuation.resume(with: result)
                    }
                }
            }
        } onCancel: {
            loop.execute { handle.cancel() }
        }
    }

    /// Convenience: a request with a JSON body.
    public func send(_ method: String, _ url: ClientURL, headers: [(String, String)] = [], json: String? = nil, timeout: Duration = .seconds(30)) async throws -> ClientResponse {
        var h = headers
        if json != nil { h.append(("Content-Type", "application/json")) }
        h.append(("Accept", "application/json"))
        return try await execute(ClientRequest(method: method, url: url, headers: h, body: json.map { Array($0.utf8) } ?? []), timeout: timeout)
    }
}

/// Cancels one in-flight request on its loop.
final class RequestHandle: @unchecked Sendable {
    // @unchecked Sendable: `cancelAction` is set and called only on the client's loop (inside
    // `loop.execute`); other threads only pass the reference along.
    var cancelAction: (() -> Void)?
    var cancelledEarly = false

    func cancel() {
        if let cancelAction { cancelAction() } else { cancelledEarly = true }
    }
}

/// Idle connections by host:port. Loop-confined.
final class ConnectionPool: @unchecked Sendable {
    // @unchecked Sendable: every member is used only inside `loop.execute` closures, on the loop.
    /// An idle connection is closed after this long: below the keep-alive timeout of common servers
    /// (Node 5 s, nginx 75 s, this hub 30 s), so a request never races the server's own idle close.
    static let idleTimeoutMs = 4_000
    let loop: EventLoop
    private var idle: [String: [PooledConnection]] = [:]

    init(loop: EventLoop) { self.loop = loop }

    func start(_ request: ClientRequest, endpoint: Endpoint, timeoutMs: Int, maxIdle: Int, maxBytes: Int, handle: RequestHandle,
               completion: @escaping (Result<ClientResponse, Error>) -> Void) {
        if handle.cancelledEarly { completion(.failure(HTTPClientError.cancelled)); return }
        let key = "\(endpoint.tls?.serverName ?? "")@\(endpoint.address):\(endpoint.port)"
        var connection: PooledConnection?
        while let c = idle[key]?.popLast() {
            if !c.socket.closed { connection = c; break }
        }
        if connection == nil {
            do { connection = PooledConnection(socket: try ClientSocket(loop: loop, endpoint: endpoint)) } catch {
                completion(.failure(error))
                return
            }
        }
        let c = connection!
        c.run(request, timeoutMs: timeoutMs, maxBytes: maxBytes, handle: handle) { [weak self] result, reusable in
            if reusable, let self {
                var list = self.idle[key] ?? []
                list.removeAll { $0.socket.closed }
                if list.count < maxIdle { list.append(c); c.parkIdle(forMs: Self.idleTimeoutMs) } else { c.socket.close(reason: "pool full") }
                self.idle[key] = list
            }
            completion(result)
        }
    }
}

/// One keep-alive connection: one request at a time. Loop-confined.
final class PooledConnection {
    let socket: ClientSocket
    private var parser = ResponseParser()
    private var done: ((Result<ClientResponse, Error>, Bool) -> Void)?
    private var timer: TimerQueue.TimerID?

    init(socket: ClientSocket) { self.socket = socket }

    func run(_ request: ClientRequest, timeoutMs: Int, maxBytes: Int, handle: RequestHandle, completion: @escaping (Result<ClientResponse, Error>, Bool) -> Void) {
        idleSince = 0
        parser = ResponseParser(maxBodyBytes: maxBytes)
        parser.expectsNoBody = request.method == "HEAD"
        done = completion
        handle.cancelAction = { [weak self] in self?.finish(.failure(HTTPClientError.cancelled), reusable: false) }
        timer = socket.loop.scheduleTimer(afterMilliseconds: timeoutMs) { [weak self] in
            self?.timer = nil
            self?.finish(.failure(HTTPClientError.timedOut), reusable: false)
        }
        let wasConnected = socket.connected
        socket.onBytes = { [weak self] bytes in self?.received(bytes) }
        socket.onClosed = { [weak self] reason in
            guard let self else { return }
            if reason == nil, case .response(let r) = self.parser.finishAtClose() {
                self.finish(.success(r), reusable: false)
            } else if !wasConnected && !self.socket.connected {
                self.finish(.failure(HTTPClientError.connectFailed(reason ?? "closed")), reusable: false)
            } else {
                self.finish(.failure(HTTPClientError.connectionClosed(reason ?? "the server closed the connection before answering")), reusable: false)
            }
        }
        socket.send(request.encoded())
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard done != nil else {
            // Bytes on an idle connection: nothing was asked, so the connection is unusable.
            socket.close(reason: "unsolicited bytes")
            return
        }
        parser.feed(bytes)
        switch parser.next() {
        case .needMore: break
        case .response(let r): finish(.success(r), reusable: r.keepAlive && parser.bufferedCount == 0)
        case .failure(let e): finish(.failure(HTTPClientError.badResponse(e.message)), reusable: false)
        }
    }

    /// Idle in the pool: a close by the server just ends the socket; so does `forMs` without use.
    func parkIdle(forMs ms: Int) {
        socket.onClosed = nil
        idleSince = socket.loop.now
        let parkedAt = idleSince
        _ = socket.loop.scheduleTimer(afterMilliseconds: ms) { [weak self] in
            guard let self, self.done == nil, self.idleSince == parkedAt else { return }
            self.socket.close(reason: "idle")
        }
    }

    private var idleSince: UInt64 = 0

    private func finish(_ result: Result<ClientResponse, Error>, reusable: Bool) {
        guard let done else { return }
        self.done = nil
        if let timer { socket.loop.cancelTimer(timer); self.timer = nil }
        if !reusable { socket.close(reason: "done") }
        done(result, reusable)
    }
}

/// The client TLS context, made on first https use (loading a trust store costs milliseconds).
final class ClientTLS: Sendable {
    let caFile: String?
    private let context = Mutex<TLSContext?>(nil)

    init(caFile: String?) { self.caFile = caFile }

    /// Resolves `url`'s host and, for https/wss, attaches the TLS context and server name.
    func endpoint(for url: ClientURL) async throws -> Endpoint {
        let address = try ClientSocket.resolve(url.host)
        guard url.isSecure else { return Endpoint(address: address, port: url.port) }
        let ctx = try context.withLock { c -> TLSContext in
            if let c { return c }
            do {
                let made = try TLSContext(clientTrusting: caFile)
                c = made
                return made
            } catch {
                throw HTTPClientError.connectFailed("TLS setup: \(error)")
            }
        }
        return Endpoint(address: address, port: url.port, tls: (ctx, url.host))
    }
}
