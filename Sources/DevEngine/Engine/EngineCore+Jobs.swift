// Jobs: created for service tasks, job-worker user tasks and execution listeners; activated by
// workers (long polls in the HTTP layer), completed, failed, or ended by a thrown BPMN error.
import HubBytes

extension EngineCore {
    mutating func createJob(_ i: Int64, _ t: Int64, type: String, retries: Int, headers: [String: String], kind: JobKind, event: String, nowMs: Int64) {
        let inst = instances[i]!
        let jobKey = newKey()
        jobs[jobKey] = Job(key: jobKey, type: type, instanceKey: i, elementId: inst.tokens[t]!.elementId ?? inst.definition.processId,
                           elementInstanceKey: t, kind: kind, listenerEvent: event, retries: max(retries, 1),
                           headers: headers, state: .activatable(notBefore: 0), createdAt: nowMs, updatedAt: nowMs)
        instances[i]!.tokens[t]!.jobKey = jobKey
    }

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
                // Members the 8.10 API requires; the dev engine has one tenant, no user-task
                // listener jobs, no tags, business ids or priorities, and one instance level.
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

    func liveJob(_ jobKey: Int64, _ verb: String) -> Result<Job, EngineError> {
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
        let i = job.instanceKey, t = job.elementInstanceKey
        guard instances[i]?.state == .active else { return nil }
        setVariables(i, variables)
        guard let token = instances[i]!.tokens[t], token.jobKey == jobKey else { return nil }
        instances[i]!.tokens[t]!.jobKey = nil
        switch token.phase {
        case .startListener(let n):
            instances[i]!.tokens[t]!.phase = .startListener(n + 1)
            runListener(i, t, nowMs: nowMs)
        case .endListener(let n, let flow):
            instances[i]!.tokens[t]!.phase = .endListener(n + 1, flow: flow)
            runListener(i, t, nowMs: nowMs)
        case .active:
            complete(i, t, flow: nil, nowMs: nowMs)
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
        setVariables(job.instanceKey, variables)
        job.retries = max(0, retries)
        job.errorMessage = errorMessage
        job.updatedAt = nowMs
        if job.retries > 0 {
            job.state = .activatable(notBefore: nowMs + max(0, backOffMs))
            jobs[jobKey] = job
        } else {
            jobs[jobKey] = job
            failForGood(job, type: "JOB_NO_RETRIES", message: errorMessage ?? "No more retries left.", nowMs: nowMs)
        }
        return nil
    }

    /// A job that cannot go on: an incident on its element, the job kept FAILED for a retry.
    mutating func failForGood(_ job: Job, type: String, message: String, nowMs: Int64) {
        raiseIncident(job.instanceKey, job.elementInstanceKey, type: type, message: message, jobKey: job.key, nowMs: nowMs)
        let incident = instances[job.instanceKey]?.tokens[job.elementInstanceKey]?.incidentKey ?? 0
        jobs[job.key]!.state = .failed(incidentKey: incident)
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
        let i = job.instanceKey
        setVariables(i, variables)
        let boundaries = job.kind == .bpmnElement ? (instances[i]?.definition.model.boundaries[job.elementId] ?? []) : []
        func code(_ b: BoundaryEvent) -> String?? { if case .error(let c) = b.trigger { return .some(c) } else { return .none } }
        let catcher = boundaries.first { code($0) == .some(errorCode) } ?? boundaries.first { code($0) == .some(nil) }
        if let catcher, instances[i]?.state == .active {
            jobs[jobKey] = nil
            if instances[i]!.variables["errorCode"] == nil { setVariables(i, ["errorCode": .string(errorCode)]) }
            drop(i, job.elementInstanceKey, nowMs: nowMs)
            spawn(i, catcher.elementId, nowMs: nowMs)
        } else {
            jobs[jobKey]!.retries = 0
            failForGood(job, type: "UNHANDLED_ERROR_EVENT",
                        message: "Expected to throw an error event with the code '\(errorCode)' with message '\(errorMessage ?? "")', but it was not caught. No error events are available in the scope.",
                        nowMs: nowMs)
        }
        return nil
    }

    /// Offers an activated job again at once (its long poll was gone when the answer was ready).
    public mutating func releaseJob(_ jobKey: Int64) {
        if case .activated = jobs[jobKey]?.state { jobs[jobKey]!.state = .activatable(notBefore: 0) }
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
}
