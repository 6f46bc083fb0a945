// What the API does with registrations: register (durable before the 201, then the retained
// outcomes of matching keys queued, as a subscriber would receive them), unregister, rotate the
// signing secret, list, and look at or replay dead letters.
import Auth
import HTTPClient
import HubBytes
import HubCore
import HubServer
import Reactor
import Webhooks

extension WebhookService {
    /// Registers an endpoint; answers once its record is stored. Returns the endpoint and its secret.
    public func register(url: String, keys: [KeyPattern], statuses: Set<OutcomeStatus>?, description: String?) async -> Result<(WebhookEndpoint, String), WebhookError> {
        if let why = config.registrationRefusal { return .failure(WebhookError(501, "webhooks_per_node", why)) }
        guard let parsed = ClientURL(url), url.hasPrefix("http://") || url.hasPrefix("https://") else {
            return .failure(WebhookError(400, "invalid_webhook", "url must be an absolute http or https URL"))
        }
        if let reason = config.policy.refusal(host: parsed.host) { return .failure(WebhookError(400, "destination_refused", reason)) }
        guard state.withLock({ $0.endpoints.count }) < config.maxEndpoints else {
            return .failure(WebhookError(409, "too_many_webhooks", "this hub holds at most \(config.maxEndpoints) webhook endpoints"))
        }
        let now = HubClock.wallMilliseconds
        let secret = WebhookSignature.newSecret()
        let endpoint = WebhookEndpoint(id: WebhookEndpoint.newID(), url: url, keys: keys, statuses: statuses, description: description,
                                       secrets: [SigningSecret(value: secret)], createdAt: now)
        if let e = await storeEndpoint(endpoint) { return .failure(e) }
        // Inside the hub's lock: the retained outcomes now, every later one through the observer.
        hub.retained(matching: { k in keys.contains { $0.matches(k) } }) { outcomes in
            state.withLock { s in
                s.endpoints[endpoint.id] = endpoint
                s.stats[endpoint.id] = EndpointStats()
                endpointCount.store(s.endpoints.count, ordering: .relaxed)
                var changes = QueueChanges()
                for o in outcomes where endpoint.matches(o) { changes.merge(s.queue.enqueue(o, endpoint: endpoint.id, nowMs: now)) }
                persist(changes, s, nowMs: now)
            }
        }
        wake.signal()
        return .success((endpoint, secret))
    }

    /// Stores an endpoint's record and waits for the store (a registration is acknowledged only once kept).
    func storeEndpoint(_ endpoint: WebhookEndpoint, removing: Bool = false) async -> WebhookError? {
        let record = StoredRecord(id: WebhookEndpoint.recordID(endpoint.id), body: endpoint.recordBody,
                                  expiresAt: removing ? HubClock.wallMilliseconds - 1 : Int64.max / 2)
        let result: Result<Void, HubError> = await withCheckedContinuation { continuation in
            store.put(record) { continuation.resume(returning: $0) }
        }
        if case .failure(let e) = result { return WebhookError(503, "store_failed", "\(e.message); nothing was changed, retry") }
        return nil
    }

    /// Unregisters an endpoint: its queue and dead letters go with it.
    public func unregister(_ id: String) async -> WebhookError? {
        guard let endpoint = state.withLock({ $0.endpoints[id] }) else { return WebhookError(404, "not_found", "no webhook \(id)") }
        if let e = await storeEndpoint(endpoint, removing: true) { return e }
        let now = HubClock.wallMilliseconds
        state.withLock { s in
            s.endpoints[id] = nil
            s.stats[id] = nil
            s.latency.removeValue(forKey: id)?.destroy()
            endpointCount.store(s.endpoints.count, ordering: .relaxed)
            persist(s.queue.remove(endpoint: id), s, nowMs: now)
        }
        return nil
    }

    /// A new secret; the current one keeps signing beside it for `graceMs` (receivers switch over meanwhile).
    public func rotateSecret(_ id: String, graceMs: Int64?) async -> Result<(secret: String, previousValidUntil: Int64), WebhookError> {
        let now = HubClock.wallMilliseconds
        let grace = max(0, min(graceMs ?? config.rotationGraceMs, 30 * 86_400_000))
        guard var endpoint = state.withLock({ $0.endpoints[id] }) else { return .failure(WebhookError(404, "not_found", "no webhook \(id)")) }
        let secret = WebhookSignature.newSecret()
        let until = now + grace
        // Older rotated secrets end now; the current one ends after the grace.
        endpoint.secrets = [SigningSecret(value: secret)] + endpoint.secrets.prefix(1).map { SigningSecret(value: $0.value, validUntil: until) }
        if let e = await storeEndpoint(endpoint) { return .failure(e) }
        state.withLock { $0.endpoints[id] = endpoint }
        return .success((secret, until))
    }

