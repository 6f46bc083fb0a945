// Execution: how tokens enter, work through and leave elements. Every function takes the instance
// key `i` and, for a token, its element instance key `t`; a function that may end the instance
// returns with the instance finished, so callers re-check `instances[i]` before going on.
import HubBytes

extension EngineCore {
    mutating func startProcess(_ i: Int64, nowMs: Int64) {
        let inst = instances[i]!
        record(i, key: i, elementId: inst.definition.processId, name: inst.definition.model.name, typeName: "PROCESS", nowMs: nowMs)
        if inst.definition.model.listeners.contains(where: { $0.event == .start }) {
            instances[i]!.tokens[i] = Token(key: i, elementId: nil, phase: .startListener(0))
            runListener(i, i, nowMs: nowMs)
        } else {
            spawn(i, inst.startEventId, nowMs: nowMs)
        }
    }

    func listeners(_ inst: Instance, _ elementId: String?, _ event: ExecutionListener.Event) -> [ExecutionListener] {
        let all = elementId.map { inst.definition.model.elements[$0]!.listeners } ?? inst.definition.model.listeners
        return all.filter { $0.event == event }
    }

    mutating func record(_ i: Int64, key: Int64, elementId: String, name: String?, typeName: String, nowMs: Int64) {
        elementRecords[key] = ElementRecord(key: key, instanceKey: i, elementId: elementId, name: name, typeName: typeName,
                                            state: .active, startedAt: nowMs)
        instances[i]!.elementKeys.append(key)
    }

    mutating func endRecord(_ key: Int64, _ state: ElementState, nowMs: Int64) {
        guard elementRecords[key]?.state == .active else { return }
        elementRecords[key]!.state = state
        elementRecords[key]!.endedAt = nowMs
    }

    /// A token for `elementId` that no flow brought (a start event, a fired boundary event).
    mutating func spawn(_ i: Int64, _ elementId: String, nowMs: Int64) {
        instances[i]!.pendingEntries += 1
        enter(i, elementId, via: nil, nowMs: nowMs)
    }

    /// Brings a token to `elementId` over `flow` (already counted in `pendingEntries`).
    mutating func enter(_ i: Int64, _ elementId: String, via flow: String?, nowMs: Int64) {
        guard instances[i]?.state == .active else { return }
        instances[i]!.pendingEntries -= 1
        if entryDepth == 0 { entrySteps = 0 }
        entryDepth += 1
        defer { entryDepth -= 1 }
        entrySteps += 1
        let model = instances[i]!.definition.model
        let element = model.elements[elementId]!
        if case .parallelGateway = element.kind, let incoming = model.incoming[elementId], incoming.count > 1 {
            // A join: each incoming flow must have brought a token; those tokens merge into one.
            var arrivals = instances[i]!.joins[elementId] ?? [:]
            if let flow { arrivals[flow, default: 0] += 1 }
            guard incoming.allSatisfy({ (arrivals[$0] ?? 0) > 0 }) else {
                instances[i]!.joins[elementId] = arrivals
                return
            }
            for f in incoming { arrivals[f]! -= 1; if arrivals[f] == 0 { arrivals[f] = nil } }
            instances[i]!.joins[elementId] = arrivals.isEmpty ? nil : arrivals
        }
        let t = newKey()
        record(i, key: t, elementId: elementId, name: element.name, typeName: element.typeName, nowMs: nowMs)
        instances[i]!.tokens[t] = Token(key: t, elementId: elementId, phase: .active)
        // A model that loops (or forks) without waiting would run forever in one command: stop
        // the token with an incident; resolving it goes on for another stretch.
        if entryDepth > Self.maxElementsInARow || entrySteps > Self.maxElementsPerCommand {
            raiseIncident(i, t, type: "UNKNOWN",
                          message: "More than \(entryDepth > Self.maxElementsInARow ? Self.maxElementsInARow : Self.maxElementsPerCommand) elements were entered without a wait state: does the model loop without one?",
                          jobKey: nil, nowMs: nowMs)
            return
        }
        if !listeners(instances[i]!, elementId, .start).isEmpty {
            instances[i]!.tokens[t]!.phase = .startListener(0)
            runListener(i, t, nowMs: nowMs)
        } else {
            begin(i, t, nowMs: nowMs)
        }
    }

