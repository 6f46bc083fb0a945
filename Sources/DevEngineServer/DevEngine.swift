// The dev engine served over HTTP: `EngineCore` under one Mutex, the REST v2 subset on the
// project's own server, long-polled job activation, and optional auth (basic, or OAuth 2 client
// credentials with its own token endpoint) so clients can be tested against every mode.
//
//   request ─▶ authorize ─▶ core.withLock { command } ─▶ answer ─▶ serviceWaiters()
//   every 50 ms: core.tick (job timeouts, message TTL) ─▶ serviceWaiters() ─▶ expire long polls
//
// A development default, not a production engine (see docs/dev-engine.md).
import Auth
import DevEngine
import Foundation
import HTTP1
import HubBytes
import HubServer
import Reactor
import Synchronization

/// What the dev engine requires of clients (to test every client auth mode).
public enum DevEngineAuth: Sendable {
    case none
    case basic(user: String, password: String)
    /// Bearer tokens from `POST /oauth/token` (client credentials), valid `tokenTTLSeconds`.
    case oauth(clientId: String, clientSecret: String, tokenTTLSeconds: Int)
}

/// The dev engine behind its HTTP routes; add it to a router with `addDevEngineRoutes`.
public final class DevEngine: Sendable {
    let core: Mutex<EngineCore>
    let waiters = Mutex<[ActivationWaiter]>([])
    let completionWaiters = Mutex<[Int64: [CompletionWaiter]]>([:])
    let auth: DevEngineAuth
    let tokens = Mutex<[String: Int64]>([:])
    /// Tokens issued by the OAuth endpoint (tests check that clients cache them).
    public let tokensIssued = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    public init(auth: DevEngineAuth = .none, limits: EngineLimits = EngineLimits()) {
        core = Mutex(EngineCore(limits: limits))
        self.auth = auth
        let thread = Thread { [weak self] in
            while let engine = self, !engine.stopped.load(ordering: .relaxed) {
                engine.upkeep()
                usleep(50_000)
            }
        }
        thread.name = "dev-engine-upkeep"
        thread.start()
    }

    /// Stops the upkeep thread (job timeouts and long-poll expiry).
    public func stop() { stopped.store(true, ordering: .relaxed) }

    /// Wall-clock time, for what clients wait on (long polls, `awaitCompletion`, tokens).
    static var wallMs: Int64 { HubClock.wallMilliseconds }

    /// The engine's time: the wall clock, or the instant `PUT /v2/clock` pinned it to (tests move
    /// it to fire timers without sleeping, as with Zeebe's controlled clock).
    let pinnedClock = Mutex<Int64?>(nil)
    public var nowMs: Int64 { pinnedClock.withLock { $0 } ?? Self.wallMs }

    /// Fires what the engine's time makes due now (after the clock moved), not at the next upkeep.
    func tickNow() {
        let engineNow = nowMs
        core.withLock { $0.tick(nowMs: engineNow) }
    }

    private func upkeep() {
        let engineNow = nowMs
        core.withLock { $0.tick(nowMs: engineNow) }
        let now = Self.wallMs
        serviceWaiters()
        let expired = waiters.withLock { list -> [ActivationWaiter] in
            let gone = list.filter { $0.deadlineMs <= now || $0.box.isCancelled }
            list.removeAll { $0.deadlineMs <= now || $0.box.isCancelled }
            return gone
        }
        for w in expired where !w.box.isCancelled { w.box.respond(.json(200, "{\"jobs\":[]}")) }
        let timedOut = completionWaiters.withLock { all -> [CompletionWaiter] in
            var out: [CompletionWaiter] = []
            for (k, list) in all {
                out += list.filter { $0.deadlineMs <= now }
                let rest = list.filter { $0.deadlineMs > now }
                all[k] = rest.isEmpty ? nil : rest
            }
            return out
        }
        for w in timedOut {
            w.box.respond(problem(EngineError(504, "DEADLINE_EXCEEDED", "Expected to complete the process instance within the request timeout, but it did not"), "/v2/process-instances"))
        }
    }

    /// Answers the long polls that can now get jobs, and `awaitCompletion` creations whose
    /// instance finished. Called after every command and on each upkeep tick.
    func serviceWaiters() {
        let now = Self.wallMs, engineNow = nowMs
        let ready = waiters.withLock { list -> [(ActivationWaiter, [EngineCore.ActivatedJob])] in
            var out: [(ActivationWaiter, [EngineCore.ActivatedJob])] = []
            list.removeAll { w in
                guard !w.box.isCancelled else { return true }
                // Past its deadline (a late upkeep tick): it gets its empty answer from upkeep,
                // not a job that became due after the client stopped waiting.
                guard w.deadlineMs > now else { return false }
                let jobs = core.withLock { c -> [EngineCore.ActivatedJob] in
                    guard c.hasActivatableJob(type: w.type, nowMs: engineNow) else { return [] }
                    return c.activateJobs(type: w.type, worker: w.worker, timeoutMs: w.timeoutMs, max: w.max, fetchVariables: w.fetchVariables, nowMs: engineNow)
                }
                guard !jobs.isEmpty else { return false }
                out.append((w, jobs))
                return true
            }
            return out
        }
        for (w, jobs) in ready { deliver(jobs, to: w.box) }

        let finished = completionWaiters.withLock { all -> [(CompletionWaiter, EngineCore.InstanceView)] in
            var out: [(CompletionWaiter, EngineCore.InstanceView)] = []
            for key in Array(all.keys) {
                guard let view = core.withLock({ $0.instance(key) }), view.state != .active else { continue }
                out += all[key]!.map { ($0, view) }
                all[key] = nil
            }
            return out
        }
        for (w, view) in finished {
            if view.state == .completed {
                w.box.respond(.json(200, instanceCreated(view.definition, key: view.key, variables: filter(view.variables, w.fetchVariables)).serialized()))
            } else {
                w.box.respond(problem(.invalidState("The process instance was canceled before it completed"), "/v2/process-instances"))
            }
        }
    }

