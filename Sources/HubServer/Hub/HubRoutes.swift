// The hub's interfaces on the router:
//   POST /v1/outcomes/{key}   publish                       → 201 receipt (200 for an idempotent repeat)
//   GET  /v1/outcomes/{key}   WebSocket upgrade             → KeyStream (one key)
//                             Accept: text/event-stream     → EventStream (SSE)
//                             otherwise                     → LongPoll
//   GET  /v1/ws               WebSocket, affinity.v1        → Multiplexer (many keys, publish)
//   GET  /v1/stats            JSON numbers for the dashboard; GET / the dashboard page
import Auth
import HTTP1
import HubBytes
import HubCore
import Reactor
import WebSocket

/// Interface limits that are not the core's.
public struct InterfaceLimits: Sendable {
    /// Messages per second a multiplexed client may send (burst: twice that).
    public var messagesPerSecond = 1000
    public init() {}
}

extension Router {
    public mutating func addHubRoutes(hub: Hub, access: AccessPolicy, limits: InterfaceLimits, stats: ServerStats) {
        var single = HandshakeConfig()
        single.selectsBearerSubprotocol = true
        add("/v1/outcomes/{key}", .webSocket(single, { request, params in
            let key: OutcomeKey
            switch parseKey(params["key"]) {
            case .failure(let e): return .failure(e)
            case .success(let k): key = k
            }
            if let denial = readDenial(request, key: key, access: access) { return .failure(denial) }
            let query = Query(request.query)
            return query.sequence("after").flatMap { after in
                query.flag("follow").map { follow in KeyStream(hub: hub, key: key, after: after, follow: follow) }
            }
        }, fallback: { request, params, exchange in
            let key: OutcomeKey
            switch parseKey(params["key"]) {
            case .failure(let e): return exchange.respond(HTTPResponse(error: e))
            case .success(let k): key = k
            }
            switch request.method {
            case "POST": publish(request, key: key, hub: hub, access: access, exchange: exchange)
            case "GET", "HEAD": read(request, key: key, hub: hub, access: access, exchange: exchange)
            default:
                exchange.respond(HTTPResponse(error: HTTPError(405, "method_not_allowed", "use GET (subscribe) or POST (publish)", headers: [("Allow", "GET, POST")])))
            }
        }))

        var multiplexed = HandshakeConfig()
        multiplexed.subprotocols = ["affinity.v1"]
        multiplexed.selectsBearerSubprotocol = true
        add("/v1/ws", .webSocket(multiplexed, { request, _ in
            let canPublish = access.requiresPublisherKey ? access.authorizePublisher(request.bearer) == nil : !access.requiresToken
            return .success(Multiplexer(hub: hub, access: access, canPublish: canPublish, token: request.subscriptionToken,
                                        messagesPerSecond: limits.messagesPerSecond))
        }, fallback: nil))

        // The dashboard's key inspector: what the hub holds for one key (read access as for its outcomes).
        add("/v1/keys/{key}", .http(methods: ["GET"]) { request, params in
            let key: OutcomeKey
            switch parseKey(params["key"]) {
            case .failure(let e): return HTTPResponse(error: e)
            case .success(let k): key = k
            }
            if let denial = readDenial(request, key: key, access: access) { return HTTPResponse(error: denial) }
            guard let k = hub.inspect(key) else {
                return HTTPResponse(error: HTTPError(404, "not_found", "the hub holds nothing for \(key.value): no outcome retained, no subscriber"))
            }
            let outcomes = k.outcomes.map { o -> JSONValue in
                ["seq": .number(String(o.seq)), "id": .string(o.id), "status": .string(o.status.rawValue), "publishedAt": .number(String(o.publishedAt)),
                 "expiresAt": .number(String(o.expiresAt)), "bytes": JSONValue(o.data.count)]
            }
            return .json(200, JSONValue.object(["key": .string(key.value), "outcomes": .array(outcomes), "nextSeq": .number(String(k.nextSeq)),
                                                "subscribers": JSONValue(k.subscribers), "storing": JSONValue(k.storing), "bytes": JSONValue(k.bytes)]).serialized(),
                         headers: [("Cache-Control", "no-store")])
        })
        add("/v1/stats", .http(methods: ["GET"]) { _, _ in .json(200, statsJSON(hub: hub, stats: stats), headers: [("Cache-Control", "no-store")]) })
        add("/v1/client.js", .http(methods: ["GET"]) { _, _ in
            HTTPResponse(status: 200, headers: [("Content-Type", "text/javascript; charset=utf-8"), ("Cache-Control", "max-age=300"),
                                                ("Access-Control-Allow-Origin", "*")], body: Array(BrowserClient.script.utf8))
        })
        add("/", .http(methods: ["GET"]) { _, _ in
            HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], body: Array(Dashboard.html.utf8))
        })
    }
}