    /// The element becomes active: its timers are armed, its boundary subscriptions opened, then
    /// its own work starts.
    mutating func begin(_ i: Int64, _ t: Int64, nowMs: Int64) {
        let inst = instances[i]!
        let elementId = inst.tokens[t]!.elementId!
        let element = inst.definition.model.elements[elementId]!
        var timers: [PendingTimer] = []
        var specs: [(TimerSpec, String?, Bool)] = []
        if case .timerCatch(let spec) = element.kind { specs.append((spec, nil, true)) }
        for b in inst.definition.model.boundaries[elementId] ?? [] {
            if case .timer(let spec) = b.trigger { specs.append((spec, b.elementId, b.interrupting)) }
        }
        for (spec, eventId, interrupting) in specs {
            switch dueTime(spec, inst.variables, nowMs: nowMs) {
            case .success(let due): timers.append(PendingTimer(dueMs: due, eventId: eventId, interrupting: interrupting))
            case .failure(let e):
                raiseIncident(i, t, type: "EXTRACT_VALUE_ERROR", message: "\(eventId ?? elementId): \(e.detail)", jobKey: nil, nowMs: nowMs)
                return
            }
        }
        instances[i]!.tokens[t]!.timers = timers
        var boundaryMessages: [WaitingToken] = []
        for b in inst.definition.model.boundaries[elementId] ?? [] {
            let waiting = WaitingToken(instanceKey: i, tokenKey: t, eventId: b.elementId, interrupting: b.interrupting)
            switch b.trigger {
            case .message(let name, let expression):
                guard let keyed = subscribe(waiting, name: name, correlationKey: expression, nowMs: nowMs) else { return }
                boundaryMessages.append(keyed)
            case .signal(let name): waitForSignal(waiting, name)
            case .error, .timer: break
            }
        }
        activate(i, t, nowMs: nowMs)
        // A buffered message for a boundary event interrupts (or forks from) the element at once.
        for w in boundaryMessages where instances[i]?.tokens[t] != nil { correlateBuffered(w, nowMs: nowMs) }
    }

    func dueTime(_ spec: TimerSpec, _ variables: [String: JSONValue], nowMs: Int64) -> Result<Int64, EngineError> {
        switch spec {
        case .duration(let ms): return .success(nowMs + ms)
        case .date(let ms): return .success(ms)
        case .durationExpression(let e):
            guard case .string(let text) = e.evaluate(variables), let ms = ISODuration.milliseconds(text) else {
                return .failure(.invalidArgument("the timer duration expression did not give an ISO-8601 duration (got \(e.evaluate(variables).serialized()))"))
            }
            return .success(nowMs + ms)
        case .dateExpression(let e):
            guard case .string(let text) = e.evaluate(variables), let ms = ISODateTime.milliseconds(text) else {
                return .failure(.invalidArgument("the timer date expression did not give an ISO-8601 date-time (got \(e.evaluate(variables).serialized()))"))
            }
            return .success(ms)
        }
    }

    /// Creates the job for the listener the token's phase points at, or moves on when none is left.
    mutating func runListener(_ i: Int64, _ t: Int64, nowMs: Int64) {
        let inst = instances[i]!
        guard let token = inst.tokens[t] else { return }
        switch token.phase {
        case .startListener(let n):
            let list = listeners(inst, token.elementId, .start)
            guard n < list.count else {
                if token.elementId != nil {
                    instances[i]!.tokens[t]!.phase = .active
                    begin(i, t, nowMs: nowMs)
                } else {
                    instances[i]!.tokens[t] = nil
                    spawn(i, inst.startEventId, nowMs: nowMs)
                }
                return
            }
            createJob(i, t, type: list[n].type, retries: list[n].retries, headers: [:], kind: .executionListener, event: "START", nowMs: nowMs)
        case .endListener(let n, let flow):
            let list = listeners(inst, token.elementId, .end)
            guard n < list.count else {
                leave(i, t, flow: flow, nowMs: nowMs)
                return
            }
            createJob(i, t, type: list[n].type, retries: list[n].retries, headers: [:], kind: .executionListener, event: "END", nowMs: nowMs)
        case .active:
            break
        }
    }

