// The dev engine's state machine: deployments, instances, jobs, messages and incidents. Pure:
// every command takes `nowMs` and returns a value or an `EngineError`; the HTTP layer holds it
// under one Mutex and answers long polls after each command.
//
//   enter(element) ─▶ start listeners (jobs) ─▶ activate: task job │ message subscription │
//                     gateway choice ─▶ complete ─▶ end listeners (jobs) ─▶ leave ─▶ enter(next)
//   end event ─▶ process end listeners ─▶ instance COMPLETED
//
// It is a development default, not a production engine: one token per instance, one variable
// scope, state in memory.
import HubBytes

/// Bounds on what the dev engine keeps in memory.
public struct EngineLimits: Sendable {
    /// Instances kept in all; completed ones are forgotten oldest first past this.
    public var maxInstances = 100_000
    /// Messages buffered (TTL > 0) at once.
    public var maxBufferedMessages = 100_000
    /// Largest variables document of one command, serialized.
    public var maxVariablesBytes = 1 << 20
    public init() {}
}

/// The dev engine's whole state and its commands; not thread-safe (the server holds it in a Mutex).
public struct EngineCore {
    public let limits: EngineLimits
    private var nextKey: Int64 = 2_251_799_813_685_249  // partition 1, as Zeebe numbers keys
    private(set) var definitions: [Int64: ProcessDefinition] = [:]
    private var versions: [String: [Int64]] = [:]
    private(set) var instances: [Int64: Instance] = [:]
    private var finishedOrder: [Int64] = []
    private(set) var jobs: [Int64: Job] = [:]
    private var messages: [Int64: BufferedMessage] = [:]
    public private(set) var incidents: [Int64: Incident] = [:]
    /// Open message subscriptions: (name, correlation key) → instance keys waiting, oldest first.
    private var subscriptions: [String: [Int64]] = [:]

    public init(limits: EngineLimits = EngineLimits()) { self.limits = limits }

    private mutating func newKey() -> Int64 {
        defer { nextKey += 1 }
        return nextKey
    }

    // MARK: deployments

    public struct DeployedResource: Sendable { public var name: String; public var bytes: [UInt8]; public init(name: String, bytes: [UInt8]) { self.name = name; self.bytes = bytes } }

    /// Deploys every executable process of every resource, or nothing (the first error is returned).
    public mutating func deploy(_ resources: [DeployedResource]) -> Result<(deploymentKey: Int64, definitions: [ProcessDefinition]), EngineError> {
        guard !resources.isEmpty else { return .failure(.invalidArgument("no resources given")) }
        var models: [(String, ProcessModel, [UInt8])] = []
        for r in resources {
            guard r.name.hasSuffix(".bpmn") || r.name.hasSuffix(".xml") else {
                return .failure(.invalidArgument("\(r.name): the dev engine deploys BPMN only (.bpmn or .xml)"))
            }
            switch BPMNParser.parse(r.bytes, resourceName: r.name) {
            case .failure(let e): return .failure(.invalidArgument("Command 'CREATE' rejected with code 'INVALID_ARGUMENT': \(e.message)"))
            case .success(let list): models += list.map { (r.name, $0, r.bytes) }
            }
        }
        let deploymentKey = newKey()
        var deployed: [ProcessDefinition] = []
        for (resource, model, bytes) in models {
            // As Zeebe: the latest version deployed again byte for byte is not a new version.
            if let latest = versions[model.processId]?.last.flatMap({ definitions[$0] }), latest.resource == bytes, latest.resourceName == resource {
                deployed.append(latest)
                continue
            }
            let version = (versions[model.processId]?.count ?? 0) + 1
            let def = ProcessDefinition(key: newKey(), processId: model.processId, version: version, resourceName: resource, model: model,
                                        resource: bytes)
            definitions[def.key] = def
            versions[model.processId, default: []].append(def.key)
            deployed.append(def)
        }
        return .success((deploymentKey, deployed))
    }

    // MARK: instances

    public enum DefinitionRef: Sendable { case key(Int64), id(String, version: Int?) }

