// Outcome webhooks: registered endpoints receive every matching outcome as an HTTP POST, signed as
// Standard Webhooks, at least once, per key in seq order, retried on a schedule, then dead-lettered.
//
//   Hub commit (core lock) ─▶ observer: queue for each matching endpoint ─▶ record to the store
//   pump thread: due deliveries ─▶ Task: POST ─▶ finish: delivered │ retry later │ dead letter │ 410: unregister
//
// Durability: registrations, queues and dead letters are records in the hub's store, written in
// order under the service's lock. At start the records come back, deliveries in flight are due at
// once (receivers deduplicate by webhook-id), and every retained outcome above a queue's mark is
// queued again, which covers a crash between an outcome's 201 and its queue record.
import Auth
import Dispatch
import Foundation
import HTTPClient
import HubBytes
import HubCore
import HubServer
import Logging
import Metrics
import Reactor
import Synchronization
import Webhooks

public struct WebhookConfig: Sendable {
    public var schedule: RetrySchedule = .standard
    public var limits = DeliveryLimits()
    /// One attempt's deadline: connect, send, and the whole answer.
    public var timeoutMs: Int64 = 10_000
    public var policy = DestinationPolicy()
    public var maxEndpoints = 1000
    /// How long a rotated-out secret keeps signing beside the new one, by default.
    public var rotationGraceMs: Int64 = 86_400_000
    /// PEM certificates to trust for https endpoints (default: the system's trust store).
    public var caFile: String?
    /// Why new registrations are refused, if they are: on Redis (scale-out) an endpoint would get
    /// only the outcomes published through the node that holds it (docs/scale-out.md).
    public var registrationRefusal: String?
    public init() {}
}

/// Counters of one endpoint, for the API, `/metrics` and the dashboard.
public struct EndpointStats: Sendable {
    public var attempts = 0
    public var delivered = 0
    public var failed = 0
    public var retried = 0
    public var deadLettered = 0
    public var lastError: String?
    public var lastStatus: Int?
    public var lastDeliveredAt: Int64?
}

public final class WebhookService: Sendable {
    /// Bucket bounds for `affinity_webhook_latency_seconds` (queued to delivered): from a healthy
    /// endpoint's milliseconds to the hours a retry schedule spans.
    public static let latencyBuckets: [Duration] = [10, 50, 100, 500, 1000, 5000, 30_000, 300_000, 3_600_000].map { .milliseconds($0) }

    struct State {
        var endpoints: [String: WebhookEndpoint] = [:] {
            didSet { index = MatchIndex(endpoints.values) }
        }
        /// Which endpoints a key may match, so a publish costs a lookup, not a scan of every pattern.
        var index = MatchIndex([])
        var queue: DeliveryQueue
        var stats: [String: EndpointStats] = [:]
        /// Queued-to-delivered latency per endpoint, recorded through the metrics facade.
        var latency: [String: Metrics.Timer] = [:]
        var stopped = false
        var lastExpiry: Int64 = 0
    }

    let state: Mutex<State>
    /// Endpoints registered: a publish with none skips the lock entirely.
    let endpointCount = Atomic<Int>(0)
    let hub: Hub
    let store: OutcomeStore
    let http: HTTPClient
    public let config: WebhookConfig
    let logger: Logger
    let wake = DispatchSemaphore(value: 0)