    /// The element's own work.
    mutating func activate(_ i: Int64, _ t: Int64, nowMs: Int64) {
        let inst = instances[i]!
        let elementId = inst.tokens[t]!.elementId!
        let element = inst.definition.model.elements[elementId]!
        switch element.kind {
        case .startEvent, .endEvent, .passThrough, .boundary, .parallelGateway:
            complete(i, t, flow: nil, nowMs: nowMs)
        case .timerCatch:
            break  // armed in `begin`; `tick` completes it
        case .signalThrow(let name, _):
            _ = broadcastSignal(name: name, variables: [:], nowMs: nowMs)
            if instances[i]?.tokens[t] != nil { complete(i, t, flow: nil, nowMs: nowMs) }
        case .serviceTask(let def):
            createJob(i, t, type: def.type, retries: def.retries, headers: def.headers, kind: .bpmnElement, event: "UNSPECIFIED", nowMs: nowMs)
        case .userTask(let def):
            createUserTask(i, t, element, def, nowMs: nowMs)
        case .exclusiveGateway(let defaultFlow):
            let out = inst.definition.model.outgoing[elementId] ?? []
            if out.count == 1 && out[0].condition == nil { complete(i, t, flow: out[0].id, nowMs: nowMs); return }
            for f in out where f.id != defaultFlow {
                if f.condition?.evaluate(inst.variables) == .bool(true) { complete(i, t, flow: f.id, nowMs: nowMs); return }
            }
            if let d = defaultFlow { complete(i, t, flow: d, nowMs: nowMs); return }
            raiseIncident(i, t, type: "CONDITION_ERROR", message: "Expected at least one condition to evaluate to true, or to have a default flow", jobKey: nil, nowMs: nowMs)
        case .messageCatch(let name, let expression):
            let waiting = WaitingToken(instanceKey: i, tokenKey: t, eventId: nil, interrupting: true)
            if let keyed = subscribe(waiting, name: name, correlationKey: expression, nowMs: nowMs) { correlateBuffered(keyed, nowMs: nowMs) }
        case .signalCatch(let name):
            waitForSignal(WaitingToken(instanceKey: i, tokenKey: t, eventId: nil, interrupting: true), name)
        }
    }

    /// The element's work is done: its waits close, then its end listeners run, then it is left.
    mutating func complete(_ i: Int64, _ t: Int64, flow: String?, nowMs: Int64) {
        guard let token = instances[i]?.tokens[t] else { return }
        removeWaits(i, t)
        instances[i]!.tokens[t]!.jobKey = nil
        instances[i]!.tokens[t]!.userTaskKey = nil
        instances[i]!.tokens[t]!.timers = []
        if !listeners(instances[i]!, token.elementId, .end).isEmpty {
            instances[i]!.tokens[t]!.phase = .endListener(0, flow: flow)
            runListener(i, t, nowMs: nowMs)
        } else {
            leave(i, t, flow: flow, nowMs: nowMs)
        }
    }

    /// Takes the token out of its element and over `flow` (nil: every outgoing flow, which forks
    /// when there are several, as in Zeebe). No flow out, or an end event: the token ends there.
    mutating func leave(_ i: Int64, _ t: Int64, flow: String?, nowMs: Int64) {
        guard let token = instances[i]?.tokens.removeValue(forKey: t) else { return }
        guard let elementId = token.elementId else {
            finish(i, .completed, nowMs: nowMs)  // the process's own end listeners are done
            return
        }
        endRecord(t, .completed, nowMs: nowMs)
        let model = instances[i]!.definition.model
        if case .endEvent(terminate: true) = model.elements[elementId]!.kind {
            for other in Array(instances[i]!.tokens.keys) { drop(i, other, nowMs: nowMs) }
            instances[i]!.joins = [:]
            instances[i]!.pendingEntries = 0
            endProcess(i, nowMs: nowMs)
            return
        }
        var out = model.outgoing[elementId] ?? []
        if let flow { out = out.filter { $0.id == flow } }
        instances[i]!.pendingEntries += out.count
        for f in out {
            if !instances[i]!.takenFlows.contains(f.id) { instances[i]!.takenFlows.append(f.id) }
            enter(i, f.target, via: f.id, nowMs: nowMs)
            guard instances[i]?.state == .active else { return }
        }
        endProcessIfDone(i, nowMs: nowMs)
    }

    /// No token left, none on its way and no join waiting: the process's end listeners, then done.
    mutating func endProcessIfDone(_ i: Int64, nowMs: Int64) {
        guard let inst = instances[i], inst.state == .active, inst.tokens.isEmpty, inst.pendingEntries == 0, inst.joins.isEmpty else { return }
        endProcess(i, nowMs: nowMs)
    }

    mutating func endProcess(_ i: Int64, nowMs: Int64) {
        if instances[i]!.definition.model.listeners.contains(where: { $0.event == .end }) {
            instances[i]!.tokens[i] = Token(key: i, elementId: nil, phase: .endListener(0, flow: nil))
            runListener(i, i, nowMs: nowMs)
        } else {
            finish(i, .completed, nowMs: nowMs)
        }
    }