    public mutating func createInstance(_ ref: DefinitionRef, variables: [String: JSONValue], nowMs: Int64) -> Result<(instanceKey: Int64, definition: ProcessDefinition), EngineError> {
        let def: ProcessDefinition
        switch ref {
        case .key(let k):
            guard let d = definitions[k] else { return .failure(.notFound("Expected to find process definition with key '\(k)', but none found")) }
            def = d
        case .id(let id, let version):
            guard let keys = versions[id], !keys.isEmpty else {
                return .failure(.notFound("Expected to find process definition with process ID '\(id)', but none found"))
            }
            if let v = version, v >= 1 {
                guard v <= keys.count, let d = definitions[keys[v - 1]] else {
                    return .failure(.notFound("Expected to find process definition with process ID '\(id)' and version '\(v)', but none found"))
                }
                def = d
            } else {
                def = definitions[keys.last!]!
            }
        }
        let active = instances.count - finishedOrder.count
        guard active < limits.maxInstances else { return .failure(.exhausted("the dev engine holds \(limits.maxInstances) active instances")) }
        let key = newKey()
        instances[key] = Instance(key: key, definition: def, variables: variables, startedAt: nowMs)
        startProcess(key, nowMs: nowMs)
        return .success((key, def))
    }

    public struct InstanceView: Sendable {
        public var key: Int64
        public var definition: ProcessDefinition
        public var state: InstanceState
        public var variables: [String: JSONValue]
        public var hasIncident: Bool
        public var startedAt: Int64
        public var endedAt: Int64?
    }

    public func instance(_ key: Int64) -> InstanceView? {
        guard let i = instances[key] else { return nil }
        return InstanceView(key: i.key, definition: i.definition, state: i.state, variables: i.variables,
                            hasIncident: i.incidentKey != nil, startedAt: i.startedAt, endedAt: i.endedAt)
    }

    /// Every instance the engine still remembers (finished ones are forgotten oldest first).
    public func instanceViews() -> [InstanceView] { instances.keys.sorted().compactMap { instance($0) } }

    /// The members of a job search item: what may be filtered and sorted on.
    public static let jobSearchFields: Set<String> = [
        "jobKey", "type", "state", "worker", "retries", "deadline", "customHeaders", "elementId", "elementInstanceKey",
        "processInstanceKey", "rootProcessInstanceKey", "processDefinitionId", "processDefinitionKey", "kind", "listenerEventType",
        "tenantId", "errorMessage", "errorCode", "hasFailedWithRetriesLeft", "isDenied", "deniedReason", "endTime", "businessId",
        "priority", "creationTime", "lastUpdateTime",
    ]

    /// Live jobs as `POST /v2/jobs/search` shapes them (completed jobs are not kept).
    public func jobViews() -> [JSONValue] {
        jobs.values.sorted { $0.key < $1.key }.compactMap { job -> JSONValue? in
            guard let inst = instances[job.instanceKey] else { return nil }
            var state = job.errorMessage == nil ? "CREATED" : "FAILED"
            var deadline: JSONValue = .null, worker = ""
            switch job.state {
            case .activated(let d, let w): deadline = .string(isoTime(d)); worker = w
            case .failed: state = "FAILED"
            case .activatable: break
            }
            return [
                "jobKey": .string(String(job.key)), "type": .string(job.type), "state": .string(state), "worker": .string(worker),
                "retries": JSONValue(job.retries), "deadline": deadline, "customHeaders": .object(job.headers.mapValues { .string($0) }),
                "elementId": .string(job.elementId), "elementInstanceKey": .string(String(job.elementInstanceKey)),
                "processInstanceKey": .string(String(inst.key)), "rootProcessInstanceKey": .string(String(inst.key)),
                "processDefinitionId": .string(inst.definition.processId), "processDefinitionKey": .string(String(inst.definition.key)),
                "kind": .string(job.kind.rawValue), "listenerEventType": .string(job.listenerEvent), "tenantId": "<default>",
                "errorMessage": job.errorMessage.map { .string($0) } ?? .null, "errorCode": .null,
                "hasFailedWithRetriesLeft": .bool(job.errorMessage != nil && job.retries > 0), "isDenied": .null, "deniedReason": .null,
                "endTime": .null, "businessId": .null, "priority": 0,
                "creationTime": .string(isoTime(job.createdAt)), "lastUpdateTime": .string(isoTime(job.updatedAt)),
            ]
        }
    }

