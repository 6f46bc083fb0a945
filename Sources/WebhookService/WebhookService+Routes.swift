// The webhook API, for publishers (publisher key when the hub has them):
//   POST   /v1/webhooks                         register {"url","keys","statuses"?,"description"?} → 201 + secret (shown once)
//   GET    /v1/webhooks                         every endpoint, with its counters
//   GET    /v1/webhooks/{id}   DELETE /v1/webhooks/{id}
//   POST   /v1/webhooks/{id}/rotate-secret      {"graceSeconds"?} → the new secret; the old one signs too until the grace ends
//   GET    /v1/webhooks/{id}/deliveries         what is queued, with attempts and last errors
//   GET    /v1/webhooks/{id}/dead-letters       POST …/dead-letters/replay (all), POST …/dead-letters/{letter}/replay
//   GET    /v1/webhooks/stats                   totals for the dashboard (public: no URLs)
import Auth
import HTTP1
import HubCore
import HubBytes
import HubServer
import Webhooks

extension Router {
    public mutating func addWebhookRoutes(_ service: WebhookService, access: AccessPolicy) {
        @Sendable func denied(_ request: HTTPRequest) -> HTTPResponse? {
            guard let d = access.authorizePublisher(request.bearer) else { return nil }
            return HTTPResponse(error: HTTPError(d.status, d.code, d.message, headers: [("WWW-Authenticate", "Bearer")]))
        }
        @Sendable func error(_ e: WebhookError) -> HTTPResponse {
            HTTPResponse(error: HTTPError(e.status, e.code, e.message, headers: e.status == 503 ? [("Retry-After", "1")] : []))
        }
        @Sendable func notFound(_ id: String) -> HTTPResponse { HTTPResponse(error: HTTPError(404, "not_found", "no webhook \(id)")) }
        /// An async command answered on the connection's loop.
        @Sendable func later(_ exchange: Exchange, _ work: @escaping @Sendable () async -> HTTPResponse) {
            guard let box = ExchangeHandle(exchange) else { return }
            Task { box.respond(await work()) }
        }

        // Totals only (no URLs): public, for the dashboard.
        add("/v1/webhooks/stats", .http(methods: ["GET"]) { _, _ in
            let t = service.totals()
            return .json(200, JSONValue.object(["endpoints": JSONValue(t.endpoints), "pending": JSONValue(t.pending), "delivered": JSONValue(t.delivered),
                                                "failedAttempts": JSONValue(t.failed), "deadLetters": JSONValue(t.deadLetters)]).serialized(),
                         headers: [("Cache-Control", "no-store")])
        })
        add("/v1/webhooks", .exchange(methods: ["GET", "POST"]) { request, _, exchange in
            if let d = denied(request) { return exchange.respond(d) }
            if request.method == "GET" { return exchange.respond(.json(200, JSONValue.object(["webhooks": service.endpointsJSON()]).serialized())) }
            let parsed: (url: String, keys: [KeyPattern], statuses: Set<OutcomeStatus>?, description: String?)
            switch WebhookEndpoint.parseRegistration(request.body) {
            case .failure(let e): return exchange.respond(error(e))
            case .success(let p): parsed = p
            }
            later(exchange) {
                switch await service.register(url: parsed.url, keys: parsed.keys, statuses: parsed.statuses, description: parsed.description) {
                case .failure(let e): return error(e)
                case .success(let (endpoint, secret)):
                    var body = endpoint.publicJSON
                    body["secret"] = .string(secret)
                    return .json(201, JSONValue.object(body).serialized(), headers: [("Location", "/v1/webhooks/\(endpoint.id)"), ("Cache-Control", "no-store")])
                }
            }
        })
        add("/v1/webhooks/{id}", .exchange(methods: ["GET", "DELETE"]) { request, p, exchange in
            if let d = denied(request) { return exchange.respond(d) }
            let id = p["id"] ?? ""
            if request.method == "GET" {
                return exchange.respond(service.endpointJSON(id).map { .json(200, $0.serialized()) } ?? notFound(id))
            }
            later(exchange) { await service.unregister(id).map(error) ?? HTTPResponse(status: 204) }
        })
        add("/v1/webhooks/{id}/rotate-secret", .exchange(methods: ["POST"]) { request, p, exchange in
            if let d = denied(request) { return exchange.respond(d) }
            let id = p["id"] ?? ""
            var grace: Int64?
            if !request.body.isEmpty {
                guard case .success(let j) = JSONValue.parse(request.body), case .object = j else {
                    return exchange.respond(HTTPResponse(error: HTTPError(400, "invalid_webhook", "the body must be a JSON object")))
                }
                if let g = j["graceSeconds"] {
                    guard let n = g.intValue, n >= 0, n <= 30 * 86_400 else {
                        return exchange.respond(HTTPResponse(error: HTTPError(400, "invalid_webhook", "graceSeconds is 0 to 2592000 (30 days)")))
                    }
                    grace = Int64(n) * 1000
                }
            }
            let graceMs = grace
            later(exchange) {
                switch await service.rotateSecret(id, graceMs: graceMs) {
                case .failure(let e): return error(e)
                case .success(let (secret, until)):
                    return .json(200, JSONValue.object(["id": .string(id), "secret": .string(secret), "previousValidUntil": .number(String(until))]).serialized(),
                                 headers: [("Cache-Control", "no-store")])
                }
            }
        })
        add("/v1/webhooks/{id}/deliveries", .http(methods: ["GET"]) { request, p in
            if let d = denied(request) { return d }
            let id = p["id"] ?? ""
            return service.deliveriesJSON(id).map { .json(200, JSONValue.object(["deliveries": $0]).serialized()) } ?? notFound(id)
        })
        add("/v1/webhooks/{id}/dead-letters", .http(methods: ["GET"]) { request, p in
            if let d = denied(request) { return d }
            let id = p["id"] ?? ""
            return service.deadLettersJSON(id).map { .json(200, JSONValue.object(["deadLetters": $0]).serialized()) } ?? notFound(id)
        })
        add("/v1/webhooks/{id}/dead-letters/replay", .http(methods: ["POST"]) { request, p in
            if let d = denied(request) { return d }
            switch service.replay(p["id"] ?? "", deadLetter: nil) {
            case .failure(let e): return error(e)
            case .success(let n): return .json(202, JSONValue.object(["replayed": JSONValue(n)]).serialized())
            }
        })
        add("/v1/webhooks/{id}/dead-letters/{letter}/replay", .http(methods: ["POST"]) { request, p in
            if let d = denied(request) { return d }
            switch service.replay(p["id"] ?? "", deadLetter: p["letter"] ?? "") {
            case .failure(let e): return error(e)
            case .success(let n): return .json(202, JSONValue.object(["replayed": JSONValue(n)]).serialized())
            }
        })
    }
}