    /// Sends activated jobs; if the poller has gone meanwhile, the jobs are offered again at once.
    func deliver(_ jobs: [EngineCore.ActivatedJob], to box: ExchangeHandle) {
        let body = JSONValue.object(["jobs": .array(jobs.map(\.json))]).serialized()
        let keys = jobs.compactMap { $0.json["jobKey"]?.stringValue.flatMap { Int64($0) } }
        box.respond(.json(200, body)) { [weak self] in
            guard let self else { return }
            self.core.withLock { c in for k in keys { c.releaseJob(k) } }
            self.serviceWaiters()
        }
    }

    func filter(_ variables: [String: JSONValue], _ names: [String]?) -> [String: JSONValue] {
        guard let names, !names.isEmpty else { return variables }
        return variables.filter { names.contains($0.key) }
    }

    func instanceCreated(_ def: ProcessDefinition, key: Int64, variables: [String: JSONValue]?) -> JSONValue {
        [
            "processDefinitionKey": .string(String(def.key)), "processDefinitionId": .string(def.processId),
            "processDefinitionVersion": JSONValue(def.version), "processInstanceKey": .string(String(key)), "tenantId": "<default>",
            "variables": .object(variables ?? [:]), "tags": [], "businessId": .null,
        ]
    }

    // MARK: auth

    /// nil when the request may proceed; else the 401 answer.
    func authorize(_ request: HTTPRequest) -> HTTPResponse? {
        let header = request.headers["Authorization"] ?? ""
        switch auth {
        case .none: return nil
        case .basic(let user, let password):
            let expected = "Basic " + Base64.encode(Array("\(user):\(password)".utf8))
            if constantTimeEquals(header, expected) { return nil }
        case .oauth:
            if header.hasPrefix("Bearer ") {
                let token = String(header.dropFirst(7))
                let now = Self.wallMs
                if let exp = tokens.withLock({ $0[token] }), exp > now { return nil }
            }
        }
        var r = problem(EngineError(401, "Unauthorized", "missing or invalid credentials"), request.target)
        r.headers.append(("WWW-Authenticate", { if case .basic = auth { return "Basic realm=\"dev-engine\"" } else { return "Bearer" } }()))
        return r
    }

    func issueToken(_ request: HTTPRequest) -> HTTPResponse {
        guard case .oauth(let id, let secret, let ttl) = auth else {
            return .json(404, #"{"error":"not_found","message":"OAuth is not enabled on this dev engine"}"#)
        }
        let form = Query(Substring(String(decoding: request.body, as: UTF8.self)))
        var clientId = form["client_id"], clientSecret = form["client_secret"]
        if let basic = request.headers["Authorization"], basic.hasPrefix("Basic "),
           let decoded = Base64.decode(String(basic.dropFirst(6))).flatMap({ String(validating: $0, as: UTF8.self) }),
           let colon = decoded.firstIndex(of: ":") {
            clientId = String(decoded[..<colon]); clientSecret = String(decoded[decoded.index(after: colon)...])
        }
        guard form["grant_type"] == "client_credentials" else {
            return .json(400, #"{"error":"unsupported_grant_type","error_description":"only client_credentials"}"#)
        }
        guard let cid = clientId, let cs = clientSecret, constantTimeEquals(cid, id), constantTimeEquals(cs, secret) else {
            return .json(401, #"{"error":"invalid_client","error_description":"unknown client or wrong secret"}"#)
        }
        let token = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let now = Self.wallMs
        tokens.withLock { t in
            t = t.filter { $0.value > now }
            t[token] = now + Int64(ttl) * 1000
        }
        tokensIssued.add(1, ordering: .relaxed)
        return .json(200, JSONValue.object(["access_token": .string(token), "token_type": "Bearer", "expires_in": JSONValue(ttl)]).serialized(),
                     headers: [("Cache-Control", "no-store")])
    }
}

/// Secrets compared in time independent of where they differ.
func constantTimeEquals(_ a: String, _ b: String) -> Bool { Auth.constantTimeEquals(Array(a.utf8), Array(b.utf8)) }

/// `application/problem+json` answer for an engine error.
func problem(_ e: EngineError, _ instance: String) -> HTTPResponse {
    HTTPResponse(status: e.status, headers: [("Content-Type", "application/problem+json")], body: Array(e.problemJSON(instance: instance).utf8))
}