    public mutating func cancelInstance(_ key: Int64, nowMs: Int64) -> EngineError? {
        guard let i = instances[key], i.state == .active else { return .notFound("Expected to cancel a process instance with key '\(key)', but no such process was found") }
        if let t = i.token { clearToken(key, t) }
        finish(key, .terminated, nowMs: nowMs)
        return nil
    }

    // MARK: execution

    private mutating func startProcess(_ key: Int64, nowMs: Int64) {
        let def = instances[key]!.definition
        if def.model.listeners.contains(where: { $0.event == .start }) {
            instances[key]!.token = Token(elementId: nil, elementInstanceKey: key, phase: .startListener(0))
            runListener(key, nowMs: nowMs)
        } else {
            enter(key, def.model.startEventId, nowMs: nowMs)
        }
    }

    private func listeners(_ inst: Instance, _ elementId: String?, _ event: ExecutionListener.Event) -> [ExecutionListener] {
        let all = elementId.map { inst.definition.model.elements[$0]!.listeners } ?? inst.definition.model.listeners
        return all.filter { $0.event == event }
    }

    private mutating func enter(_ key: Int64, _ elementId: String, nowMs: Int64) {
        let inst = instances[key]!
        instances[key]!.token = Token(elementId: elementId, elementInstanceKey: newKey(), phase: .active)
        if let first = inst.definition.model.timerBoundaries[elementId]?.min(by: { $0.durationMs < $1.durationMs }) {
            instances[key]!.token!.timer = (nowMs + first.durationMs, first.elementId)
        }
        if !listeners(inst, elementId, .start).isEmpty {
            instances[key]!.token!.phase = .startListener(0)
            runListener(key, nowMs: nowMs)
        } else {
            activate(key, nowMs: nowMs)
        }
    }

    /// Creates the job for the listener the token's phase points at, or moves on when none is left.
    private mutating func runListener(_ key: Int64, nowMs: Int64) {
        let inst = instances[key]!
        guard let token = inst.token else { return }
        switch token.phase {
        case .startListener(let i):
            let list = listeners(inst, token.elementId, .start)
            guard i < list.count else {
                if let id = token.elementId {
                    instances[key]!.token!.phase = .active
                    activate(key, nowMs: nowMs)
                    _ = id
                } else {
                    enter(key, inst.definition.model.startEventId, nowMs: nowMs)
                }
                return
            }
            createJob(key, type: list[i].type, retries: list[i].retries, headers: [:], kind: .executionListener, event: "START", nowMs: nowMs)
        case .endListener(let i, let flow):
            let list = listeners(inst, token.elementId, .end)
            guard i < list.count else {
                leave(key, flow: flow, nowMs: nowMs)
                return
            }
            createJob(key, type: list[i].type, retries: list[i].retries, headers: [:], kind: .executionListener, event: "END", nowMs: nowMs)
        case .active:
            break
        }
    }

    private mutating func createJob(_ key: Int64, type: String, retries: Int, headers: [String: String], kind: JobKind, event: String, nowMs: Int64) {
        let token = instances[key]!.token!
        let jobKey = newKey()
        jobs[jobKey] = Job(key: jobKey, type: type, instanceKey: key, elementId: token.elementId ?? instances[key]!.definition.processId,
                           elementInstanceKey: token.elementInstanceKey, kind: kind, listenerEvent: event, retries: max(retries, 1),
                           headers: headers, state: .activatable(notBefore: 0), createdAt: nowMs, updatedAt: nowMs)
        instances[key]!.token!.jobKey = jobKey
    }

