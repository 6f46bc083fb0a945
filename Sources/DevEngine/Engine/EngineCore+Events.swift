// Events from outside an element's own work: messages (published, buffered for their TTL,
// correlated), signals (broadcast to every waiting token and signal start event) and timers
// (fired by `tick`). Catch events and boundary events share one path: `trigger`.
import HubBytes

extension EngineCore {
    static func subscriptionKey(_ name: String, _ correlationKey: String) -> String { name + "\u{0}" + correlationKey }

    /// Opens a message subscription for `waiting` and returns it with its key, or raises an incident
    /// when the correlation key is not a string or number (nil: the token is stuck until the
    /// incident is resolved).
    mutating func subscribe(_ waiting: WaitingToken, name: String, correlationKey expression: Expression, nowMs: Int64) -> WaitingToken? {
        let value = expression.evaluate(instances[waiting.instanceKey]!.variables)
        let correlationKey: String
        switch value {
        case .string(let s): correlationKey = s
        case .number(let n): correlationKey = n
        default:
            raiseIncident(waiting.instanceKey, waiting.tokenKey, type: "EXTRACT_VALUE_ERROR",
                          message: "Failed to extract the correlation key for '\(name)': expected a string or number, but got \(value.serialized())",
                          jobKey: nil, nowMs: nowMs)
            return nil
        }
        let key = Self.subscriptionKey(name, correlationKey)
        var keyed = waiting
        keyed.subscriptionKey = newKey()
        keyed.since = nowMs
        messageWaits[key, default: []].append(keyed)
        instances[waiting.instanceKey]!.tokens[waiting.tokenKey]!.messageWaits.append(key)
        return keyed
    }

    mutating func waitForSignal(_ waiting: WaitingToken, _ name: String) {
        signalWaits[name, default: []].append(waiting)
        instances[waiting.instanceKey]!.tokens[waiting.tokenKey]!.signalWaits.append(name)
    }

    /// Closes every subscription of token `t` (its own catch and its boundary events).
    mutating func removeWaits(_ i: Int64, _ t: Int64, _ dropped: Token? = nil) {
        guard let token = dropped ?? instances[i]?.tokens[t] else { return }
        for key in Set(token.messageWaits) {
            messageWaits[key]?.removeAll { $0.instanceKey == i && $0.tokenKey == t }
            if messageWaits[key]?.isEmpty == true { messageWaits[key] = nil }
        }
        for name in Set(token.signalWaits) {
            signalWaits[name]?.removeAll { $0.instanceKey == i && $0.tokenKey == t }
            if signalWaits[name]?.isEmpty == true { signalWaits[name] = nil }
        }
        if dropped == nil {
            instances[i]!.tokens[t]!.messageWaits = []
            instances[i]!.tokens[t]!.signalWaits = []
        }
    }

    /// A message or signal reached a waiting token: its variables land in the instance, then the
    /// catch completes, or the boundary event interrupts the element or forks a token beside it.
    mutating func trigger(_ w: WaitingToken, variables: [String: JSONValue], nowMs: Int64) {
        guard instances[w.instanceKey]?.state == .active, let token = instances[w.instanceKey]!.tokens[w.tokenKey], case .active = token.phase else { return }
        setVariables(w.instanceKey, variables)
        guard let eventId = w.eventId else {
            complete(w.instanceKey, w.tokenKey, flow: nil, nowMs: nowMs)
            return
        }
        if w.interrupting { drop(w.instanceKey, w.tokenKey, nowMs: nowMs) }
        spawn(w.instanceKey, eventId, nowMs: nowMs)
    }

    /// A buffered message not yet correlated to this instance goes to a subscription just opened.
    mutating func correlateBuffered(_ w: WaitingToken, nowMs: Int64) {
        guard let token = instances[w.instanceKey]?.tokens[w.tokenKey] else { return }
        for key in token.messageWaits where messageWaits[key]?.contains(w) == true {
            let candidates = messages.values.filter {
                Self.subscriptionKey($0.name, $0.correlationKey) == key && $0.expiresAt > nowMs && !$0.correlatedTo.contains(w.instanceKey)
            }
            guard let m = candidates.min(by: { $0.key < $1.key }) else { continue }
            messages[m.key]!.correlatedTo.insert(w.instanceKey)
            trigger(w, variables: m.variables, nowMs: nowMs)
            return
        }
    }