private func parseKey(_ text: String?) -> Result<OutcomeKey, HTTPError> {
    do { return .success(try OutcomeKey(validating: text ?? "")) } catch { return .failure(HTTPError(error.status, error.code, error.message)) }
}

/// With a token secret configured, reading needs a token for the key or a publisher key
/// (publishers may read everything); without one, reads are open.
private func readDenial(_ request: HTTPRequest, key: OutcomeKey, access: AccessPolicy) -> HTTPError? {
    guard access.requiresToken else { return nil }
    if access.requiresPublisherKey, access.authorizePublisher(request.bearer) == nil { return nil }
    guard let denial = access.authorizeSubscriber(request.subscriptionToken, key: key.value, nowSeconds: HubClock.wallSeconds) else { return nil }
    return HTTPError(denial.status, denial.code, denial.message)
}

private func publish(_ request: HTTPRequest, key: OutcomeKey, hub: Hub, access: AccessPolicy, exchange: Exchange) {
    if let denial = access.authorizePublisher(request.bearer) {
        return exchange.respond(HTTPResponse(error: HTTPError(denial.status, denial.code, denial.message, headers: [("WWW-Authenticate", "Bearer")])))
    }
    let parsed = PublishRequest.parse(key: key, body: request.body, idempotencyKey: request.headers["Idempotency-Key"].map { trimOWS($0) },
                                      maxDataBytes: hub.config.maxDataBytes)
    switch parsed {
    case .failure(let e):
        exchange.respond(HTTPResponse(error: HTTPError(e.status, e.code, e.message)))
    case .success(let publishRequest):
        guard let context = exchange.loopContext else { return }
        context.publish(publishRequest, via: hub) { result in
            switch result {
            case .failure(let e):
                var headers: [(String, String)] = []
                if e.status == 429 || e.status == 503 { headers.append(("Retry-After", "1")) }
                exchange.respond(HTTPResponse(error: HTTPError(e.status, e.code, e.message, headers: headers)))
            case .success(let r):
                var location: [UInt8] = []
                location.reserveCapacity(32 + key.value.utf8.count)
                location.append(contentsOf: "/v1/outcomes/".utf8)
                location.append(contentsOf: key.value.utf8)
                location.append(contentsOf: "?after=".utf8)
                appendDecimal(r.outcome.seq - 1, to: &location)
                exchange.respond(HTTPResponse(status: r.duplicate ? 200 : 201,
                                              headers: [("Content-Type", "application/json"), ("Location", String(decoding: location, as: UTF8.self))],
                                              body: publishReceiptBytes(r)))
            }
        }
    }
}

