// The HTTP custom-activity contract, served by the hub (docs/callbacks.md):
//
//   job `http-callback` ─▶ record (durable) ─▶ POST callbackEndpoint {responsePath, errorResponsePath,
//        flowElementInstanceId, data} ─▶ 2xx: the job stays open │ else: fail with retries − 1, back-off
//   POST responsePath / errorResponsePath ─▶ capability checked (no lookup for a forged token)
//        ─▶ CallbackBook decides ─▶ answer recorded as pending (durable) ─▶ engine command
//        ─▶ answer recorded as final (durable) ─▶ 200; a repeat gets the same 200, a different
//           call 409, a job the engine no longer has 410; an engine outage 503 (nothing kept)
//
// Recording the answer before the engine call means a crash between the two is finished by the
// caller's retry (the pending answer is re-driven, and the engine's "no such job" then means our
// first call took effect) instead of being answered "gone".
import Callbacks
import CamundaClient
import HTTPClient
import HubBytes
import HubCore
import HubServer
import Logging
import Reactor
import Synchronization

public struct CallbackConfiguration: Sendable {
    /// The job type the hub takes. Default `http-callback`.
    public var jobType = "http-callback"
    /// Base of the URLs the hub writes into callbacks (what the service can reach): the hub's
    /// public address, e.g. `https://hub.example.com` behind a proxy.
    public var publicURL: String
    /// Base for `callbackEndpoint` headers that are paths rather than absolute URLs, so one BPMN
    /// runs against per-environment services.
    public var endpointBaseURL: String?
    /// How long the service has to acknowledge the POST. 10 s.
    public var requestTimeout: Duration = .seconds(10)
    /// How long a job waits for its callback unless the task header `callbackTimeout` says
    /// otherwise. 24 h: long enough for slow back offices.
    public var callbackTimeout: Duration = .seconds(86_400)
    /// How long an answered callback keeps its "already answered" replies after its timeout. 24 h.
    public var answeredRetention: Duration = .seconds(86_400)
    /// Deliveries in flight at once (jobs activated at once).
    public var maxConcurrentJobs = 32
    /// Calls per second one client address may make to the callback URLs (burst: twice that).
    public var perAddressPerSecond = 20
    /// CA file for https endpoints (default: the system's trust store).
    public var caFile: String?

    public init(publicURL: String) { self.publicURL = publicURL }
}

/// Counters for /metrics.
public final class CallbackStats: Sendable {
    public let delivered = Atomic<Int>(0)
    public let deliveryFailures = Atomic<Int>(0)
    public let answered = Atomic<Int>(0)
    public let repeats = Atomic<Int>(0)
    public let conflicts = Atomic<Int>(0)
    public let gone = Atomic<Int>(0)
    public let refusedTokens = Atomic<Int>(0)
    public let rateLimited = Atomic<Int>(0)
    public init() {}

    /// The counters, for `ExportedMetrics` (see docs/metrics.md).
    public func samples() -> [ExportedMetrics.Sample] {
        func count(_ name: String, _ v: borrowing Atomic<Int>) -> ExportedMetrics.Sample {
            .counter("affinity_callback_\(name)", v.load(ordering: .relaxed))
        }
        return [count("deliveries_total", delivered), count("delivery_failures_total", deliveryFailures), count("answers_total", answered),
                count("repeats_total", repeats), count("conflicts_total", conflicts), count("gone_total", gone),
                count("refused_tokens_total", refusedTokens), count("rate_limited_total", rateLimited)]
    }
}

/// The answer to a call of a callback URL.
public struct CallbackReply: Sendable, Equatable {
    public var status: Int
    public var body: String
    public init(status: Int, body: String) { self.status = status; self.body = body }
}

public final class HTTPCallbacks: Sendable {
    public let config: CallbackConfiguration
    public let stats = CallbackStats()
    let capabilities: CallbackCapabilities
    let engine: CamundaClient
    let store: OutcomeStore
    let http: HTTPClient
    let logger: Logger
    let book: Mutex<CallbackBook>
    /// Engine calls under way, by job key.
    let inFlight = OneCallAtATime()
    let limiter: Mutex<AddressRateLimiter>
    /// Delivery failures per job since its last success (for the back-off).
    let failures = Mutex<[String: Int]>([:])
    let worker = Mutex<JobWorker?>(nil)
    let reaper = Mutex<Task<Void, Never>?>(nil)

    /// With several nodes: where callback records are shared (nil on one node).
    let shared: SharedRecords?

    public init(config: CallbackConfiguration, secret: [UInt8], engine: CamundaClient, store: OutcomeStore, shared: SharedRecords? = nil,
                logger: Logger) {
        self.config = config
        self.shared = shared
        self.capabilities = CallbackCapabilities(secret: secret)
        self.engine = engine
        self.store = store
        self.logger = logger
        self.http = HTTPClient(caFile: config.caFile, maxIdlePerHost: 4, maxResponseBytes: 64 << 10)
        let now = HubClock.wallMilliseconds
        book = Mutex(CallbackBook(recovered: store.recoveredRecords(), nowMs: now))
        limiter = Mutex(AddressRateLimiter(perSecond: config.perAddressPerSecond, burst: config.perAddressPerSecond * 2))
    }

