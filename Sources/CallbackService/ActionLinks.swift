// One-time action links (docs/callbacks.md): exclusive choices that correlate a message into a
// waiting instance, exactly once, from a link in an email, an SMS or a chat.
//
//   POST /v1/actions (publisher key) or a create-action-links job ─▶ group recorded (durable) ─▶ links
//   GET  link ─▶ confirmation page (mail scanners and chat previews fetch links: GET never acts)
//   POST link ─▶ ActionBook.use ─▶ pending (durable) ─▶ publish message, messageId = the group
//              ─▶ used (durable) ─▶ "recorded"; a repeat shows the same, a sibling "another choice"
//   DELETE /v1/actions/{group} or a revoke-action-links job ─▶ revoked: every link answers 410
//
// The message id is the group's, so neither a retried click after a lost response nor two
// siblings racing on two connections (or two nodes) can correlate twice.
import Callbacks
import CamundaClient
import HubBytes
import HubCore
import HubServer
import Logging
import Reactor
import Synchronization

public struct ActionLinkConfiguration: Sendable {
    public var createJobType = "create-action-links"
    public var revokeJobType = "revoke-action-links"
    /// The longest a group may live. 30 days.
    public var maxTTLSeconds = 30 * 86_400
    /// Default TTL of groups made by a job without a `ttl` header. 48 h.
    public var defaultTTLSeconds = 48 * 3_600
    /// How long a group is kept after it expires: late clicks see "expired" or "already recorded". 7 days.
    public var retention: Duration = .seconds(7 * 86_400)
    public var perAddressPerSecond = 20
    public init() {}
}

public final class ActionLinkStats: Sendable {
    public let created = Atomic<Int>(0)
    public let used = Atomic<Int>(0)
    public let repeats = Atomic<Int>(0)
    public let otherChosen = Atomic<Int>(0)
    public let expiredOrRevoked = Atomic<Int>(0)
    public let revoked = Atomic<Int>(0)
    public let refusedTokens = Atomic<Int>(0)
    public let rateLimited = Atomic<Int>(0)
    public init() {}

    /// The counters, for `ExportedMetrics` (see docs/metrics.md).
    public func samples() -> [ExportedMetrics.Sample] {
        func count(_ name: String, _ v: borrowing Atomic<Int>) -> ExportedMetrics.Sample {
            .counter("affinity_action_links_\(name)", v.load(ordering: .relaxed))
        }
        return [count("groups_created_total", created), count("used_total", used), count("repeats_total", repeats),
                count("other_chosen_total", otherChosen), count("expired_total", expiredOrRevoked), count("revoked_total", revoked),
                count("refused_tokens_total", refusedTokens), count("rate_limited_total", rateLimited)]
    }
}

public final class ActionLinks: Sendable {
    public let config: ActionLinkConfiguration
    public let stats = ActionLinkStats()
    let publicURL: String
    let capabilities: CallbackCapabilities
    let engine: CamundaClient
    let store: OutcomeStore
    let logger: Logger
    let book: Mutex<ActionBook>
    /// Message publications under way, by group.
    let inFlight = OneCallAtATime()
    let limiter: Mutex<AddressRateLimiter>
    let workers = Mutex<[JobWorker]>([])

    public init(config: ActionLinkConfiguration, publicURL: String, secret: [UInt8], engine: CamundaClient, store: OutcomeStore, logger: Logger) {
        self.config = config
        self.publicURL = publicURL
        self.capabilities = CallbackCapabilities(secret: secret)
        self.engine = engine
        self.store = store
        self.logger = logger
        book = Mutex(ActionBook(recovered: store.recoveredRecords(), retentionMs: Int64(config.retention.wholeMilliseconds), nowMs: HubClock.wallMilliseconds))
        limiter = Mutex(AddressRateLimiter(perSecond: config.perAddressPerSecond, burst: config.perAddressPerSecond * 2))
    }

    public func link(group: String, action: String) -> String {
        "\(publicURL)/v1/actions/\(group)/\(action)/\(capabilities.token(group: group, action: action))"
    }

