// `GET /v1/ws` (subprotocol `affinity.v1`): one WebSocket, many keys, for servers.
//
//   client → {"type":"subscribe","key":K,"after"?:N,"session"?:S,"token"?:T,"ref"?:R}
//            {"type":"unsubscribe","key":K}   {"type":"ack","key":K,"seq":N}
//            {"type":"publish","key":K,"status"?:…,"data"?:…,"id"?:…,"idempotencyKey"?:…,"ref"?:R}
//            {"type":"ping"}
//   server → {"type":"subscribed","key":K,"replayed":n}, then the outcomes  {"type":"outcome",…}
//            {"type":"unsubscribed","key":K}  {"type":"published",…receipt}  {"type":"pong"}
//            {"type":"error","code":C,"message":M,"key"?:K,"ref"?:R}  — the socket stays open
//
// A bad token or key fails that one request with a typed error; the other subscriptions go on.
// Messages beyond the rate limit are refused with `rate_limited`; a client refused for 3 s
// without a refusal-free second is closed with 1008 (`TokenBucket`).
import Auth
import HubBytes
import HubCore
import Reactor
import WebSocket

final class Multiplexer: WebSocketHandler, OutcomeSink {
    let hub: Hub
    let access: AccessPolicy
    let canPublish: Bool
    let handshakeToken: String?
    private weak var connection: Connection?
    private var subscriber: SubscriberRef?
    private var lastSeq: [OutcomeKey: UInt64] = [:]
    private var sessions: [OutcomeKey: String] = [:]
    /// Shared mode: subscribes waiting for the store's record of their session's ack (key → token).
    private var resuming: [OutcomeKey: UInt64] = [:]
    private var nextResume: UInt64 = 0
    private var bucket: TokenBucket

    init(hub: Hub, access: AccessPolicy, canPublish: Bool, token: String?, messagesPerSecond: Int) {
        self.hub = hub; self.access = access; self.canPublish = canPublish; self.handshakeToken = token
        bucket = TokenBucket(ratePerSecond: messagesPerSecond, burst: messagesPerSecond * 2)
    }

    func webSocketDidOpen(_ connection: Connection) {
        self.connection = connection
        let ref = hub.newSubscriber(onLoop: connection.context.loop.index)
        subscriber = ref
        connection.context.sinks[ref.id] = self
    }

    func deliver(_ shared: SharedOutcome) {
        let key = shared.outcome.key
        guard let connection, let last = lastSeq[key], shared.outcome.seq > last else { return }
        lastSeq[key] = shared.outcome.seq
        connection.sendPrepared(shared.textFrame)
    }

    func webSocket(_ connection: Connection, didReceive kind: MessageKind, _ payload: [UInt8]) {
        switch bucket.take(nowNs: connection.context.loop.now) {
        case .allowed: break
        case .refused:
            reply(error: "rate_limited", "more than \(bucket.ratePerSecond) messages per second", key: nil, ref: nil)
            return
        case .abusive:
            connection.close(.policyViolation, reason: "message rate limit exceeded for 3 s")
            return
        }
        guard kind == .text, let message = ClientMessage(payload) else {
            reply(error: "invalid_message", "messages are JSON objects with a \"type\"", key: nil, ref: nil)
            return
        }
        let ref = message.raw("ref")
        switch message.type {
        case "subscribe": subscribe(message, ref: ref)
        case "unsubscribe":
            guard let key = validKey(message, ref: ref), let subscriber else { return }
            hub.unsubscribe(subscriber, from: key)
            lastSeq[key] = nil
            sessions[key] = nil
            resuming[key] = nil
            send("{\"type\":\"unsubscribed\",\"key\":\"\(key.value)\"\(refField(ref))}")
        case "ack":
            guard let key = validKey(message, ref: ref), let subscriber else { return }
            guard let seq = message.uint("seq") else { return reply(error: "invalid_message", "ack needs a numeric seq", key: key, ref: ref) }
            hub.ack(subscriber, key: key, seq: seq, session: sessions[key])
        case "publish": publish(message, ref: ref)
        case "ping": send("{\"type\":\"pong\"\(refField(ref))}")
        default: reply(error: "unknown_type", "unknown message type \(JSONText.quoted(message.type))", key: nil, ref: ref)
        }
    }