    /// The URL the service calls for `kind`.
    public func url(jobKey: String, kind: CallbackKind) -> String {
        "\(config.publicURL)/v1/callbacks/\(jobKey)/\(kind.rawValue)/\(capabilities.token(jobKey: jobKey, kind: kind))"
    }

    // MARK: answering

    /// A call of `POST /v1/callbacks/{jobKey}/{kind}/{token}`.
    public func answer(jobKey: String, kind: CallbackKind, token: String, body: [UInt8], from address: String) async -> CallbackReply {
        let now = HubClock.wallMilliseconds
        guard limiter.withLock({ $0.allow(address, nowMs: now) }) else {
            stats.rateLimited.add(1, ordering: .relaxed)
            return CallbackReply(status: 429, body: JSONText.errorBody(code: "rate_limited", message: "too many calls from this address; retry in a second"))
        }
        // A forged token costs one HMAC: no record is looked up.
        guard capabilities.verify(jobKey: jobKey, kind: kind, token: token) else {
            stats.refusedTokens.add(1, ordering: .relaxed)
            return CallbackReply(status: 404, body: JSONText.errorBody(code: "not_found", message: "no such callback"))
        }
        if let unreachable = await refresh(jobKey) { return unreachable }
        return await decide(jobKey: jobKey, kind: kind, body: body, leading: false)
    }

    /// With several nodes: takes the record as the shared store holds it (another node may have
    /// issued or answered it). Returns a 503 to answer when the store cannot be asked: deciding
    /// on an old copy could answer the job twice.
    func refresh(_ jobKey: String) async -> CallbackReply? {
        guard let shared else { return nil }
        switch await shared.get(CallbackRecord.id(jobKey: jobKey)) {
        case .success(let stored?):
            if let record = CallbackRecord(stored) { book.withLock { $0.adopt(record) } }
            return nil
        case .success(nil):
            return nil
        case .failure(let e):
            return CallbackReply(status: 503, body: JSONText.errorBody(code: "store_failed", message: "\(e.message); nothing was recorded, retry"))
        }
    }

    /// `leading`: this caller holds the job's one engine call (`inFlight`, and with several nodes
    /// the shared lease). `attempt` counts waits for another node's call.
    private func decide(jobKey: String, kind: CallbackKind, body: [UInt8], leading: Bool, attempt: Int = 0) async -> CallbackReply {
        let now = HubClock.wallMilliseconds
        switch book.withLock({ $0.decide(jobKey: jobKey, kind: kind, body: body, nowMs: now) }) {
        case .refused(let status, let code, let message):
            return CallbackReply(status: status, body: JSONText.errorBody(code: code, message: message))
        case .unknown:
            stats.gone.add(1, ordering: .relaxed)
            return CallbackReply(status: 410, body: JSONText.errorBody(code: "gone", message: "this callback expired or its job is no longer waiting"))
        case .repeated(let answer):
            stats.repeats.add(1, ordering: .relaxed)
            return CallbackReply(status: 200, body: Self.recorded(answer, jobKey: jobKey))
        case .conflict(let answer) where answer.state == .pending && !leading:
            // Another answer is being applied: wait for it, so this caller is told how it ended
            // (or, if the engine did not take it, gets its own turn).
            return await takeTurn(jobKey: jobKey, kind: kind, body: body, attempt: attempt)
        case .conflict(let answer):
            stats.conflicts.add(1, ordering: .relaxed)
            return CallbackReply(status: 409, body: Self.refusal("conflict", "this callback was already answered otherwise", answer, jobKey: jobKey))
        case .gone(let answer):
            stats.gone.add(1, ordering: .relaxed)
            return CallbackReply(status: 410, body: Self.refusal("gone", "the engine no longer had this job when it was answered", answer, jobKey: jobKey))
        case .apply(let answer, let command):
            guard leading else { return await takeTurn(jobKey: jobKey, kind: kind, body: body, attempt: attempt) }
            let redrive = answer.state == .pending && book.withLock { $0.records[jobKey]?.answer == answer }
            return await drive(answer, command, jobKey: jobKey, redrive: redrive)
        }
    }