    /// Publishes a message: it correlates to every instance waiting for it (once per instance, to
    /// its oldest subscription), and is buffered for `ttlMs` for instances that arrive later. A
    /// `messageId` already buffered is refused.
    public mutating func publishMessage(name: String, correlationKey: String, ttlMs: Int64, messageId: String?, variables: [String: JSONValue], nowMs: Int64) -> Result<Int64, EngineError> {
        guard !name.isEmpty else { return .failure(.invalidArgument("No name provided.")) }
        if let id = messageId, messages.values.contains(where: { $0.messageId == id && $0.name == name && $0.expiresAt > nowMs }) {
            return .failure(.alreadyExists("Expected to publish a new message with id '\(id)', but a message with that id was already published"))
        }
        guard messages.count < limits.maxBufferedMessages else { return .failure(.exhausted("the dev engine buffers at most \(limits.maxBufferedMessages) messages")) }
        let messageKey = newKey()
        var correlated: Set<Int64> = []
        for w in messageWaits[Self.subscriptionKey(name, correlationKey)] ?? [] where !correlated.contains(w.instanceKey) {
            correlated.insert(w.instanceKey)
            trigger(w, variables: variables, nowMs: nowMs)
        }
        if ttlMs > 0 {
            messages[messageKey] = BufferedMessage(key: messageKey, name: name, correlationKey: correlationKey, messageId: messageId,
                                                   variables: variables, expiresAt: nowMs + ttlMs, correlatedTo: correlated)
        }
        return .success(messageKey)
    }

    /// Correlates a message to one waiting instance now, or fails with NOT_FOUND; never buffered.
    public mutating func correlateMessage(name: String, correlationKey: String, variables: [String: JSONValue], nowMs: Int64) -> Result<(messageKey: Int64, instanceKey: Int64), EngineError> {
        guard !name.isEmpty else { return .failure(.invalidArgument("No name provided.")) }
        guard let w = messageWaits[Self.subscriptionKey(name, correlationKey)]?.first else {
            return .failure(.notFound("Expected to find subscription for message with name '\(name)' and correlation key '\(correlationKey)', but none was found."))
        }
        let messageKey = newKey()
        trigger(w, variables: variables, nowMs: nowMs)
        return .success((messageKey, w.instanceKey))
    }

    /// Broadcasts a signal: every token waiting for it is triggered, and every latest process
    /// version with a signal start event of that name starts an instance. Signals are not buffered.
    public mutating func broadcastSignal(name: String, variables: [String: JSONValue], nowMs: Int64) -> Result<Int64, EngineError> {
        guard !name.isEmpty else { return .failure(.invalidArgument("No signalName provided.")) }
        let signalKey = newKey()
        for w in signalWaits[name] ?? [] { trigger(w, variables: variables, nowMs: nowMs) }
        for keys in versions.values {
            guard let def = keys.last.flatMap({ definitions[$0] }) else { continue }
            for start in def.model.signalStarts where start.signal == name {
                if case .failure(let e) = startInstance(def, at: start.eventId, variables: variables, nowMs: nowMs) { return .failure(e) }
            }
        }
        return .success(signalKey)
    }

    // MARK: time

    /// Fires due timers, times out activated jobs past their deadline (offered again) and drops
    /// expired messages.
    public mutating func tick(nowMs: Int64) {
        var due: [(i: Int64, t: Int64, timer: PendingTimer)] = []
        for (i, inst) in instances where inst.state == .active {
            for (t, token) in inst.tokens where token.incidentKey == nil {
                guard case .active = token.phase else { continue }
                for timer in token.timers where timer.dueMs <= nowMs { due.append((i, t, timer)) }
            }
        }
        for (i, t, timer) in due.sorted(by: { ($0.timer.dueMs, $0.t) < ($1.timer.dueMs, $1.t) }) {
            guard instances[i]?.state == .active, let token = instances[i]!.tokens[t], case .active = token.phase,
                  token.timers.contains(where: { $0.eventId == timer.eventId }) else { continue }
            instances[i]!.tokens[t]!.timers.removeAll { $0.eventId == timer.eventId }
            guard let eventId = timer.eventId else {
                complete(i, t, flow: nil, nowMs: nowMs)  // a timer catch event
                continue
            }
            if timer.interrupting { drop(i, t, nowMs: nowMs) }
            spawn(i, eventId, nowMs: nowMs)
        }
        for (k, job) in jobs {
            if case .activated(let deadline, _) = job.state, deadline <= nowMs { jobs[k]!.state = .activatable(notBefore: 0) }
        }
        for (k, m) in messages where m.expiresAt <= nowMs { messages[k] = nil }
    }

    /// The earliest time a timer is due (the HTTP layer's test clock uses it to say what is next).
    public var nextTimerDue: Int64? {
        instances.values.lazy.filter { $0.state == .active }.flatMap { $0.tokens.values.flatMap { $0.timers.map(\.dueMs) } }.min()
    }
}