    private func subscribe(_ message: ClientMessage, ref: [UInt8]?) {
        guard let key = validKey(message, ref: ref), subscriber != nil, let connection else { return }
        if connection.context.refusesNewSubscriptions { return reply(error: "draining", "server is shutting down: subscribe elsewhere", key: key, ref: ref) }
        if !canPublish, let denial = access.authorizeSubscriber(message.string("token") ?? handshakeToken, key: key.value,
                                                               nowSeconds: HubClock.wallSeconds) {
            return reply(error: denial.code, denial.message, key: key, ref: ref)
        }
        let session = message.string("session")
        if message.has("session"), let error = checkToken(session ?? "", "session") {
            return reply(error: "invalid_message", error.message, key: key, ref: ref)
        }
        if message.has("after") && message.uint("after") == nil {
            return reply(error: "invalid_message", "after must be a sequence number", key: key, ref: ref)
        }
        let limit = hub.config.maxSubscriptionsPerSubscriber
        if lastSeq[key] == nil && resuming[key] == nil && lastSeq.count + resuming.count >= limit {
            let error = HubError.keyFull("at most \(limit) subscriptions per connection")
            return reply(error: error.code, error.message, key: key, ref: ref)
        }
        let after = message.uint("after")
        guard hub.shared != nil, let session else { return register(key, after: after, session: session, ref: ref) }
        // The session may have acked on another node: ask the store first (SessionResume.swift).
        nextResume += 1
        let token = nextResume
        resuming[key] = token
        connection.context.sessionAck(of: key, session: session, via: hub) { [weak self] acked in
            guard let self, resuming[key] == token else { return }   // unsubscribed or closed meanwhile
            resuming[key] = nil
            register(key, after: acked.map { max(after ?? 0, $0) } ?? after, session: session, ref: ref)
        }
    }

    private func register(_ key: OutcomeKey, after: UInt64?, session: String?, ref: [UInt8]?) {
        guard let subscriber, let connection else { return }
        let limit = hub.config.maxSubscriptionsPerSubscriber
        if lastSeq[key] == nil && lastSeq.count >= limit {
            let error = HubError.keyFull("at most \(limit) subscriptions per connection")
            return reply(error: error.code, error.message, key: key, ref: ref)
        }
        switch hub.subscribe(subscriber, to: key, after: after, session: session) {
        case .failure(let error):
            reply(error: error.code, error.message, key: key, ref: ref)
        case .success(let replay):
            lastSeq[key] = lastSeq[key] ?? 0
            if let session { sessions[key] = session }
            send("{\"type\":\"subscribed\",\"key\":\"\(key.value)\",\"replayed\":\(replay.count)\(refField(ref))}")
            for outcome in replay where outcome.seq > (lastSeq[key] ?? 0) {
                lastSeq[key] = outcome.seq
                connection.sendPrepared(SharedOutcome(outcome).textFrame)
            }
        }
    }

