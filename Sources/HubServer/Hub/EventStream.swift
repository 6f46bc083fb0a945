// `GET /v1/outcomes/{key}` with `Accept: text/event-stream`: Server-Sent Events. Each outcome is
// an event whose `id:` is its sequence number, so a browser's automatic reconnect sends
// `Last-Event-ID` and resumes after it (`lastEventId` / `after` query parameters do the same for
// clients that cannot set headers). Comment heartbeats keep proxies from timing the stream out.
import HubBytes
import HubCore
import Reactor

final class EventStream: OutcomeSink {
    let hub: Hub
    let key: OutcomeKey
    let follow: Bool
    let exchange: Exchange
    private var subscriber: SubscriberRef?
    private var lastSeq: UInt64 = 0
    private var heartbeat: TimerQueue.TimerID?
    /// Every 15 s: below common proxy idle timeouts (30–60 s).
    static let heartbeatMs = 15_000

    init(hub: Hub, key: OutcomeKey, follow: Bool, exchange: Exchange) {
        self.hub = hub; self.key = key; self.follow = follow; self.exchange = exchange
    }

    func start(after: UInt64?) {
        guard let context = exchange.loopContext else { return }
        let ref = hub.newSubscriber(onLoop: context.loop.index)
        exchange.onCancel = { [weak self] in self?.stop() }
        exchange.onDrain = { [weak self] in
            // Tell the browser to come back soon (to another node), then end the stream.
            self?.exchange.send(Array("retry: 1000\n\n".utf8))
            self?.finish()
        }
        switch hub.subscribe(ref, to: key, after: after) {
        case .failure(let error):
            exchange.respond(.json(error.status, JSONText.errorBody(code: error.code, message: error.message)))
            return
        case .success(let replay):
            subscriber = ref
            context.sinks[ref.id] = self
            exchange.startStream(headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no"),
                                                  ("Access-Control-Allow-Origin", "*")])
            exchange.send(Array("retry: 2000\n: connected\n\n".utf8))
            scheduleHeartbeat()
            for outcome in replay { deliver(SharedOutcome(outcome)) }
        }
    }

    func deliver(_ shared: SharedOutcome) {
        guard subscriber != nil, shared.outcome.seq > lastSeq else { return }
        lastSeq = shared.outcome.seq
        var event = Array("id: \(shared.outcome.seq)\nevent: outcome\ndata: ".utf8)
        event += shared.envelope        // JSON without raw newlines: one data line
        event += [10, 10]
        if exchange.send(event) != .queued { return }
        if shared.outcome.status.isTerminal && !follow { finish() }
    }

    private func scheduleHeartbeat() {
        guard let loop = exchange.loopContext?.loop else { return }
        heartbeat = loop.scheduleTimer(afterMilliseconds: Self.heartbeatMs) { [weak self] in
            guard let self, self.subscriber != nil else { return }
            self.exchange.send(Array(": heartbeat\n\n".utf8))
            self.scheduleHeartbeat()
        }
    }

    private func finish() {
        stop()
        exchange.finish()
    }

    private func stop() {
        if let heartbeat { exchange.loopContext?.loop.cancelTimer(heartbeat) }
        heartbeat = nil
        guard let subscriber else { return }
        exchange.loopContext?.unsubscribe(subscriber, from: key, hub: hub)
        self.subscriber = nil
    }
}
