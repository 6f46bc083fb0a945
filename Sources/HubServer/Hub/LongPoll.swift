// `GET /v1/outcomes/{key}?after=N&timeout=S` without upgrade or SSE: waits up to S seconds
// (default 30, at most 60) for the first outcome after N and answers 200 with it, or 204 when
// none came. The client polls again with `after` = the seq it got.
import HTTP1
import HubBytes
import HubCore
import Reactor

final class LongPoll: OutcomeSink {
    static let defaultTimeoutMs = 30_000
    static let maxTimeoutMs = 60_000

    let hub: Hub
    let key: OutcomeKey
    let exchange: Exchange
    private var subscriber: SubscriberRef?
    private var timer: TimerQueue.TimerID?

    init(hub: Hub, key: OutcomeKey, exchange: Exchange) {
        self.hub = hub; self.key = key; self.exchange = exchange
    }

    func start(after: UInt64, timeoutMs: Int) {
        guard let context = exchange.loopContext else { return }
        let ref = hub.newSubscriber(onLoop: context.loop.index)
        switch hub.subscribe(ref, to: key, after: after) {
        case .failure(let error):
            exchange.respond(.json(error.status, JSONText.errorBody(code: error.code, message: error.message)))
        case .success(let replay):
            if let first = replay.first {
                hub.unsubscribe(ref, from: key)
                answer(SharedOutcome(first).envelope)
                return
            }
            subscriber = ref
            context.sinks[ref.id] = self
            exchange.onCancel = { [weak self] in self?.stop() }
            exchange.onDrain = { [weak self] in self?.finish(nil) }
            timer = context.loop.scheduleTimer(afterMilliseconds: timeoutMs) { [weak self] in self?.finish(nil) }
        }
    }

    func deliver(_ shared: SharedOutcome) { finish(shared.envelope) }

    private func finish(_ envelope: [UInt8]?) {
        guard subscriber != nil else { return }
        stop()
        if let envelope { answer(envelope) } else { exchange.respond(HTTPResponse(status: 204, headers: [("Access-Control-Allow-Origin", "*")])) }
    }

    private func answer(_ envelope: [UInt8]) {
        exchange.respond(HTTPResponse(status: 200, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                                                                 ("Access-Control-Allow-Origin", "*")], body: envelope))
    }

    private func stop() {
        if let timer { exchange.loopContext?.loop.cancelTimer(timer) }
        timer = nil
        guard let subscriber else { return }
        exchange.loopContext?.unsubscribe(subscriber, from: key, hub: hub)
        self.subscriber = nil
    }
}