    private func publish(_ message: ClientMessage, ref: [UInt8]?) {
        guard let key = validKey(message, ref: ref), let connection else { return }
        guard canPublish else { return reply(error: "unauthorized", "publishing needs a publisher key at connect (Authorization: Bearer)", key: key, ref: ref) }
        let status: OutcomeStatus
        if let s = message.string("status") {
            guard let parsed = OutcomeStatus(rawValue: s) else { return reply(error: "invalid_outcome", "status must be completed, failed or progress", key: key, ref: ref) }
            status = parsed
        } else {
            status = .completed
        }
        let data = message.raw("data") ?? Array("null".utf8)
        if data.count > hub.config.maxDataBytes { return reply(error: "outcome_too_large", "outcome data exceeds \(hub.config.maxDataBytes) bytes", key: key, ref: ref) }
        for name in ["id", "idempotencyKey"] where message.has(name) {
            if let error = checkToken(message.string(name) ?? "", name) { return reply(error: error.code, error.message, key: key, ref: ref) }
        }
        let request = PublishRequest(key: key, status: status, data: data, id: message.string("id"),
                                     idempotencyKey: message.string("idempotencyKey") ?? message.string("id"))
        connection.context.publish(request, via: hub) { [weak self] result in
            switch result {
            case .success(let r): self?.send(publishReceipt(r, extra: "\"type\":\"published\",\(self?.refPrefix(ref) ?? "")"))
            case .failure(let e): self?.reply(error: e.code, e.message, key: key, ref: ref)
            }
        }
    }

    private func validKey(_ message: ClientMessage, ref: [UInt8]?) -> OutcomeKey? {
        guard let text = message.string("key") else {
            reply(error: "invalid_key", "the message needs a \"key\"", key: nil, ref: ref)
            return nil
        }
        do { return try OutcomeKey(validating: text) } catch {
            reply(error: error.code, error.message, key: nil, ref: ref)
            return nil
        }
    }

    private func refField(_ ref: [UInt8]?) -> String { ref.map { ",\"ref\":" + String(decoding: $0, as: UTF8.self) } ?? "" }
    private func refPrefix(_ ref: [UInt8]?) -> String { ref.map { "\"ref\":" + String(decoding: $0, as: UTF8.self) + "," } ?? "" }

    private func reply(error code: String, _ message: String, key: OutcomeKey?, ref: [UInt8]?) {
        var text = "{\"type\":\"error\",\"code\":\"\(code)\",\"message\":\(JSONText.quoted(message))"
        if let key { text += ",\"key\":\"\(key.value)\"" }
        text += refField(ref) + "}"
        send(text)
    }

    private func send(_ text: String) { connection?.send(.text, Array(text.utf8)) }

    func webSocketDidClose(_ connection: Connection, code: CloseCode?) {
        guard let subscriber else { return }
        resuming = [:]
        hub.unsubscribeAll(subscriber, keys: Array(lastSeq.keys))
        connection.context.sinks[subscriber.id] = nil
        self.subscriber = nil
    }
}

/// A token bucket per connection: `burst` messages at once, refilled at `ratePerSecond`.
/// Messages per second with a burst allowance, and the cut-off for a client that stays over it.
///
/// "Stays over" means: its messages have been refused for `sustainedNs` (3 s) without a
/// refusal-free second in between. A client that bursts past the limit now and then is only
/// refused; one that keeps sending faster than allowed is closed with 1008 three seconds after
/// its first refusal, however the refill interleaves with its messages.
struct TokenBucket {
    let ratePerSecond: Int
    let burst: Int
    static let sustainedNs: UInt64 = 3_000_000_000
    private static let streakGapNs: UInt64 = 1_000_000_000
    private var tokens: Double
    private var last: UInt64 = 0
    /// When the current run of refusals began, and the latest refusal in it.
    private var overSince: UInt64?
    private var lastRefusal: UInt64 = 0

    enum Verdict { case allowed, refused, abusive }

    init(ratePerSecond: Int, burst: Int) {
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, burst)
        tokens = Double(max(1, burst))
    }

    mutating func take(nowNs: UInt64) -> Verdict {
        if last != 0 { tokens = min(Double(burst), tokens + Double(nowNs &- last) / 1e9 * Double(ratePerSecond)) }
        last = nowNs
        if tokens >= 1 { tokens -= 1; return .allowed }
        if overSince == nil || nowNs &- lastRefusal > Self.streakGapNs { overSince = nowNs }
        lastRefusal = nowNs
        return nowNs &- overSince! >= Self.sustainedNs ? .abusive : .refused
    }
}