    private mutating func activate(_ key: Int64, nowMs: Int64) {
        let inst = instances[key]!
        let elementId = inst.token!.elementId!
        let element = inst.definition.model.elements[elementId]!
        switch element.kind {
        case .startEvent, .endEvent, .errorBoundary, .timerBoundary:
            complete(key, flow: nil, nowMs: nowMs)
        case .serviceTask(let def):
            createJob(key, type: def.type, retries: def.retries, headers: def.headers, kind: .bpmnElement, event: "UNSPECIFIED", nowMs: nowMs)
        case .exclusiveGateway(let defaultFlow):
            let out = inst.definition.model.outgoing[elementId] ?? []
            if out.count == 1 && out[0].condition == nil { complete(key, flow: out[0].id, nowMs: nowMs); return }
            for f in out where f.id != defaultFlow {
                if f.condition?.evaluate(inst.variables) == .bool(true) { complete(key, flow: f.id, nowMs: nowMs); return }
            }
            if let d = defaultFlow { complete(key, flow: d, nowMs: nowMs); return }
            raiseIncident(key, type: "CONDITION_ERROR", message: "Expected at least one condition to evaluate to true, or to have a default flow", jobKey: nil, nowMs: nowMs)
        case .messageCatch(let name, let expression):
            let value = expression.evaluate(inst.variables)
            let correlationKey: String
            switch value {
            case .string(let s): correlationKey = s
            case .number(let n): correlationKey = n
            default:
                raiseIncident(key, type: "EXTRACT_VALUE_ERROR", message: "Failed to extract the correlation key for '\(name)': expected a string or number, but got \(value.serialized())", jobKey: nil, nowMs: nowMs)
                return
            }
            subscriptions[Self.subscriptionKey(name, correlationKey), default: []].append(key)
            // A buffered message that has not yet gone to this instance correlates at once.
            if let m = messages.values.filter({ $0.name == name && $0.correlationKey == correlationKey && $0.expiresAt > nowMs && !$0.correlatedTo.contains(key) }).min(by: { $0.key < $1.key }) {
                messages[m.key]!.correlatedTo.insert(key)
                correlate(key, name: name, correlationKey: correlationKey, variables: m.variables, nowMs: nowMs)
            }
        }
    }

    private mutating func complete(_ key: Int64, flow: String?, nowMs: Int64) {
        let inst = instances[key]!
        instances[key]!.token!.jobKey = nil
        if !listeners(inst, inst.token!.elementId, .end).isEmpty {
            instances[key]!.token!.phase = .endListener(0, flow: flow)
            runListener(key, nowMs: nowMs)
        } else {
            leave(key, flow: flow, nowMs: nowMs)
        }
    }

    private mutating func leave(_ key: Int64, flow: String?, nowMs: Int64) {
        let inst = instances[key]!
        guard let elementId = inst.token!.elementId else {
            // The process's own end listeners are done.
            finish(key, .completed, nowMs: nowMs)
            return
        }
        if case .endEvent = inst.definition.model.elements[elementId]!.kind {
            if inst.definition.model.listeners.contains(where: { $0.event == .end }) {
                instances[key]!.token = Token(elementId: nil, elementInstanceKey: key, phase: .endListener(0, flow: nil))
                runListener(key, nowMs: nowMs)
            } else {
                finish(key, .completed, nowMs: nowMs)
            }
            return
        }
        let out = inst.definition.model.outgoing[elementId] ?? []
        let next = flow.flatMap { f in out.first { $0.id == f } } ?? out.first
        guard let next else { finish(key, .completed, nowMs: nowMs); return }
        enter(key, next.target, nowMs: nowMs)
    }

    private mutating func finish(_ key: Int64, _ state: InstanceState, nowMs: Int64) {
        instances[key]!.state = state
        instances[key]!.token = nil
        instances[key]!.endedAt = nowMs
        finishedOrder.append(key)
        while finishedOrder.count > limits.maxInstances / 2 {
            let old = finishedOrder.removeFirst()
            instances[old] = nil
        }
    }

    private mutating func raiseIncident(_ key: Int64, type: String, message: String, jobKey: Int64?, nowMs: Int64) {
        let inst = instances[key]!
        let incident = Incident(key: newKey(), errorType: type, errorMessage: message, elementId: inst.token?.elementId ?? inst.definition.processId,
                                elementInstanceKey: inst.token?.elementInstanceKey ?? key, processInstanceKey: key,
                                processDefinitionKey: inst.definition.key, processDefinitionId: inst.definition.processId,
                                jobKey: jobKey, createdAt: nowMs, resolved: false)
        incidents[incident.key] = incident
        instances[key]!.incidentKey = incident.key
    }

    private mutating func clearToken(_ key: Int64, _ token: Token) {
        if let j = token.jobKey { jobs[j] = nil }
        for (sub, var list) in subscriptions where list.contains(key) {
            list.removeAll { $0 == key }
            subscriptions[sub] = list.isEmpty ? nil : list
        }
    }

    // MARK: jobs