    public init(hub: Hub, store: OutcomeStore, config: WebhookConfig, logger: Logger) {
        self.hub = hub
        self.store = store
        self.config = config
        self.logger = logger
        let policy = config.policy
        // Idle connections kept per host: many endpoints often share one host (a receiving service
        // with a path per tenant); each may have its full in-flight count open at once, and a pool
        // smaller than that reconnects on most deliveries.
        http = HTTPClient(caFile: config.caFile, maxIdlePerHost: 512, maxResponseBytes: 64 << 10,
                          addressCheck: { policy.refusal(address: $0) })
        let now = HubClock.wallMilliseconds
        var s = State(queue: DeliveryQueue(schedule: config.schedule, limits: config.limits))
        for record in store.recoveredRecords() {
            if record.id.hasPrefix("webhook-endpoint:"), let endpoint = WebhookEndpoint(record: record.body) {
                s.endpoints[endpoint.id] = endpoint
                s.stats[endpoint.id] = EndpointStats()
            } else if record.id.hasPrefix("webhook-") {
                s.queue.restore(recordID: record.id, body: record.body, nowMs: now)
            }
        }
        state = Mutex(s)
        endpointCount.store(s.endpoints.count, ordering: .relaxed)
        // Everything committed from here on is queued in commit order; what was retained at start
        // and not yet queued (above each queue's mark) is queued inside the same lock order.
        hub.observeCommits { [weak self] outcome in self?.committed(outcome) }
        let endpoints = s.endpoints.values
        for endpoint in endpoints {
            hub.retained(matching: { k in endpoint.keys.contains { $0.matches(k) } }) { outcomes in
                self.state.withLock { st in
                    var changes = QueueChanges()
                    for o in outcomes where endpoint.matches(o) { changes.merge(st.queue.enqueue(o, endpoint: endpoint.id, nowMs: now)) }
                    self.persist(changes, st, nowMs: now)
                }
            }
        }
    }

    /// Starts the delivery pump.
    public func start() {
        let thread = Thread { [self] in pump() }
        thread.name = "webhooks"
        thread.start()
    }

    public func stop() {
        state.withLock { $0.stopped = true }
        wake.signal()
    }

    // MARK: queueing

    /// Called by the hub for each committed outcome, under its core lock: queue it, nothing more.
    func committed(_ outcome: Outcome) {
        guard endpointCount.load(ordering: .relaxed) > 0 else { return }
        let now = HubClock.wallMilliseconds
        let queued = state.withLock { s -> Bool in
            var changes = QueueChanges()
            for id in s.index.candidates(for: outcome.key.value) {
                guard let endpoint = s.endpoints[id], endpoint.matches(outcome) else { continue }
                changes.merge(s.queue.enqueue(outcome, endpoint: endpoint.id, nowMs: now))
            }
            persist(changes, s, nowMs: now)
            return !changes.isEmpty
        }
        if queued { wake.signal() }
    }

    /// Writes what changed, under the service's lock so the store sees each record's versions in
    /// order. A refused write is logged; the outcome log still lets a restart re-queue.
    func persist(_ changes: QueueChanges, _ s: State, nowMs: Int64) {
        guard store.isDurable, !changes.isEmpty else { return }
        var records: [(id: String, body: [UInt8], expiresAt: Int64)] = changes.queues.map { s.queue.queueRecord($0, nowMs: nowMs) }
        for entry in changes.deadLetters.union(changes.removedDeadLetters) {
            let parts = entry.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            records.append(s.queue.deadLetterRecord(parts[0], parts[1], nowMs: nowMs))
        }
        let logger = self.logger
        for r in records {
            store.put(StoredRecord(id: r.id, body: r.body, expiresAt: r.expiresAt)) { result in
                if case .failure(let e) = result { logger.error("webhook queue record not stored", metadata: ["record": "\(r.id)", "error": "\(e.message)"]) }
            }
        }
    }

    // MARK: delivering

    private func pump() {
        while true {
            let now = HubClock.wallMilliseconds
            let (due, next, stopped) = state.withLock { s -> ([Delivery], Int64?, Bool) in
                if now - s.lastExpiry > 60_000 {
                    s.lastExpiry = now
                    persist(s.queue.expire(nowMs: now), s, nowMs: now)
                }
                return (s.queue.due(nowMs: now), s.queue.nextDueAt(nowMs: HubClock.wallMilliseconds), s.stopped)
            }
            if stopped { return }
            for delivery in due { Task { await self.attempt(delivery) } }
            let waitMs = max(1, min((next ?? now + 1000) - now, 1000))
            _ = wake.wait(timeout: .now() + .milliseconds(Int(waitMs)))
        }
    }