    public func replay(_ id: String, deadLetter: String?) -> Result<Int, WebhookError> {
        let now = HubClock.wallMilliseconds
        let count = state.withLock { s -> Int? in
            guard s.endpoints[id] != nil else { return nil }
            let ids = deadLetter.map { [$0] } ?? Array((s.queue.deadLetters[id] ?? [:]).keys)
            var replayed = 0
            for letter in ids {
                if let changes = s.queue.replay(endpoint: id, deadLetter: letter, nowMs: now) {
                    persist(changes, s, nowMs: now)
                    replayed += 1
                }
            }
            return replayed
        }
        guard let count else { return .failure(WebhookError(404, "not_found", "no webhook \(id)")) }
        if deadLetter != nil && count == 0 { return .failure(WebhookError(404, "not_found", "no dead letter \(deadLetter!) for webhook \(id)")) }
        wake.signal()
        return .success(count)
    }

    // MARK: views

    public func endpointJSON(_ id: String) -> JSONValue? {
        state.withLock { s in s.endpoints[id].map { Self.view($0, s) } }
    }

    public func endpointsJSON() -> JSONValue {
        state.withLock { s in .array(s.endpoints.values.sorted { $0.createdAt < $1.createdAt }.map { Self.view($0, s) }) }
    }

    static func view(_ e: WebhookEndpoint, _ s: State) -> JSONValue {
        var o = e.publicJSON
        let st = s.stats[e.id] ?? EndpointStats()
        o["stats"] = [
            "pending": JSONValue(s.queue.pendingCount(endpoint: e.id)), "inFlight": JSONValue(s.queue.inFlightCount(endpoint: e.id)),
            "deadLetters": JSONValue(s.queue.deadLetters[e.id]?.count ?? 0), "attempts": JSONValue(st.attempts),
            "delivered": JSONValue(st.delivered), "failed": JSONValue(st.failed), "retried": JSONValue(st.retried),
            "deadLettered": JSONValue(st.deadLettered), "lastStatus": st.lastStatus.map { JSONValue($0) } ?? .null,
            "lastError": st.lastError.map { .string($0) } ?? .null,
            "lastDeliveredAt": st.lastDeliveredAt.map { .number(String($0)) } ?? .null,
        ]
        o["secretRotation"] = e.secrets.count > 1 ? ["previousValidUntil": e.secrets.dropFirst().first?.validUntil.map { .number(String($0)) } ?? .null] : .null
        return .object(o)
    }

    public func deadLettersJSON(_ id: String) -> JSONValue? {
        state.withLock { s in
            guard s.endpoints[id] != nil else { return nil }
            let letters = (s.queue.deadLetters[id] ?? [:]).values.sorted { $0.deadAt < $1.deadAt }
            return .array(letters.map { d in
                ["id": .string(d.id), "key": .string(d.delivery.key), "seq": .number(String(d.delivery.seq)), "webhookId": .string(d.delivery.outcomeID),
                 "status": .string(d.delivery.status.rawValue), "attempts": JSONValue(d.delivery.attempts), "reason": .string(d.reason),
                 "deadAt": .number(String(d.deadAt))]
            })
        }
    }

    public func deliveriesJSON(_ id: String) -> JSONValue? {
        state.withLock { s in
            guard s.endpoints[id] != nil else { return nil }
            return .array(s.queue.pendingDeliveries(endpoint: id).map { d in
                ["key": .string(d.key), "seq": .number(String(d.seq)), "webhookId": .string(d.outcomeID), "attempts": JSONValue(d.attempts),
                 "nextAttemptAt": .number(String(d.nextAttemptAt)), "queuedAt": .number(String(d.queuedAt)),
                 "lastError": d.lastError.map { .string($0) } ?? .null]
            })
        }
    }

    /// Totals for the dashboard (`/v1/stats`): no URLs, which may be confidential.
    public func totals() -> (endpoints: Int, pending: Int, delivered: Int, failed: Int, deadLetters: Int) {
        state.withLock { s in
            (s.endpoints.count, s.queue.totalPending, s.stats.values.reduce(0) { $0 + $1.delivered }, s.stats.values.reduce(0) { $0 + $1.failed },
             s.queue.deadLetters.values.reduce(0) { $0 + $1.count })
        }
    }

    /// Per-endpoint counters, for `ExportedMetrics` (see docs/metrics.md); an endpoint's series
    /// go when it is unregistered. The latency histogram is recorded as deliveries finish.
    public func metricSamples() -> [ExportedMetrics.Sample] {
        state.withLock { s in
            var out: [ExportedMetrics.Sample] = []
            for id in s.endpoints.keys {
                let st = s.stats[id] ?? EndpointStats()
                let e = [("endpoint", id)]
                out += [.counter("affinity_webhook_attempts_total", e, st.attempts), .counter("affinity_webhook_delivered_total", e, st.delivered),
                        .counter("affinity_webhook_failed_total", e, st.failed), .counter("affinity_webhook_retried_total", e, st.retried),
                        .counter("affinity_webhook_dead_lettered_total", e, st.deadLettered),
                        .gauge("affinity_webhook_pending", e, s.queue.pendingCount(endpoint: id))]
            }
            return out
        }
    }
}