private func read(_ request: HTTPRequest, key: OutcomeKey, hub: Hub, access: AccessPolicy, exchange: Exchange) {
    if exchange.loopContext?.refusesNewSubscriptions == true {
        return exchange.respond(HTTPResponse(error: HTTPError(503, "draining", "server is shutting down: subscribe elsewhere", headers: [("Retry-After", "1")])))
    }
    if let denial = readDenial(request, key: key, access: access) { return exchange.respond(HTTPResponse(error: denial)) }
    let query = Query(request.query)
    let follow: Bool
    switch query.flag("follow") {
    case .failure(let e): return exchange.respond(HTTPResponse(error: e))
    case .success(let f): follow = f
    }
    let wantsEvents = request.headers["Accept"]?.lowercased().contains("text/event-stream") == true
    if wantsEvents {
        // Resume point: the Last-Event-ID header (EventSource's reconnect), else the query.
        let resume: Result<UInt64?, HTTPError>
        if let header = request.headers["Last-Event-ID"].map({ trimOWS($0) }) {
            resume = UInt64(header).map { .success($0) } ?? .failure(.badRequest("Last-Event-ID must be a sequence number"))
        } else {
            resume = query.sequence("lastEventId").flatMap { id in id.map { .success($0) } ?? query.sequence("after") }
        }
        switch resume {
        case .failure(let e): exchange.respond(HTTPResponse(error: e))
        case .success(let after): EventStream(hub: hub, key: key, follow: follow, exchange: exchange).start(after: after)
        }
        return
    }
    switch (query.sequence("after"), query.seconds("timeout", max: LongPoll.maxTimeoutMs / 1000)) {
    case (.failure(let e), _), (_, .failure(let e)):
        exchange.respond(HTTPResponse(error: e))
    case (.success(let after), .success(let timeoutMs)):
        LongPoll(hub: hub, key: key, exchange: exchange).start(after: after ?? 0, timeoutMs: timeoutMs ?? LongPoll.defaultTimeoutMs)
    }
}

func statsJSON(hub: Hub, stats: ServerStats) -> String {
    let s = hub.snapshot()
    func n(_ a: Int) -> String { String(a) }
    return "{\"connections\":\(stats.connectionsOpen.load(ordering: .relaxed)),\"websockets\":\(stats.webSocketsOpen.load(ordering: .relaxed)),"
        + "\"subscriptions\":\(s.subscriptions),\"keys\":\(s.keys),\"retainedOutcomes\":\(s.retainedOutcomes),\"retainedBytes\":\(s.retainedBytes),"
        + "\"published\":\(s.counters.published),\"duplicates\":\(s.counters.duplicates),\"delivered\":\(s.delivered),"
        + "\"expired\":\(s.counters.expired),\"released\":\(s.counters.released),\"rejected\":\(s.counters.rejected),"
        + "\"bytesIn\":\(stats.bytesReceived.load(ordering: .relaxed)),\"bytesOut\":\(stats.bytesSent.load(ordering: .relaxed)),"
        + "\"durable\":\(hub.store.isDurable)}"
}

extension Hub {
    /// The hub's counters and gauges, for `ExportedMetrics` (see docs/metrics.md). The latency
    /// histograms are recorded through the facade where they happen.
    public func metricSamples() -> [ExportedMetrics.Sample] {
        let s = snapshot()
        return [
            .gauge("affinity_subscriptions", s.subscriptions),
            .gauge("affinity_keys", s.keys),
            .gauge("affinity_retained_outcomes", s.retainedOutcomes),
            .gauge("affinity_retained_bytes", s.retainedBytes),
            .counter("affinity_outcomes_published_total", s.counters.published),
            .counter("affinity_outcomes_duplicate_total", s.counters.duplicates),
            .counter("affinity_outcomes_delivered_total", s.delivered),
            .counter("affinity_outcomes_expired_total", s.counters.expired),
            .counter("affinity_outcomes_released_total", s.counters.released),
            .counter("affinity_outcomes_rejected_total", s.counters.rejected),
            .counter("affinity_outcomes_abandoned_total", s.counters.abandoned),
            .counter("affinity_store_failures_total", metrics.storeFailures.load(ordering: .relaxed)),
            .gauge("affinity_store_available", unavailableReason == nil ? 1 : 0),
        ]
    }
}
