// What searches and gets return, shaped as the REST API v2 (8.10) shapes its items: every member
// it marks required is present, `null` where the dev engine has nothing to say. The field sets
// are what a search may filter and sort on.
import HubBytes

extension EngineCore {
    /// The members of a job search item.
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

    public static let definitionSearchFields: Set<String> = [
        "name", "resourceName", "version", "versionTag", "processDefinitionId", "tenantId", "processDefinitionKey", "hasStartForm",
        "state", "isLatestVersion",
    ]

    public func definitionJSON(_ d: ProcessDefinition) -> JSONValue {
        [
            "name": d.model.name.map { .string($0) } ?? .null, "resourceName": .string(d.resourceName), "version": JSONValue(d.version),
            "versionTag": .null, "processDefinitionId": .string(d.processId), "tenantId": "<default>",
            "processDefinitionKey": .string(String(d.key)), "hasStartForm": false, "state": "ACTIVE",
        ]
    }

    /// Definitions for a search; `isLatestVersion` is a filter the API has, not an item member.
    public func definitionViews() -> [JSONValue] {
        processDefinitions.map { d in
            var o = definitionJSON(d).objectValue!
            o["isLatestVersion"] = .bool(isLatest(d))
            return .object(o)
        }
    }

    public static let elementInstanceFields: Set<String> = [
        "processDefinitionId", "startDate", "endDate", "elementId", "elementName", "type", "state", "hasIncident", "tenantId",
        "elementInstanceKey", "processInstanceKey", "rootProcessInstanceKey", "processDefinitionKey", "incidentKey",
    ]

    public func elementInstanceJSON(_ r: ElementRecord) -> JSONValue? {
        guard let inst = instances[r.instanceKey] else { return nil }
        return [
            "processDefinitionId": .string(inst.definition.processId), "startDate": .string(isoTime(r.startedAt)),
            "endDate": r.endedAt.map { .string(isoTime($0)) } ?? .null, "elementId": .string(r.elementId),
            "elementName": .string(r.name ?? r.elementId), "type": .string(r.typeName), "state": .string(r.state.rawValue),
            "hasIncident": .bool(r.incidentKey != nil), "tenantId": "<default>", "elementInstanceKey": .string(String(r.key)),
            "processInstanceKey": .string(String(r.instanceKey)), "rootProcessInstanceKey": .string(String(r.instanceKey)),
            "processDefinitionKey": .string(String(inst.definition.key)), "incidentKey": r.incidentKey.map { .string(String($0)) } ?? .null,
        ]
    }

    public func elementInstanceViews() -> [JSONValue] {
        elementRecords.keys.sorted().compactMap { elementInstanceJSON(elementRecords[$0]!) }
    }

    public static let variableFields: Set<String> = [
        "name", "value", "isTruncated", "tenantId", "variableKey", "scopeKey", "processInstanceKey", "rootProcessInstanceKey",
    ]

    /// Search results carry at most this many characters of a value, as the API does; a get has it all.
    public static let truncatedValueLength = 8191

    public func variableJSON(_ key: Int64, truncated: Bool) -> JSONValue? {
        guard let owner = variableOwners[key], let value = instances[owner.instance]?.variables[owner.name] else { return nil }
        var text = value.serialized()
        let cut = truncated && text.count > Self.truncatedValueLength
        if cut { text = String(text.prefix(Self.truncatedValueLength)) }
        var o: [String: JSONValue] = [
            "name": .string(owner.name), "value": .string(text), "tenantId": "<default>", "variableKey": .string(String(key)),
            "scopeKey": .string(String(owner.instance)), "processInstanceKey": .string(String(owner.instance)),
            "rootProcessInstanceKey": .string(String(owner.instance)),
        ]
        if truncated { o["isTruncated"] = .bool(cut) }
        return .object(o)
    }

    public func variableViews() -> [JSONValue] { variableOwners.keys.sorted().compactMap { variableJSON($0, truncated: true) } }

    public static let userTaskFields: Set<String> = [
        "name", "state", "assignee", "elementId", "candidateGroups", "candidateUsers", "processDefinitionId", "creationDate",
        "completionDate", "followUpDate", "dueDate", "tenantId", "externalFormReference", "processDefinitionVersion", "customHeaders",
        "priority", "userTaskKey", "elementInstanceKey", "processName", "processDefinitionKey", "processInstanceKey",
        "rootProcessInstanceKey", "businessId", "formKey", "tags",
    ]