    func attempt(_ delivery: Delivery) async {
        let now = HubClock.wallMilliseconds
        guard let endpoint = state.withLock({ $0.endpoints[delivery.endpointID] }) else { return }
        let result: AttemptResult
        var status: Int?
        if let url = ClientURL(endpoint.url) {
            if let reason = config.policy.refusal(host: url.host) {
                result = .failed(reason)
            } else {
                let timestamp = now / 1000
                let signatures = endpoint.signingSecrets(nowMs: now).compactMap(WebhookSignature.secretBytes)
                    .map { WebhookSignature.sign(id: delivery.outcomeID, timestampSeconds: timestamp, body: delivery.envelope, key: $0) }
                let headers = [("Content-Type", "application/json"), ("webhook-id", delivery.outcomeID), ("webhook-timestamp", String(timestamp)),
                               ("webhook-signature", signatures.joined(separator: " ")), ("User-Agent", "affinity-hub-webhooks")]
                do {
                    let response = try await http.execute(ClientRequest(method: "POST", url: url, headers: headers, body: delivery.envelope),
                                                          timeout: .milliseconds(config.timeoutMs))
                    status = response.status
                    switch response.status {
                    case 200..<300: result = .delivered
                    case 410: result = .gone
                    case 300..<400: result = .failed("HTTP \(response.status): redirects are not followed")
                    default: result = .failed("HTTP \(response.status)")
                    }
                } catch {
                    result = .failed("\(error)")
                }
            }
        } else {
            result = .failed("the endpoint URL does not parse")
        }
        let done = HubClock.wallMilliseconds
        let gone = state.withLock { s -> Bool in
            let (changes, gone) = s.queue.finish(delivery, result, nowMs: done, jitter: Double.random(in: -1...1))
            var stats = s.stats[delivery.endpointID] ?? EndpointStats()
            stats.attempts += 1
            stats.lastStatus = status
            switch result {
            case .delivered:
                stats.delivered += 1
                stats.lastDeliveredAt = done
                let timer = s.latency[delivery.endpointID] ?? Metrics.Timer(label: "affinity_webhook_latency_seconds",
                                                                            dimensions: [("endpoint", delivery.endpointID)])
                s.latency[delivery.endpointID] = timer
                timer.recordMilliseconds(done - delivery.queuedAt)
            case .failed(let reason):
                stats.failed += 1
                stats.lastError = reason
                if changes.deadLetters.isEmpty { stats.retried += 1 } else { stats.deadLettered += 1 }
            case .gone:
                stats.lastError = "the endpoint answered 410 Gone: unregistered"
            }
            s.stats[delivery.endpointID] = stats
            persist(changes, s, nowMs: done)
            return gone
        }
        if case .failed(let reason) = result {
            logger.warning("webhook delivery failed", metadata: ["endpoint": "\(delivery.endpointID)", "key": "\(delivery.key)", "seq": "\(delivery.seq)",
                                                               "attempt": "\(delivery.attempts + 1)", "error": "\(reason)"])
        }
        if gone {
            logger.info("webhook endpoint answered 410 Gone: unregistered", metadata: ["endpoint": "\(delivery.endpointID)", "url": "\(endpoint.url)"])
            _ = await unregister(delivery.endpointID)
        }
        wake.signal()
    }
}

/// Endpoint ids by exact key, and the prefix patterns to test; rebuilt when endpoints change.
struct MatchIndex {
    var exact: [String: [String]] = [:]
    var prefixes: [(prefix: String, endpoint: String)] = []

    init<S: Sequence>(_ endpoints: S) where S.Element == WebhookEndpoint {
        for e in endpoints {
            for k in e.keys {
                if k.text.hasSuffix("*") { prefixes.append((String(k.text.dropLast()), e.id)) } else { exact[k.text, default: []].append(e.id) }
            }
        }
    }

    /// Ids that may match `key` (each once; the endpoint's own `matches` decides, statuses included).
    func candidates(for key: String) -> [String] {
        var ids = exact[key] ?? []
        for p in prefixes where key.hasPrefix(p.prefix) && !ids.contains(p.endpoint) { ids.append(p.endpoint) }
        return ids
    }
}