    /// One engine call per job at a time: waits for the one under way, then decides afresh (the
    /// same answer is then a repeat, a different one a conflict told the final answer); or takes
    /// the turn and decides as the leader. The leader decides again too: a call that finished
    /// since the first decision may have answered the job.
    private func takeTurn(jobKey: String, kind: CallbackKind, body: [UInt8], attempt: Int) async -> CallbackReply {
        guard inFlight.lead(jobKey) else {
            await inFlight.finished(jobKey)
            return await decide(jobKey: jobKey, kind: kind, body: body, leading: false, attempt: attempt)
        }
        if let shared {
            // Across nodes: one engine call per job too. A node that finds another's call
            // under way waits for it and decides on what that call recorded.
            let lease = CallbackRecord.id(jobKey: jobKey)
            switch await shared.lease(lease, ms: 30_000) {
            case .failure(let e):
                inFlight.finish(jobKey)
                return CallbackReply(status: 503, body: JSONText.errorBody(code: "store_failed", message: "\(e.message); nothing was recorded, retry"))
            case .success(false):
                inFlight.finish(jobKey)
                guard attempt < 300 else {
                    return CallbackReply(status: 503, body: JSONText.errorBody(code: "busy", message: "another node is still answering this callback; retry"))
                }
                try? await Task.sleep(for: .milliseconds(100))
                if let unreachable = await refresh(jobKey) { return unreachable }
                return await decide(jobKey: jobKey, kind: kind, body: body, leading: false, attempt: attempt + 1)
            case .success(true):
                defer { shared.release(lease); inFlight.finish(jobKey) }
                if let unreachable = await refresh(jobKey) { return unreachable }
                return await decide(jobKey: jobKey, kind: kind, body: body, leading: true)
            }
        }
        defer { inFlight.finish(jobKey) }
        return await decide(jobKey: jobKey, kind: kind, body: body, leading: true)
    }

    private func drive(_ answer: CallbackRecord.Answer, _ command: EngineCommand, jobKey: String, redrive: Bool) async -> CallbackReply {
        var pending = answer
        pending.state = .pending
        let before = book.withLock { $0.records[jobKey] }
        if let r = book.withLock({ $0.record(pending, jobKey: jobKey) }), case .failure(let e) = await persist(r) {
            // Undone as it was, version included: the store never saw the change.
            if let before { book.withLock { $0.restore(before) } }
            return CallbackReply(status: 503, body: JSONText.errorBody(code: "store_failed", message: "\(e.message); nothing was recorded, retry"))
        }
        var final = answer
        do {
            switch command {
            case .complete(let variables):
                try await engine.completeJob(jobKey, variables: variables)
                final.state = .completed
            case .throwError(let code, let message):
                try await engine.throwError(jobKey, errorCode: code, errorMessage: message)
                final.state = .errorThrown
            case .fail(let message):
                try await engine.failJob(jobKey, retries: 0, errorMessage: message)
                final.state = .failed
            }
        } catch let error as CamundaError where error.problem?.status == 404 {
            // Re-driving an answer recorded before a crash: "no such job" means that first call
            // took effect. A fresh answer: the instance was cancelled, or the job answered otherwise.
            final.state = redrive ? Self.effect(of: command) : .gone
        } catch {
            if let r = book.withLock({ $0.withdraw(jobKey: jobKey) }) { _ = await persist(r) }
            logger.warning("callback answer not delivered to the engine", metadata: ["job": "\(jobKey)", "error": "\(error)"])
            return CallbackReply(status: 503, body: JSONText.errorBody(code: "engine_unavailable", message: "the engine did not take the answer (\(error)); nothing was recorded, retry"))
        }
        if let r = book.withLock({ $0.record(final, jobKey: jobKey) }) { _ = await persist(r) }
        failures.withLock { $0[jobKey] = nil }
        if final.state == .gone {
            stats.gone.add(1, ordering: .relaxed)
            return CallbackReply(status: 410, body: Self.refusal("gone", "the engine no longer has this job (its instance was cancelled or the job ended)", final, jobKey: jobKey))
        }
        stats.answered.add(1, ordering: .relaxed)
        return CallbackReply(status: 200, body: Self.recorded(final, jobKey: jobKey))
    }

    static func effect(of command: EngineCommand) -> CallbackRecord.State {
        switch command {
        case .complete: .completed
        case .throwError: .errorThrown
        case .fail: .failed
        }
    }

    /// Stores the record here, and with several nodes in the shared store (both, or it failed).
    func persist(_ record: CallbackRecord) async -> Result<Void, HubError> {
        if let shared, case .failure(let e) = await shared.put(record.stored) { return .failure(e) }
        return await persistLocally(record)
    }

    private func persistLocally(_ record: CallbackRecord) async -> Result<Void, HubError> {
        await withCheckedContinuation { (c: CheckedContinuation<Result<Void, HubError>, Never>) in
            store.put(record.stored) { c.resume(returning: $0) }
        }
    }

    // MARK: replies

    static func recordedJSON(_ answer: CallbackRecord.Answer) -> JSONValue {
        ["kind": .string(answer.kind.rawValue), "state": .string(answer.state.rawValue), "at": JSONValue(Int(answer.at)), "body": answer.body]
    }

    static func recorded(_ answer: CallbackRecord.Answer, jobKey: String) -> String {
        JSONValue.object(["jobKey": .string(jobKey), "status": .string(answer.state.rawValue), "recorded": recordedJSON(answer)]).serialized()
    }

    static func refusal(_ code: String, _ message: String, _ answer: CallbackRecord.Answer, jobKey: String) -> String {
        JSONValue.object(["error": .string(code), "message": .string(message), "jobKey": .string(jobKey), "recorded": recordedJSON(answer)]).serialized()
    }
}