    public func userTaskJSON(_ u: UserTask) -> JSONValue? {
        guard let inst = instances[u.instanceKey] else { return nil }
        let d = u.definition
        func text(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        return [
            "name": .string(u.name ?? u.elementId), "state": .string(u.state.rawValue), "assignee": text(u.assignee),
            "elementId": .string(u.elementId), "candidateGroups": .array(d.candidateGroups.map { .string($0) }),
            "candidateUsers": .array(d.candidateUsers.map { .string($0) }), "processDefinitionId": .string(inst.definition.processId),
            "creationDate": .string(isoTime(u.createdAt)), "completionDate": u.completedAt.map { .string(isoTime($0)) } ?? .null,
            "followUpDate": text(d.followUpDate), "dueDate": text(d.dueDate), "tenantId": "<default>",
            "externalFormReference": text(d.externalFormReference), "processDefinitionVersion": JSONValue(inst.definition.version),
            "customHeaders": .object(d.headers.mapValues { .string($0) }), "priority": JSONValue(d.priority),
            "userTaskKey": .string(String(u.key)), "elementInstanceKey": .string(String(u.elementInstanceKey)),
            "processName": text(inst.definition.model.name), "processDefinitionKey": .string(String(inst.definition.key)),
            "processInstanceKey": .string(String(u.instanceKey)), "rootProcessInstanceKey": .string(String(u.instanceKey)),
            "businessId": .null, "formKey": text(d.formKey), "tags": [],
        ]
    }

    public func userTaskViews() -> [JSONValue] { userTasks.keys.sorted().compactMap { userTaskJSON(userTasks[$0]!) } }

    /// `GET /v2/process-instances/{key}/sequence-flows`: the flows the instance has taken.
    public func sequenceFlows(_ i: Int64) -> [JSONValue]? {
        guard let inst = instances[i] else { return nil }
        return inst.takenFlows.map { f in
            [
                "sequenceFlowId": .string(f), "processInstanceKey": .string(String(i)), "rootProcessInstanceKey": .string(String(i)),
                "processDefinitionKey": .string(String(inst.definition.key)), "processDefinitionId": .string(inst.definition.processId),
                "elementId": .string(f), "tenantId": "<default>",
            ]
        }
    }

    /// `GET /v2/process-instances/{key}/statistics/element-instances`: per element, how many of its
    /// instances are active, completed, canceled and with an incident.
    public func elementStatistics(_ i: Int64) -> [JSONValue]? {
        guard let inst = instances[i] else { return nil }
        var counts: [String: (active: Int, completed: Int, canceled: Int, incidents: Int)] = [:]
        var order: [String] = []
        for k in inst.elementKeys {
            guard let r = elementRecords[k], r.typeName != "PROCESS" else { continue }
            if counts[r.elementId] == nil { order.append(r.elementId); counts[r.elementId] = (0, 0, 0, 0) }
            switch r.state {
            case .active: counts[r.elementId]!.active += 1
            case .completed: counts[r.elementId]!.completed += 1
            case .terminated: counts[r.elementId]!.canceled += 1
            }
            if r.incidentKey != nil { counts[r.elementId]!.incidents += 1 }
        }
        return order.map { id in
            let c = counts[id]!
            return ["elementId": .string(id), "active": JSONValue(c.active), "completed": JSONValue(c.completed),
                    "canceled": JSONValue(c.canceled), "incidents": JSONValue(c.incidents)]
        }
    }

    public static let messageSubscriptionFields: Set<String> = [
        "businessId", "messageSubscriptionKey", "processDefinitionId", "processDefinitionKey", "processInstanceKey", "rootProcessInstanceKey",
        "elementId", "elementInstanceKey", "messageSubscriptionState", "lastUpdatedDate", "messageName", "correlationKey",
        "messageSubscriptionType", "toolProperties", "processDefinitionName", "processDefinitionVersion", "toolName", "inboundConnectorType",
        "tenantId",
    ]

    /// Open message subscriptions (correlated and closed ones are not kept), oldest first.
    public func messageSubscriptionViews() -> [JSONValue] {
        var out: [(Int64, JSONValue)] = []
        for (key, list) in messageWaits {
            let parts = key.split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            for w in list {
                guard let inst = instances[w.instanceKey], let token = inst.tokens[w.tokenKey] else { continue }
                let def = inst.definition
                out.append((w.subscriptionKey, [
                    "businessId": .null, "messageSubscriptionKey": .string(String(w.subscriptionKey)), "processDefinitionId": .string(def.processId),
                    "processDefinitionKey": .string(String(def.key)), "processInstanceKey": .string(String(inst.key)),
                    "rootProcessInstanceKey": .string(String(inst.key)), "elementId": .string(w.eventId ?? token.elementId ?? def.processId),
                    "elementInstanceKey": .string(String(w.tokenKey)), "messageSubscriptionState": "CREATED",
                    "lastUpdatedDate": .string(isoTime(w.since)), "messageName": .string(parts[0]), "correlationKey": .string(parts.count > 1 ? parts[1] : ""),
                    "messageSubscriptionType": "PROCESS_EVENT", "toolProperties": .object([:]), "processDefinitionName": def.model.name.map { .string($0) } ?? .null,
                    "processDefinitionVersion": JSONValue(def.version), "toolName": .null, "inboundConnectorType": .null, "tenantId": "<default>",
                ]))
            }
        }
        return out.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// `POST /v2/process-definitions/{key}/statistics/element-instances`: per element, over every
    /// remembered instance of the definition.
    public func elementStatistics(definition key: Int64) -> [JSONValue]? {
        guard let def = definitions[key] else { return nil }
        var totals: [String: [String: Int]] = [:]
        for inst in instances.values where inst.definition.key == key {
            for item in elementStatistics(inst.key) ?? [] {
                let id = item["elementId"]!.stringValue!
                for field in ["active", "completed", "canceled", "incidents"] { totals[id, default: [:]][field, default: 0] += item[field]?.intValue ?? 0 }
            }
        }
        return def.model.elements.keys.sorted().compactMap { id in
            guard let t = totals[id] else { return nil }
            return ["elementId": .string(id), "active": JSONValue(t["active"] ?? 0), "completed": JSONValue(t["completed"] ?? 0),
                    "canceled": JSONValue(t["canceled"] ?? 0), "incidents": JSONValue(t["incidents"] ?? 0)]
        }
    }
}
