// An HTTP request answered later or as a stream (long-poll, SSE, a publish that waits for the
// disk). While an exchange is open its connection reads nothing more (pipelined requests wait
// their turn), but still notices the peer hanging up, which cancels the exchange.
//
//   handler(request, exchange) ─▶ exchange.respond(response)          one answer, then the next request
//                              └▶ exchange.startStream(...) ─▶ send(chunk)* ─▶ finish()   chunked body
import HTTP1
import HubBytes

public final class Exchange {
    public let request: HTTPRequest
    weak var connection: Connection?
    let keepAlive: Bool
    public private(set) var isFinished = false
    /// The client's address (for per-address limits); empty once the connection is gone.
    public var peerAddress: String { connection?.peer ?? "" }
    private var streaming = false
    /// Called once if the connection goes away before the exchange finished.
    public var onCancel: (() -> Void)?
    /// Called when the server starts draining; by default the exchange is answered 503.
    public var onDrain: (() -> Void)?

    init(request: HTTPRequest, connection: Connection, keepAlive: Bool) {
        self.request = request
        self.connection = connection
        self.keepAlive = keepAlive
    }

    /// The loop this exchange lives on (for timers).
    public var loopContext: LoopContext? { connection?.context }

    /// Sends the one response and lets the connection go on with the next request.
    public func respond(_ response: HTTPResponse) {
        guard !isFinished, !streaming, let connection else { return }
        isFinished = true
        connection.finishExchange(self, response: response)
    }

    /// Sends the response head with a chunked body; follow with `send` and `finish`.
    public func startStream(status: Int = 200, headers: [(String, String)]) {
        guard !isFinished, !streaming, let connection else { return }
        streaming = true
        var h = headers
        h.append(("Transfer-Encoding", "chunked"))
        connection.enqueue(connection.encode(HTTPResponse(status: status, headers: h), keepAlive: keepAlive, headOnly: true))
    }

    /// One chunk of a streamed body.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> SendResult {
        guard streaming, !isFinished, let connection else { return .closed }
        guard !bytes.isEmpty else { return .queued }
        if connection.output.queuedBytes > connection.config.outputLimitBytes {
            connection.stats.slowConsumersClosed.add(1, ordering: .relaxed)
            cancel()
            connection.abort()
            return .slowConsumer
        }
        let head = Array((String(bytes.count, radix: 16) + "\r\n").utf8)
        let total = head.count + bytes.count + 2
        connection.enqueue(OutboundBytes(capacity: total) { out in
            _ = out.initializeMemory(as: UInt8.self, from: head)
            _ = UnsafeMutableRawBufferPointer(rebasing: out[head.count...]).initializeMemory(as: UInt8.self, from: bytes)
            out[total - 2] = 13
            out[total - 1] = 10
            return total
        })
        return .queued
    }

    /// Ends a streamed body.
    public func finish() {
        guard streaming, !isFinished, let connection else { return }
        isFinished = true
        connection.enqueue(OutboundBytes("0\r\n\r\n"))
        connection.finishExchange(self, response: nil)
    }

    func drain() {
        if let onDrain { onDrain(); return }
        if streaming { finish() } else {
            respond(HTTPResponse(error: HTTPError(503, "draining", "server is shutting down", headers: [("Retry-After", "1")])))
        }
    }

    /// The connection closed first.
    func cancel() {
        guard !isFinished else { return }
        isFinished = true
        let action = onCancel
        onCancel = nil
        action?()
    }
}