    public struct ActivatedJob: Sendable {
        public var json: JSONValue
    }

    /// Activates up to `max` jobs of `type` that are due, for `timeoutMs`.
    public mutating func activateJobs(type: String, worker: String, timeoutMs: Int64, max: Int, fetchVariables: [String]?, nowMs: Int64) -> [ActivatedJob] {
        guard max > 0 else { return [] }
        var out: [ActivatedJob] = []
        for jobKey in jobs.keys.sorted() {
            guard out.count < max, var job = jobs[jobKey], job.type == type else { continue }
            guard case .activatable(let notBefore) = job.state, notBefore <= nowMs else { continue }
            guard let inst = instances[job.instanceKey] else { continue }
            let deadline = nowMs + timeoutMs
            job.state = .activated(deadline: deadline, worker: worker)
            job.updatedAt = nowMs
            jobs[jobKey] = job
            var variables = inst.variables
            if let names = fetchVariables, !names.isEmpty { variables = variables.filter { names.contains($0.key) } }
            let def = inst.definition
            out.append(ActivatedJob(json: [
                "jobKey": .string(String(job.key)), "type": .string(job.type), "worker": .string(worker),
                "processInstanceKey": .string(String(inst.key)), "processDefinitionKey": .string(String(def.key)),
                "processDefinitionId": .string(def.processId), "processDefinitionVersion": JSONValue(def.version),
                "elementId": .string(job.elementId), "elementInstanceKey": .string(String(job.elementInstanceKey)),
                "customHeaders": .object(job.headers.mapValues { .string($0) }), "retries": JSONValue(job.retries),
                "deadline": .number(String(deadline)), "variables": .object(variables), "tenantId": "<default>",
                "kind": .string(job.kind.rawValue), "listenerEventType": .string(job.listenerEvent),
                // Members the 8.10 API requires; the dev engine has one tenant, no user-task jobs,
                // no tags, business ids or priorities, and one instance level.
                "physicalTenantId": "<default>", "userTask": .null, "tags": [], "businessId": .null, "priority": 0,
                "rootProcessInstanceKey": .string(String(inst.key)),
            ]))
        }
        return out
    }

    /// Whether `activateJobs` would return something for `type` now (for long polls).
    public func hasActivatableJob(type: String, nowMs: Int64) -> Bool {
        jobs.values.contains { job in
            guard job.type == type, case .activatable(let notBefore) = job.state else { return false }
            return notBefore <= nowMs
        }
    }

    private func liveJob(_ jobKey: Int64, _ verb: String) -> Result<Job, EngineError> {
        guard let job = jobs[jobKey] else {
            return .failure(.notFound("Command '\(verb)' rejected with code 'NOT_FOUND': Expected to \(verb.lowercased()) job with key '\(jobKey)', but no such job was found"))
        }
        if case .failed = job.state {
            return .failure(.invalidState("Command '\(verb)' rejected with code 'INVALID_STATE': Expected to \(verb.lowercased()) job with key '\(jobKey)', but it is in state 'FAILED'"))
        }
        return .success(job)
    }

    /// Completes a job (activated, or timed out and not yet re-activated: at-least-once workers
    /// finish late). The job's variables are merged into the instance.
    public mutating func completeJob(_ jobKey: Int64, variables: [String: JSONValue], nowMs: Int64) -> EngineError? {
        let job: Job
        switch liveJob(jobKey, "COMPLETE") {
        case .failure(let e): return e
        case .success(let j): job = j
        }
        jobs[jobKey] = nil
        guard instances[job.instanceKey]?.state == .active else { return nil }
        for (k, v) in variables { instances[job.instanceKey]!.variables[k] = v }
        guard let token = instances[job.instanceKey]!.token, token.jobKey == jobKey else { return nil }
        switch token.phase {
        case .startListener(let i):
            instances[job.instanceKey]!.token!.jobKey = nil
            instances[job.instanceKey]!.token!.phase = .startListener(i + 1)
            runListener(job.instanceKey, nowMs: nowMs)
        case .endListener(let i, let flow):
            instances[job.instanceKey]!.token!.jobKey = nil
            instances[job.instanceKey]!.token!.phase = .endListener(i + 1, flow: flow)
            runListener(job.instanceKey, nowMs: nowMs)
        case .active:
            complete(job.instanceKey, flow: nil, nowMs: nowMs)
        }
        return nil
    }