    /// Ends a token where it stands (an interrupting event, a terminate end event, a cancellation):
    /// its job, user task and subscriptions go, its element instance is TERMINATED.
    mutating func drop(_ i: Int64, _ t: Int64, nowMs: Int64) {
        guard let token = instances[i]?.tokens.removeValue(forKey: t) else { return }
        removeWaits(i, t, token)
        if let j = token.jobKey { jobs[j] = nil }
        if let u = token.userTaskKey, userTasks[u]?.state == .created { userTasks[u]!.state = .canceled; userTasks[u]!.completedAt = nowMs }
        if token.elementId != nil { endRecord(t, .terminated, nowMs: nowMs) }
    }

    mutating func finish(_ i: Int64, _ state: InstanceState, nowMs: Int64) {
        for t in Array(instances[i]!.tokens.keys) { drop(i, t, nowMs: nowMs) }
        instances[i]!.joins = [:]
        instances[i]!.pendingEntries = 0
        instances[i]!.state = state
        instances[i]!.endedAt = nowMs
        endRecord(i, state == .completed ? .completed : .terminated, nowMs: nowMs)
        finishedOrder.append(i)
        while finishedOrder.count > limits.maxInstances / 2 { forget(finishedOrder.removeFirst()) }
    }

    /// Drops a finished instance and everything kept about it.
    mutating func forget(_ i: Int64) {
        guard let inst = instances.removeValue(forKey: i) else { return }
        for k in inst.elementKeys { elementRecords[k] = nil }
        for k in inst.variableKeys.values { variableOwners[k] = nil }
        for (k, task) in userTasks where task.instanceKey == i { userTasks[k] = nil }
    }

    mutating func raiseIncident(_ i: Int64, _ t: Int64, type: String, message: String, jobKey: Int64?, nowMs: Int64) {
        let inst = instances[i]!
        let incident = Incident(key: newKey(), errorType: type, errorMessage: message,
                                elementId: inst.tokens[t]?.elementId ?? inst.definition.processId, elementInstanceKey: t,
                                processInstanceKey: i, processDefinitionKey: inst.definition.key, processDefinitionId: inst.definition.processId,
                                jobKey: jobKey, createdAt: nowMs, resolved: false)
        incidents[incident.key] = incident
        instances[i]!.tokens[t]?.incidentKey = incident.key
        elementRecords[t]?.incidentKey = incident.key
    }

    /// Resolves every active incident of an instance (`POST /v2/process-instances/{key}/incident-resolution`).
    public mutating func resolveIncidents(ofInstance i: Int64, nowMs: Int64) -> EngineError? {
        guard instances[i] != nil else { return .notFound("Expected to resolve the incidents of process instance with key '\(i)', but no such instance was found") }
        for incident in incidents.values.filter({ $0.processInstanceKey == i && !$0.resolved }).sorted(by: { $0.key < $1.key }) {
            _ = resolveIncident(incident.key, nowMs: nowMs)
        }
        return nil
    }

    /// Resolves an incident: a failed job with retries is offered again; anything else (a gateway,
    /// a correlation key, a timer expression) is tried again from the element's activation.
    public mutating func resolveIncident(_ incidentKey: Int64, nowMs: Int64) -> EngineError? {
        guard let incident = incidents[incidentKey], !incident.resolved else {
            return .notFound("Expected to resolve incident with key '\(incidentKey)', but no such incident was found")
        }
        incidents[incidentKey]!.resolved = true
        let i = incident.processInstanceKey, t = incident.elementInstanceKey
        guard instances[i]?.state == .active, instances[i]!.tokens[t]?.incidentKey == incidentKey else { return nil }
        instances[i]!.tokens[t]!.incidentKey = nil
        elementRecords[t]?.incidentKey = nil
        if let j = incident.jobKey, let job = jobs[j] {
            if job.retries > 0 {
                jobs[j]!.state = .activatable(notBefore: 0)
            } else {
                raiseIncident(i, t, type: incident.errorType, message: "The job has no retries left; update its retries first", jobKey: j, nowMs: nowMs)
                jobs[j]!.state = .failed(incidentKey: instances[i]!.tokens[t]!.incidentKey!)
            }
        } else if case .active = instances[i]!.tokens[t]!.phase {
            removeWaits(i, t)
            begin(i, t, nowMs: nowMs)
        }
        return nil
    }
}
