// What an operator or a monitoring page reads: process definitions (and their XML), variables,
// element instances, an instance's incidents, taken sequence flows and element statistics; and
// `PUT /v2/element-instances/{key}/variables`. Shapes, filters, sorting and pages as the REST API
// v2 has them (see Search.swift).
import DevEngine
import HTTP1
import HubBytes
import HubServer

private func key(_ p: [String: String], _ name: String) -> Int64? { p[name].flatMap { Int64($0) } }

extension Router {
    /// `POST path` searching `items()` by `fields`.
    mutating func addDevEngineSearch(_ engine: DevEngine, _ path: String, fields: Set<String>, hiding: Set<String> = [],
                                     _ items: @escaping @Sendable (EngineCore, [String: String]) -> [JSONValue]?) {
        addDevEngineJSON(engine, ["POST"], path) { request, p, body in
            switch SearchRequest.parse(body, fields: fields.union(hiding)) {
            case .failure(let e): return problem(e, String(request.path))
            case .success(let search):
                guard let list = engine.core.withLock({ items($0, p) }) else {
                    return problem(.notFound("No such resource: \(request.path)"), String(request.path))
                }
                return ok(search.answer(list, hiding: hiding))
            }
        }
    }

    mutating func addDevEngineQueryRoutes(_ engine: DevEngine) {
        // Process definitions. `isLatestVersion` is a filter, not an item member.
        addDevEngineSearch(engine, "/v2/process-definitions/search", fields: EngineCore.definitionSearchFields.subtracting(["isLatestVersion"]),
                           hiding: ["isLatestVersion"]) { core, _ in core.definitionViews() }
        addDevEngineJSON(engine, ["GET"], "/v2/process-definitions/{key}") { _, p, _ in
            guard let k = key(p, "key"), let d = engine.core.withLock({ $0.processDefinition(k) }) else {
                return problem(.notFound("Process definition with key '\(p["key"]!)' not found"), "/v2/process-definitions")
            }
            return ok(engine.core.withLock { $0.definitionJSON(d) })
        }
        add("/v2/process-definitions/{key}/xml", .http(methods: ["GET"]) { request, p in
            if let denied = engine.authorize(request) { return denied }
            guard let k = key(p, "key"), let d = engine.core.withLock({ $0.processDefinition(k) }) else {
                return problem(.notFound("Process definition with key '\(p["key"]!)' not found"), "/v2/process-definitions")
            }
            return HTTPResponse(status: 200, headers: [("Content-Type", "text/xml; charset=utf-8")], body: d.resource)
        })

        // Variables: one scope per instance, so every scope key is the instance key.
        addDevEngineSearch(engine, "/v2/variables/search", fields: EngineCore.variableFields) { core, _ in core.variableViews() }
        addDevEngineJSON(engine, ["GET"], "/v2/variables/{key}") { _, p, _ in
            guard let k = key(p, "key"), let v = engine.core.withLock({ $0.variableJSON(k, truncated: false) }) else {
                return problem(.notFound("Variable with key '\(p["key"]!)' not found"), "/v2/variables")
            }
            return ok(v)
        }

        // Element instances.
        // One scope level: every element's scope is its process instance.
        addDevEngineSearch(engine, "/v2/element-instances/search", fields: EngineCore.elementInstanceFields, hiding: ["elementInstanceScopeKey"]) { core, _ in
            core.elementInstanceViews().map { item in
                var o = item.objectValue!
                o["elementInstanceScopeKey"] = o["processInstanceKey"]
                return .object(o)
            }
        }
        addDevEngineJSON(engine, ["GET"], "/v2/element-instances/{key}") { _, p, _ in
            guard let k = key(p, "key"), let v = engine.core.withLock({ c in c.elementRecords[k].flatMap { c.elementInstanceJSON($0) } }) else {
                return problem(.notFound("Element instance with key '\(p["key"]!)' not found"), "/v2/element-instances")
            }
            return ok(v)
        }
        addDevEngineJSON(engine, ["PUT"], "/v2/element-instances/{key}/variables") { _, p, body in
            guard let k = key(p, "key") else { return problem(.invalidArgument("'\(p["key"]!)' is not an element instance key"), "/v2/element-instances") }
            guard let variables = body["variables"]?.objectValue else {
                return problem(.invalidArgument("No variables provided: expected a JSON object"), "/v2/element-instances/\(k)/variables")
            }
            if let e = engine.core.withLock({ $0.updateVariables(elementInstanceKey: k, variables: variables) }) {
                return problem(e, "/v2/element-instances/\(k)/variables")
            }
            return noContent
        }
        addDevEngineSearch(engine, "/v2/element-instances/{key}/incidents/search", fields: incidentFields) { core, p in
            guard let k = key(p, "key"), core.elementRecords[k] != nil else { return nil }
            return core.incidents.values.filter { $0.elementInstanceKey == k }.sorted { $0.key < $1.key }.map(\.json)
        }

        // One process instance's incidents, flows taken and per-element counts.
        addDevEngineSearch(engine, "/v2/process-instances/{key}/incidents/search", fields: incidentFields) { core, p in
            guard let k = key(p, "key"), core.instance(k) != nil else { return nil }
            return core.incidents.values.filter { $0.processInstanceKey == k }.sorted { $0.key < $1.key }.map(\.json)
        }
        addDevEngineJSON(engine, ["GET"], "/v2/process-instances/{key}/sequence-flows") { _, p, _ in
            guard let k = key(p, "key"), let flows = engine.core.withLock({ $0.sequenceFlows(k) }) else {
                return problem(.notFound("Process instance with key '\(p["key"]!)' not found"), "/v2/process-instances")
            }
            return ok(["items": .array(flows)])
        }
        addDevEngineJSON(engine, ["GET"], "/v2/process-instances/{key}/statistics/element-instances") { _, p, _ in
            guard let k = key(p, "key"), let stats = engine.core.withLock({ $0.elementStatistics(k) }) else {
                return problem(.notFound("Process instance with key '\(p["key"]!)' not found"), "/v2/process-instances")
            }
            return ok(["items": .array(stats)])
        }
    
        addDevEngineSearch(engine, "/v2/message-subscriptions/search", fields: EngineCore.messageSubscriptionFields) { core, _ in core.messageSubscriptionViews() }
        addDevEngineJSON(engine, ["POST"], "/v2/process-definitions/{key}/statistics/element-instances") { _, p, body in
            if let filter = body["filter"]?.objectValue, !filter.isEmpty {
                return problem(.invalidArgument("The dev engine counts every instance of the definition: filters are not supported here"),
                               "/v2/process-definitions/statistics")
            }
            guard let k = key(p, "key"), let stats = engine.core.withLock({ $0.elementStatistics(definition: k) }) else {
                return problem(.notFound("Process definition with key '\(p["key"]!)' not found"), "/v2/process-definitions")
            }
            return ok(["items": .array(stats)])
        }
        // Done at once (a batch operation in Camunda): the answer names the operation as Camunda does.
        addDevEngineJSON(engine, ["POST"], "/v2/process-instances/{key}/incident-resolution") { _, p, _ in
            guard let k = key(p, "key") else { return problem(.invalidArgument("'\(p["key"]!)' is not a key"), "/v2/process-instances") }
            let now = engine.nowMs
            let result = engine.core.withLock { c -> Result<Int64, EngineError> in
                if let e = c.resolveIncidents(ofInstance: k, nowMs: now) { return .failure(e) }
                return .success(c.newOperationKey())
            }
            switch result {
            case .failure(let e): return problem(e, "/v2/process-instances/\(k)/incident-resolution")
            case .success(let op): return ok(["batchOperationKey": .string(String(op)), "batchOperationType": "RESOLVE_INCIDENT"])
            }
        }
    }
}