    /// Fails a job: with retries left it is offered again after `backOffMs`; with none, an incident.
    public mutating func failJob(_ jobKey: Int64, retries: Int, errorMessage: String?, backOffMs: Int64, variables: [String: JSONValue], nowMs: Int64) -> EngineError? {
        var job: Job
        switch liveJob(jobKey, "FAIL") {
        case .failure(let e): return e
        case .success(let j): job = j
        }
        for (k, v) in variables { instances[job.instanceKey]?.variables[k] = v }
        job.retries = max(0, retries)
        job.errorMessage = errorMessage
        if job.retries > 0 {
            job.state = .activatable(notBefore: nowMs + max(0, backOffMs))
            job.updatedAt = nowMs
            jobs[jobKey] = job
        } else {
            jobs[jobKey] = job
            raiseIncident(job.instanceKey, type: "JOB_NO_RETRIES", message: errorMessage ?? "No more retries left.", jobKey: jobKey, nowMs: nowMs)
            jobs[jobKey]!.state = .failed(incidentKey: instances[job.instanceKey]!.incidentKey!)
        }
        return nil
    }

    /// Throws a BPMN error from a service task's job: an attached error boundary event with the
    /// code (or a catch-all one) takes the token; otherwise an incident.
    public mutating func throwError(_ jobKey: Int64, errorCode: String, errorMessage: String?, variables: [String: JSONValue], nowMs: Int64) -> EngineError? {
        let job: Job
        switch liveJob(jobKey, "THROW_ERROR") {
        case .failure(let e): return e
        case .success(let j): job = j
        }
        guard errorCode.isEmpty == false else { return .invalidArgument("errorCode must not be empty") }
        let key = job.instanceKey
        for (k, v) in variables { instances[key]?.variables[k] = v }
        let boundaries = job.kind == .bpmnElement ? (instances[key]?.definition.model.errorBoundaries[job.elementId] ?? []) : []
        let catcher = boundaries.first { $0.errorCode == errorCode } ?? boundaries.first { $0.errorCode == nil }
        if let catcher {
            jobs[jobKey] = nil
            instances[key]!.variables["errorCode"] = instances[key]!.variables["errorCode"] ?? .string(errorCode)
            enter(key, catcher.elementId, nowMs: nowMs)
        } else {
            var failed = job
            failed.retries = 0
            jobs[jobKey] = failed
            raiseIncident(key, type: "UNHANDLED_ERROR_EVENT",
                          message: "Expected to throw an error event with the code '\(errorCode)' with message '\(errorMessage ?? "")', but it was not caught. No error events are available in the scope.",
                          jobKey: jobKey, nowMs: nowMs)
            jobs[jobKey]!.state = .failed(incidentKey: instances[key]!.incidentKey!)
        }
        return nil
    }

    /// Offers an activated job again at once (its long poll was gone when the answer was ready).
    public mutating func releaseJob(_ jobKey: Int64) {
        if case .activated = jobs[jobKey]?.state { jobs[jobKey]!.state = .activatable(notBefore: 0) }
    }

    /// Sets a job's retries (before resolving its incident).
    public mutating func updateJobRetries(_ jobKey: Int64, retries: Int) -> EngineError? {
        updateJob(jobKey, retries: retries, timeoutMs: nil, nowMs: 0)
    }

    /// `PATCH /v2/jobs/{key}`: new retries, and/or a new timeout for an activated job (measured
    /// from now, as Zeebe does: a worker extends the time it holds a job).
    public mutating func updateJob(_ jobKey: Int64, retries: Int?, timeoutMs: Int64?, nowMs: Int64) -> EngineError? {
        guard let job = jobs[jobKey] else { return .notFound("Expected to update job with key '\(jobKey)', but no such job was found") }
        if let retries, retries <= 0 { return .invalidArgument("retries must be greater than zero") }
        if let timeoutMs {
            guard timeoutMs > 0 else { return .invalidArgument("timeout must be greater than zero") }
            guard case .activated(_, let worker) = job.state else {
                return .invalidState("Expected to update the timeout of job with key '\(jobKey)', but it is not activated")
            }
            jobs[jobKey]!.state = .activated(deadline: nowMs + timeoutMs, worker: worker)
            jobs[jobKey]!.updatedAt = nowMs
        }
        if let retries { jobs[jobKey]!.retries = retries }
        return nil
    }

