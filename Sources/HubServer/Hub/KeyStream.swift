// `GET /v1/outcomes/{key}` upgraded to WebSocket: one key's outcomes as text messages, retained
// ones first, then live ones, in sequence order. After a terminal outcome the server closes with
// 1000 unless the client asked to `follow`. The client may send `{"type":"ack","seq":N}`.
import HubBytes
import HubCore
import WebSocket

final class KeyStream: WebSocketHandler, OutcomeSink {
    let hub: Hub
    let key: OutcomeKey
    let after: UInt64?
    let follow: Bool
    private weak var connection: Connection?
    private var subscriber: SubscriberRef?
    private var lastSeq: UInt64 = 0

    init(hub: Hub, key: OutcomeKey, after: UInt64?, follow: Bool) {
        self.hub = hub; self.key = key; self.after = after; self.follow = follow
    }

    func webSocketDidOpen(_ connection: Connection) {
        self.connection = connection
        let ref = hub.newSubscriber(onLoop: connection.context.loop.index)
        subscriber = ref
        connection.context.sinks[ref.id] = self
        if connection.context.refusesNewSubscriptions {
            return connection.close(.serviceRestart, reason: "server is shutting down: subscribe elsewhere")
        }
        switch hub.subscribe(ref, to: key, after: after) {
        case .success(let replay):
            for outcome in replay { deliver(SharedOutcome(outcome)) }
        case .failure(let error):
            connection.send(.text, Array(JSONText.errorBody(code: error.code, message: error.message).utf8))
            connection.close(.tryAgainLater, reason: error.code)
        }
    }

    func deliver(_ shared: SharedOutcome) {
        guard let connection, shared.outcome.seq > lastSeq else { return }
        lastSeq = shared.outcome.seq
        if connection.sendPrepared(shared.textFrame) != .queued { return }
        if shared.outcome.status.isTerminal && !follow { connection.close(.normal, reason: "outcome delivered") }
    }

    func webSocket(_ connection: Connection, didReceive kind: MessageKind, _ payload: [UInt8]) {
        guard kind == .text, let message = ClientMessage(payload), message.type == "ack", let seq = message.uint("seq"), let subscriber else {
            connection.send(.text, Array(JSONText.errorBody(code: "invalid_message", message: "this stream accepts only {\"type\":\"ack\",\"seq\":N}").utf8))
            return
        }
        hub.ack(subscriber, key: key, seq: seq, session: nil)
    }

    func webSocketDidClose(_ connection: Connection, code: CloseCode?) {
        guard let subscriber else { return }
        connection.context.unsubscribe(subscriber, from: key, hub: hub)
        self.subscriber = nil
    }
}

/// A JSON text message from a client: `{"type": …, …}`.
struct ClientMessage {
    let bytes: [UInt8]
    let members: JSONScanner.Members
    let type: String

    init?(_ bytes: [UInt8]) {
        guard case .success(let m) = JSONScanner.objectMembers(bytes),
              let t = m.range(of: "type").flatMap({ JSONScanner.stringValue(bytes, $0) }) else { return nil }
        self.bytes = bytes; members = m; type = t
    }

    func string(_ name: String) -> String? { members.range(of: name).flatMap { JSONScanner.stringValue(bytes, $0) } }

    func uint(_ name: String) -> UInt64? {
        members.range(of: name).flatMap { UInt64(String(decoding: bytes[$0], as: UTF8.self)) }
    }

    /// The raw JSON of a member.
    func raw(_ name: String) -> [UInt8]? { members.range(of: name).map { Array(bytes[$0]) } }

    func has(_ name: String) -> Bool { members.range(of: name) != nil }
}