    func links(_ group: ActionGroup) -> [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: group.actions.map { ($0.name, JSONValue.string(link(group: group.id, action: $0.name))) })
    }

    // MARK: creating and revoking

    /// Creates a group from a definition (the API's body or a job's headers). Returns it with
    /// whether it is new; an identical definition under an existing id is an idempotent repeat.
    func create(_ body: JSONValue, defaultID: String) async -> Result<(ActionGroup, Bool), ActionError> {
        let now = HubClock.wallMilliseconds
        let parsed = ActionGroup.parse(body, defaultID: defaultID, nowMs: now, maxTTLSeconds: config.maxTTLSeconds)
        guard case .success(let candidate) = parsed else { return parsed.map { ($0, false) } }
        let created = book.withLock { $0.create(candidate) }
        guard case .success(let (group, isNew)) = created else { return created.map { ($0.group, $0.isNew) } }
        if isNew {
            if case .failure(let e) = await persist(group) {
                book.withLock { book in _ = book.set(.revoked(at: now), group: group.id) }
                return .failure(.invalid("the hub could not record the group: \(e.message)"))
            }
            stats.created.add(1, ordering: .relaxed)
        }
        return .success((group, isNew))
    }

    func revoke(_ id: String) async -> Result<ActionGroup, ActionError>? {
        guard let result = book.withLock({ $0.revoke(group: id, nowMs: HubClock.wallMilliseconds) }) else { return nil }
        if case .success(let group) = result {
            if case .failure(let e) = await persist(group) { return .failure(.invalid("the hub could not record the revocation: \(e.message)")) }
            stats.revoked.add(1, ordering: .relaxed)
        }
        return result
    }

    func group(_ id: String) -> ActionGroup? { book.withLock { $0.groups[id] } }

    // MARK: opening and using links

    /// What a link shows or did, for the page or a JSON client.
    enum LinkResult: Sendable {
        case view(LinkView, notice: String?)
        case invalid(ActionGroup, ActionDefinition, String)
        case notFound
        case rateLimited
        case unavailable(String)
    }

    func admit(_ address: String) -> Bool {
        if limiter.withLock({ $0.allow(address, nowMs: HubClock.wallMilliseconds) }) { return true }
        stats.rateLimited.add(1, ordering: .relaxed)
        return false
    }

    func open(group: String, action: String, token: String, from address: String) -> LinkResult {
        guard admit(address) else { return .rateLimited }
        guard capabilities.verify(group: group, action: action, token: token) else { stats.refusedTokens.add(1, ordering: .relaxed); return .notFound }
        let view = book.withLock { $0.view(group: group, action: action, nowMs: HubClock.wallMilliseconds) }
        count(view)
        return .view(view, notice: nil)
    }

    func use(group: String, action: String, token: String, form: [String: JSONValue], from address: String) async -> LinkResult {
        guard admit(address) else { return .rateLimited }
        guard capabilities.verify(group: group, action: action, token: token) else { stats.refusedTokens.add(1, ordering: .relaxed); return .notFound }
        return await decideUse(group: group, action: action, form: form, waitForSibling: true)
    }

    private func decideUse(group: String, action: String, form: [String: JSONValue], waitForSibling: Bool) async -> LinkResult {
        switch book.withLock({ $0.use(group: group, action: action, form: form, nowMs: HubClock.wallMilliseconds) }) {
        case .view(.otherChosen(let g)) where waitForSibling && g.isPending:
            // A sibling's choice is being published: its fate decides this click's answer.
            await inFlight.finished(group)
            return await decideUse(group: group, action: action, form: form, waitForSibling: false)
        case .view(let view):
            count(view)
            if case .recorded = view { stats.repeats.add(1, ordering: .relaxed) }
            return .view(view, notice: nil)
        case .invalid(let g, let a, let message):
            return .invalid(g, a, message)
        case .apply(let g, let chosen, let variables):
            return await apply(g, action: chosen, variables: variables, form: form)
        }
    }

    private func count(_ view: LinkView) {
        switch view {
        case .expired, .revoked, .unknown: stats.expiredOrRevoked.add(1, ordering: .relaxed)
        case .otherChosen: stats.otherChosen.add(1, ordering: .relaxed)
        case .open, .recorded: break
        }
    }

    /// One publish per group at a time. A click that finds one under way waits for it and is
    /// then decided afresh: the same choice sees it recorded, a sibling sees "another choice"
    /// (or, if that publish failed, gets its own turn).
    private func apply(_ group: ActionGroup, action: String, variables: [String: JSONValue], form: [String: JSONValue]) async -> LinkResult {
        guard inFlight.lead(group.id) else {
            await inFlight.finished(group.id)
            return await decideUse(group: group.id, action: action, form: form, waitForSibling: false)
        }
        defer { inFlight.finish(group.id) }
        return await publish(group, action: action, variables: variables)
    }

    private func publish(_ group: ActionGroup, action: String, variables: [String: JSONValue]) async -> LinkResult {
        let now = HubClock.wallMilliseconds
        // Another click may have finished between the decision and now: look again.
        let current = book.withLock { $0.groups[group.id] }
        if case .used = current?.state { return .view(book.withLock { $0.view(group: group.id, action: action, nowMs: now) }, notice: nil) }
        if case .revoked = current?.state { return .view(.revoked(current!), notice: nil) }
        if let pending = book.withLock({ $0.set(.pending(action: action, variables: variables, at: now), group: group.id) }),
           case .failure(let e) = await persist(pending) {
            book.withLock { _ = $0.set(.open, group: group.id) }
            return .unavailable("the hub could not record your choice (\(e.message)); nothing happened, try again")
        }
        // The message waits for the instance if it is not at its catch event yet, until the group expires.
        let ttl = Duration.milliseconds(max(1_000, group.expiresAt - now))
        do {
            try await engine.publishMessage(name: group.messageName, correlationKey: group.correlationKey, timeToLive: ttl,
                                            messageId: "action-group:\(group.id)", variables: variables)
        } catch let error as CamundaError where error.problem?.status == 409 {
            // ALREADY_EXISTS: this group's message was published (by an earlier try whose answer was lost).
        } catch {
            if let reopened = book.withLock({ $0.set(.open, group: group.id) }) { _ = await persist(reopened) }
            logger.warning("action link: the engine did not take the message", metadata: ["group": "\(group.id)", "error": "\(error)"])
            return .unavailable("the workflow engine did not take your choice right now; nothing happened, try again")
        }
        if let used = book.withLock({ $0.set(.used(action: action, variables: variables, at: now), group: group.id) }) { _ = await persist(used) }
        stats.used.add(1, ordering: .relaxed)
        return .view(book.withLock { $0.view(group: group.id, action: action, nowMs: now) }, notice: "recorded")
    }

    func persist(_ group: ActionGroup) async -> Result<Void, HubError> {
        let record = book.withLock { $0.stored(group) }
        return await withCheckedContinuation { (c: CheckedContinuation<Result<Void, HubError>, Never>) in
            store.put(record) { c.resume(returning: $0) }
        }
    }
}