    /// Resolves an incident: a failed job with retries is offered again; a gateway is re-evaluated.
    public mutating func resolveIncident(_ incidentKey: Int64, nowMs: Int64) -> EngineError? {
        guard let incident = incidents[incidentKey], !incident.resolved else {
            return .notFound("Expected to resolve incident with key '\(incidentKey)', but no such incident was found")
        }
        incidents[incidentKey]!.resolved = true
        let key = incident.processInstanceKey
        instances[key]?.incidentKey = nil
        if let j = incident.jobKey, let job = jobs[j] {
            if job.retries > 0 {
                jobs[j]!.state = .activatable(notBefore: 0)
            } else {
                raiseIncident(key, type: incident.errorType, message: "The job has no retries left; update its retries first", jobKey: j, nowMs: nowMs)
                jobs[j]!.state = .failed(incidentKey: instances[key]!.incidentKey!)
            }
        } else if instances[key]?.state == .active, instances[key]?.token != nil {
            activate(key, nowMs: nowMs)
        }
        return nil
    }

    // MARK: messages

    static func subscriptionKey(_ name: String, _ correlationKey: String) -> String { name + "\u{0}" + correlationKey }

    private mutating func correlate(_ key: Int64, name: String, correlationKey: String, variables: [String: JSONValue], nowMs: Int64) {
        let sub = Self.subscriptionKey(name, correlationKey)
        subscriptions[sub]?.removeAll { $0 == key }
        if subscriptions[sub]?.isEmpty == true { subscriptions[sub] = nil }
        for (k, v) in variables { instances[key]!.variables[k] = v }
        complete(key, flow: nil, nowMs: nowMs)
    }

    /// Publishes a message: it correlates to every instance waiting for it, and is buffered for
    /// `ttlMs` for instances that arrive later. A `messageId` already buffered is refused.
    public mutating func publishMessage(name: String, correlationKey: String, ttlMs: Int64, messageId: String?, variables: [String: JSONValue], nowMs: Int64) -> Result<Int64, EngineError> {
        guard !name.isEmpty else { return .failure(.invalidArgument("No name provided.")) }
        if let id = messageId, messages.values.contains(where: { $0.messageId == id && $0.name == name && $0.expiresAt > nowMs }) {
            return .failure(.alreadyExists("Expected to publish a new message with id '\(id)', but a message with that id was already published"))
        }
        guard messages.count < limits.maxBufferedMessages else { return .failure(.exhausted("the dev engine buffers at most \(limits.maxBufferedMessages) messages")) }
        let messageKey = newKey()
        var correlated: Set<Int64> = []
        for key in subscriptions[Self.subscriptionKey(name, correlationKey)] ?? [] {
            correlated.insert(key)
            correlate(key, name: name, correlationKey: correlationKey, variables: variables, nowMs: nowMs)
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
        guard let key = subscriptions[Self.subscriptionKey(name, correlationKey)]?.first else {
            return .failure(.notFound("Expected to find subscription for message with name '\(name)' and correlation key '\(correlationKey)', but none was found."))
        }
        let messageKey = newKey()
        correlate(key, name: name, correlationKey: correlationKey, variables: variables, nowMs: nowMs)
        return .success((messageKey, key))
    }

    // MARK: time

    /// Times out activated jobs past their deadline (offered again), drops expired messages and
    /// fires due timer boundary events.
    public mutating func tick(nowMs: Int64) {
        for (key, inst) in instances {
            guard inst.state == .active, inst.incidentKey == nil, let token = inst.token, let timer = token.timer, timer.dueMs <= nowMs,
                  case .active = token.phase else { continue }
            // Interrupting: the element's job or message subscription goes, the token leaves through the event.
            clearToken(key, token)
            enter(key, timer.boundaryId, nowMs: nowMs)
        }
        for (k, job) in jobs {
            if case .activated(let deadline, _) = job.state, deadline <= nowMs { jobs[k]!.state = .activatable(notBefore: 0) }
        }
        for (k, m) in messages where m.expiresAt <= nowMs { messages[k] = nil }
    }

}
