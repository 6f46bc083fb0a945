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

    /// With several nodes: where groups are shared (nil on one node).
    let shared: SharedRecords?

    public init(config: ActionLinkConfiguration, publicURL: String, secret: [UInt8], engine: CamundaClient, store: OutcomeStore,
                shared: SharedRecords? = nil, logger: Logger) {
        self.config = config
        self.shared = shared
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
        // The same id created on another node is the same group (or a conflict), as on one node.
        if let unreachable = await refresh(candidate.id) { return .failure(.invalid("the hub could not read the group: \(unreachable)")) }
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
        if let unreachable = await refresh(id) { return .failure(.invalid("the hub could not read the group: \(unreachable)")) }
        guard let result = book.withLock({ $0.revoke(group: id, nowMs: HubClock.wallMilliseconds) }) else { return nil }
        if case .success(let group) = result {
            if case .failure(let e) = await persist(group) { return .failure(.invalid("the hub could not record the revocation: \(e.message)")) }
            stats.revoked.add(1, ordering: .relaxed)
        }
        return result
    }

    func group(_ id: String) -> ActionGroup? { book.withLock { $0.groups[id] } }

    /// The group as it stands, refreshed from the shared store first when there is one.
    func currentGroup(_ id: String) async -> ActionGroup? {
        _ = await refresh(id)
        return group(id)
    }

    /// With several nodes: takes the group as the shared store holds it (another node may have
    /// created it or recorded a choice). Returns why the store could not be asked, if it could not.
    func refresh(_ id: String) async -> String? {
        guard let shared else { return nil }
        switch await shared.get(ActionGroup.recordID(id)) {
        case .success(let stored?):
            if let group = ActionGroup(stored) { book.withLock { $0.adopt(group) } }
            return nil
        case .success(nil): return nil
        case .failure(let e): return e.message
        }
    }

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

    func open(group: String, action: String, token: String, from address: String) async -> LinkResult {
        guard admit(address) else { return .rateLimited }
        guard capabilities.verify(group: group, action: action, token: token) else { stats.refusedTokens.add(1, ordering: .relaxed); return .notFound }
        if let unreachable = await refresh(group) { return .unavailable("the hub could not read this link's state (\(unreachable)); try again") }
        let view = book.withLock { $0.view(group: group, action: action, nowMs: HubClock.wallMilliseconds) }
        count(view)
        return .view(view, notice: nil)
    }

    func use(group: String, action: String, token: String, form: [String: JSONValue], from address: String) async -> LinkResult {
        guard admit(address) else { return .rateLimited }
        guard capabilities.verify(group: group, action: action, token: token) else { stats.refusedTokens.add(1, ordering: .relaxed); return .notFound }
        if let unreachable = await refresh(group) { return .unavailable("the hub could not read this link's state (\(unreachable)); nothing happened, try again") }
        return await decideUse(group: group, action: action, form: form, waitForSibling: true)
    }

    private func decideUse(group: String, action: String, form: [String: JSONValue], waitForSibling: Bool, attempt: Int = 0) async -> LinkResult {
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
            return await apply(g, action: chosen, variables: variables, form: form, attempt: attempt)
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
    private func apply(_ group: ActionGroup, action: String, variables: [String: JSONValue], form: [String: JSONValue],
                       attempt: Int) async -> LinkResult {
        guard inFlight.lead(group.id) else {
            await inFlight.finished(group.id)
            return await decideUse(group: group.id, action: action, form: form, waitForSibling: false, attempt: attempt)
        }
        guard let shared else {
            defer { inFlight.finish(group.id) }
            return await publish(group, action: action, variables: variables)
        }
        // Across nodes: one publish per group too. A click that finds another node's publish under
        // way waits for it, then is decided on what it recorded.
        let lease = ActionGroup.recordID(group.id)
        switch await shared.lease(lease, ms: 30_000) {
        case .failure(let e):
            inFlight.finish(group.id)
            return .unavailable("the hub could not record your choice (\(e.message)); nothing happened, try again")
        case .success(false):
            inFlight.finish(group.id)
            guard attempt < 300 else { return .unavailable("another choice on this link is still being recorded; try again") }
            try? await Task.sleep(for: .milliseconds(100))
            if let unreachable = await refresh(group.id) { return .unavailable("the hub could not read this link's state (\(unreachable)); try again") }
            return await decideUse(group: group.id, action: action, form: form, waitForSibling: false, attempt: attempt + 1)
        case .success(true):
            defer { shared.release(lease); inFlight.finish(group.id) }
            if let unreachable = await refresh(group.id) { return .unavailable("the hub could not read this link's state (\(unreachable)); try again") }
            // Decided again on the freshest state: another node may have recorded a choice meanwhile.
            switch book.withLock({ $0.use(group: group.id, action: action, form: form, nowMs: HubClock.wallMilliseconds) }) {
            case .apply(let g, let chosen, let vars): return await publish(g, action: chosen, variables: vars)
            case .view(let view): count(view); return .view(view, notice: nil)
            case .invalid(let g, let a, let message): return .invalid(g, a, message)
            }
        }
    }

    private func publish(_ group: ActionGroup, action: String, variables: [String: JSONValue]) async -> LinkResult {
        let now = HubClock.wallMilliseconds
        // Another click may have finished between the decision and now: look again.
        let current = book.withLock { $0.groups[group.id] }
        if case .used = current?.state { return .view(book.withLock { $0.view(group: group.id, action: action, nowMs: now) }, notice: nil) }
        if case .revoked = current?.state { return .view(.revoked(current!), notice: nil) }
        if let pending = book.withLock({ $0.set(.pending(action: action, variables: variables, at: now), group: group.id) }),
           case .failure(let e) = await persist(pending) {
            // Undone as it was, version included: the store never saw the change.
            if let current { book.withLock { $0.restore(current) } }
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

    /// Stores the group here, and with several nodes in the shared store (both, or it failed).
    func persist(_ group: ActionGroup) async -> Result<Void, HubError> {
        let record = book.withLock { $0.stored(group) }
        if let shared, case .failure(let e) = await shared.put(record) { return .failure(e) }
        return await withCheckedContinuation { (c: CheckedContinuation<Result<Void, HubError>, Never>) in
            store.put(record) { c.resume(returning: $0) }
        }
    }
}
