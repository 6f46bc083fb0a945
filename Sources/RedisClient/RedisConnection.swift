// One connection to a Redis server on an event loop, speaking RESP3 (`HELLO 3` first): commands
// are pipelined (written as they come, answered in order), and out-of-band pushes (sharded
// pub/sub messages, subscribe confirmations) go to `onPush`. Loop-confined: create and use it on
// its loop's thread. Reconnecting, back-off and cluster routing belong to the layer above
// (issue #11); a connection that ends fails every command still waiting, and says why once.
//
//   send(command) ─▶ queued reply handler ─▶ bytes on the socket (corked per tick)
//   bytes in ─▶ RESPParser ─▶ push?  ─▶ onPush
//                           └▶ reply ─▶ the oldest waiting handler (FIFO)
import HTTPClient
import HubBytes
import RESP
import Reactor
import TLS

public enum RedisError: Error, Sendable, Equatable {
    /// The server answered with an error reply (`-ERR …`, `!…`): the connection goes on.
    case server(String)
    /// The connection ended before the reply came: the command may or may not have run.
    case connectionClosed(String)
    /// No reply within the command timeout: the connection is closed (its replies are out of step).
    case timedOut
    case connectFailed(String)
}

public final class RedisConnection {
    public typealias Reply = (Result<RESPValue, RedisError>) -> Void

    public let loop: EventLoop
    private let socket: ClientSocket
    private var parser: RESPParser
    /// Handlers of commands sent, oldest first. `head` avoids an O(n) removeFirst per reply.
    private var waiting: [(reply: Reply, deadline: UInt64)] = []
    private var head = 0
    private let timeoutNs: UInt64
    private var timer: TimerQueue.TimerID?
    private var ended: String?

    /// Pushes: in RESP3, `(S)SUBSCRIBE` confirmations and every pub/sub message arrive here, not
    /// as replies (send those commands with `sendWithoutReply`).
    public var onPush: ((RESPValue) -> Void)?
    /// Once, when the connection ends: the reason in words.
    public var onClosed: ((String) -> Void)?

    /// Connects (non-blocking) and queues `HELLO 3` (with `AUTH` when `password` is set) ahead of
    /// anything sent later. `host` must be an IPv4 literal or "localhost".
    /// With `tls` the connection is `rediss://` (the context verifies the server's certificate
    /// against `serverName`).
    public init(loop: EventLoop, host: String, port: Int, user: String? = nil, password: String? = nil,
                tls: (context: TLSContext, serverName: String)? = nil,
                commandTimeoutMs: Int = 5_000, limits: RESPLimits = RESPLimits()) throws(RedisError) {
        self.loop = loop
        parser = RESPParser(limits: limits)
        timeoutNs = UInt64(commandTimeoutMs) * 1_000_000
        do {
            socket = try ClientSocket(loop: loop, endpoint: Endpoint(address: try ClientSocket.resolve(host), port: port, tls: tls))
        } catch {
            throw .connectFailed("\(host):\(port): \(error)")
        }
        // Weak: the loop keeps the socket registered, and its owner may let this connection go.
        socket.onBytes = { [weak self] bytes in self?.received(bytes) }
        socket.onClosed = { [weak self] reason in self?.end(reason ?? "the server closed the connection") }
        var hello = ["HELLO", "3"]
        if let password { hello += ["AUTH", user ?? "default", password] }
        send(hello.map { Array($0.utf8) }) { [weak self] result in
            // Without RESP3 pushes would be mistaken for replies: nothing else may go on.
            if case .failure(let error) = result { self?.close(reason: "HELLO 3 refused: \(error)") }
        }
    }

    /// A connection nobody holds any more closes its socket (the loop would keep it open) and
    /// fails what still waits, so no caller waits forever.
    deinit {
        socket.close(reason: "released")
        end("the connection was released by its owner")
    }

    /// Sends a command; `reply` runs on the loop with its answer.
    public func send(_ command: [[UInt8]], reply: @escaping Reply) {
        if let ended { return reply(.failure(.connectionClosed(ended))) }
        waiting.append((reply, loop.now + timeoutNs))
        socket.send(OutboundBytes(copying: RESPEncoder.command(command)))
        armTimer()
    }

    public func send(_ parts: String..., reply: @escaping Reply) { send(parts.map { Array($0.utf8) }, reply: reply) }

    /// For commands answered by pushes only (`SSUBSCRIBE`, `SUNSUBSCRIBE`, `SUBSCRIBE` in RESP3).
    public func sendWithoutReply(_ command: [[UInt8]]) {
        guard ended == nil else { return }
        socket.send(OutboundBytes(copying: RESPEncoder.command(command)))
    }

    /// Commands sent and not yet answered.
    public var pendingReplies: Int { waiting.count - head }

    public var isClosed: Bool { ended != nil }

    public func close(reason: String = "closed by the client") {
        socket.close(reason: reason)    // ends through onClosed → end(_:)
        end(reason)
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        parser.feed(bytes)
        do {
            while ended == nil, let value = try parser.next() {
                if case .push = value { onPush?(value); continue }
                guard head < waiting.count else { return close(reason: "a reply nobody asked for: \(value)") }
                let handler = waiting[head].reply
                head += 1
                if head == waiting.count { waiting.removeAll(keepingCapacity: waiting.count <= 1024); head = 0 }
                if let message = value.errorMessage { handler(.failure(.server(message))) } else { handler(.success(value)) }
            }
        } catch {
            close(reason: "the server's reply does not parse: \(error)")
        }
    }

    /// One timer for the oldest waiting command (later ones have later deadlines).
    private func armTimer() {
        guard timer == nil, head < waiting.count else { return }
        timer = loop.scheduleTimer(at: waiting[head].deadline) { [weak self] in
            guard let self else { return }
            timer = nil
            guard head < waiting.count else { return }
            if waiting[head].deadline <= loop.now {
                end("no reply within \(timeoutNs / 1_000_000) ms", timedOut: true)
                socket.close(reason: "timed out")
            } else {
                armTimer()
            }
        }
    }

    private func end(_ reason: String, timedOut: Bool = false) {
        guard ended == nil else { return }
        ended = reason
        if let timer { loop.cancelTimer(timer) }
        timer = nil
        let failed = waiting[head...]
        waiting = []
        head = 0
        for (index, entry) in failed.enumerated() {
            entry.reply(.failure(timedOut && index == 0 ? .timedOut : .connectionClosed(reason)))
        }
        let done = onClosed
        onClosed = nil
        onPush = nil
        done?(reason)
    }
}
