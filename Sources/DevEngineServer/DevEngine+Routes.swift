// The REST API v2 subset, with Camunda's paths, JSON members, status codes and problem details:
//
//   GET  /v2/topology                           POST /v2/deployments (multipart "resources")
//   POST /v2/process-instances                  GET  /v2/process-instances/{key}
//   POST /v2/process-instances/{key}/cancellation
//   POST /v2/jobs/activation (long poll)        POST /v2/jobs/{jobKey}/completion|failure|error
//   PATCH /v2/jobs/{jobKey}                     POST /v2/messages/publication|correlation
//   POST /v2/incidents/search                   GET  /v2/incidents/{key}
//   POST /v2/incidents/{key}/resolution         POST /oauth/token (when OAuth is on)
//
// Searches and reads are in +QueryRoutes; user tasks, signals and the clock in +TaskRoutes.
import DevEngine
import HTTP1
import HubBytes
import HubServer

func ok(_ value: JSONValue) -> HTTPResponse { .json(200, value.serialized()) }
/// A process instance as `GET /v2/process-instances/{key}` and its search shape it (8.10 members).
func instanceJSON(_ v: EngineCore.InstanceView) -> JSONValue {
    [
        "processInstanceKey": .string(String(v.key)), "processDefinitionKey": .string(String(v.definition.key)),
        "processDefinitionId": .string(v.definition.processId), "processDefinitionVersion": JSONValue(v.definition.version),
        "processDefinitionName": v.definition.model.name.map { .string($0) } ?? .null, "processDefinitionVersionTag": .null,
        "state": .string(v.state.rawValue), "hasIncident": .bool(v.hasIncident), "tenantId": "<default>",
        "startDate": .string(isoTime(v.startedAt)), "endDate": v.endedAt.map { .string(isoTime($0)) } ?? .null, "suspendedDate": .null,
        "parentProcessInstanceKey": .null, "parentElementInstanceKey": .null, "rootProcessInstanceKey": .string(String(v.key)),
        "tags": [], "businessId": .null,
    ]
}

let instanceFields: Set<String> = [
    "processInstanceKey", "processDefinitionKey", "processDefinitionId", "processDefinitionVersion", "processDefinitionName",
    "processDefinitionVersionTag", "state", "hasIncident", "tenantId", "startDate", "endDate", "suspendedDate",
    "parentProcessInstanceKey", "parentElementInstanceKey", "rootProcessInstanceKey", "tags", "businessId",
]

let incidentFields: Set<String> = [
    "incidentKey", "errorType", "errorMessage", "elementId", "elementInstanceKey", "processInstanceKey", "processDefinitionKey",
    "processDefinitionId", "creationTime", "state", "tenantId", "rootProcessInstanceKey", "jobKey",
]
let noContent = HTTPResponse(status: 204)
let allMethods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]

/// The answer for an endpoint of the API the dev engine does not serve.
func unserved(_ request: HTTPRequest) -> HTTPResponse {
    problem(EngineError(404, "NOT_FOUND", "\(request.method) \(request.path) is not served by the dev engine (docs/dev-engine.md lists what it serves)"),
            String(request.path))
}
private func jobKey(_ p: [String: String]) -> Int64? { Int64(p["jobKey"]!) }
private func badKey(_ p: [String: String]) -> HTTPResponse { problem(.invalidArgument("'\(p["jobKey"]!)' is not a job key"), "/v2/jobs") }

extension Router {
    /// A dev-engine route with a JSON object body (empty: `{}`), authorized, and long polls
    /// serviced after it (the command may have made jobs or finished instances).
    mutating func addDevEngineJSON(_ engine: DevEngine, _ methods: Set<String>, _ path: String,
                                   _ handler: @escaping @Sendable (HTTPRequest, [String: String], JSONValue) -> HTTPResponse) {
        // Every method reaches the handler: another method on the same path (`PATCH
        // /v2/user-tasks/{key}`, `POST /v2/jobs/batch-update`) is an endpoint the dev engine does
        // not serve, and says so like any other.
        add(path, .http(methods: allMethods) { request, params in
            guard methods.contains(request.method) else { return unserved(request) }
            if let denied = engine.authorize(request) { return denied }
            let body: JSONValue
            if request.body.isEmpty {
                body = .object([:])
            } else {
                switch JSONValue.parse(request.body) {
                case .success(let v): body = v
                case .failure(let e): return problem(.invalidArgument("Request body is not valid JSON: \(e)"), String(request.path))
                }
            }
            guard case .object = body else { return problem(.invalidArgument("Request body must be a JSON object"), String(request.path)) }
            let response = handler(request, params, body)
            engine.serviceWaiters()
            return response
        })
    }

    public mutating func addDevEngineRoutes(_ engine: DevEngine) {
        addDevEngineQueryRoutes(engine)
        addDevEngineTaskRoutes(engine)
        addDevEngineMonitor(engine)
        func json(_ methods: Set<String>, _ path: String, _ handler: @escaping @Sendable (HTTPRequest, [String: String], JSONValue) -> HTTPResponse) {
            addDevEngineJSON(engine, methods, path, handler)
        }

        add("/oauth/token", .http(methods: ["POST"]) { request, _ in engine.issueToken(request) })

        // Every other /v2 path: a problem detail saying the dev engine does not serve it (a client
        // then knows it reached the engine, and what to use a real cluster for).
        addFallback(prefix: "/v2/", .http(methods: allMethods) { request, _ in unserved(request) })

        json(["GET"], "/v2/topology") { _, _, _ in
            ok(["brokers": [["nodeId": 0, "brokerId": 0, "host": "127.0.0.1", "port": 26501, "version": "8.10.0-dev-engine",
                             "partitions": [["partitionId": 1, "role": "leader", "health": "healthy", "state": "active"]]]],
                "clusterId": "00000000-0000-4000-8000-00000000de7e", "clusterSize": 1, "partitionsCount": 1, "replicationFactor": 1,
                "gatewayVersion": "8.10.0-dev-engine", "lastCompletedChangeId": "-1"])
        }

        add("/v2/deployments", .http(methods: ["POST"]) { request, _ in
            if let denied = engine.authorize(request) { return denied }
            guard let boundary = MultipartForm.boundary(contentType: request.headers["Content-Type"] ?? "") else {
                return problem(.invalidArgument("Expected a multipart/form-data body with 'resources' parts"), "/v2/deployments")
            }
            let parts: [MultipartPart]
            switch MultipartForm.parse(request.body, boundary: boundary) {
            case .failure(let e): return problem(.invalidArgument(e.message), "/v2/deployments")
            case .success(let p): parts = p
            }
            let resources = parts.filter { $0.name == "resources" }.map { EngineCore.DeployedResource(name: $0.filename ?? "resource.bpmn", bytes: $0.body) }
            switch engine.core.withLock({ $0.deploy(resources) }) {
            case .failure(let e): return problem(e, "/v2/deployments")
            case .success(let (key, defs)):
                return ok(["deploymentKey": .string(String(key)), "tenantId": "<default>",
                           "deployments": .array(defs.map { d in
                               ["processDefinition": ["processDefinitionId": .string(d.processId), "processDefinitionVersion": JSONValue(d.version),
                                                      "resourceName": .string(d.resourceName), "tenantId": "<default>",
                                                      "processDefinitionKey": .string(String(d.key))]]
                           })])
            }
        })

        add("/v2/process-instances", .exchange(methods: ["POST"]) { request, _, exchange in
            if let denied = engine.authorize(request) { exchange.respond(denied); return }
            guard case .success(let body) = JSONValue.parse(request.body), case .object = body else {
                exchange.respond(problem(.invalidArgument("Request body must be a JSON object"), "/v2/process-instances")); return
            }
            let ref: EngineCore.DefinitionRef
            if let k = body["processDefinitionKey"]?.stringValue ?? body["processDefinitionKey"]?.intValue.map(String.init) {
                guard let key = Int64(k) else { exchange.respond(problem(.invalidArgument("processDefinitionKey '\(k)' is not a key"), "/v2/process-instances")); return }
                ref = .key(key)
            } else if let id = body["processDefinitionId"]?.stringValue {
                ref = .id(id, version: body["processDefinitionVersion"]?.intValue)
            } else {
                exchange.respond(problem(.invalidArgument("At least one of [processDefinitionId, processDefinitionKey] is required"), "/v2/process-instances")); return
            }
            let variables = body["variables"]?.objectValue ?? [:]
            let fetch = body["fetchVariables"]?.arrayValue?.compactMap(\.stringValue)
            let awaiting = body["awaitCompletion"]?.boolValue ?? false
            switch engine.core.withLock({ $0.createInstance(ref, variables: variables, nowMs: engine.nowMs) }) {
            case .failure(let e): exchange.respond(problem(e, "/v2/process-instances"))
            case .success(let (key, def)):
                if !awaiting {
                    exchange.respond(ok(engine.instanceCreated(def, key: key, variables: nil)))
                } else if let box = ExchangeHandle(exchange) {
                    let timeout = Int64(body["requestTimeout"]?.intValue.flatMap { $0 > 0 ? $0 : nil } ?? 300_000)
                    engine.completionWaiters.withLock { $0[key, default: []].append(CompletionWaiter(box: box, fetchVariables: fetch, deadlineMs: DevEngine.wallMs + timeout)) }
                }
                engine.serviceWaiters()
            }
        })

        json(["GET"], "/v2/process-instances/{key}") { _, p, _ in
            guard let key = Int64(p["key"]!), let v = engine.core.withLock({ $0.instance(key) }) else {
                return problem(.notFound("Process instance with key '\(p["key"]!)' not found"), "/v2/process-instances")
            }
            return ok(instanceJSON(v))
        }

        json(["POST"], "/v2/process-instances/search") { _, _, body in
            switch SearchRequest.parse(body, fields: instanceFields) {
            case .failure(let e): return problem(e, "/v2/process-instances/search")
            case .success(let search): return ok(search.answer(engine.core.withLock { $0.instanceViews() }.map(instanceJSON)))
            }
        }

        json(["POST"], "/v2/jobs/search") { _, _, body in
            switch SearchRequest.parse(body, fields: EngineCore.jobSearchFields) {
            case .failure(let e): return problem(e, "/v2/jobs/search")
            case .success(let search): return ok(search.answer(engine.core.withLock { $0.jobViews() }))
            }
        }

        // The dev engine is up whenever it answers: 204, as a healthy cluster's gateway says.
        add("/v2/status", .http(methods: ["GET"]) { _, _ in noContent })

        json(["POST"], "/v2/process-instances/{key}/cancellation") { _, p, _ in
            guard let key = Int64(p["key"]!) else { return problem(.invalidArgument("not a key"), "/v2/process-instances") }
            if let e = engine.core.withLock({ $0.cancelInstance(key, nowMs: engine.nowMs) }) { return problem(e, "/v2/process-instances") }
            return noContent
        }

        add("/v2/jobs/activation", .exchange(methods: ["POST"]) { request, _, exchange in
            if let denied = engine.authorize(request) { exchange.respond(denied); return }
            guard case .success(let body) = JSONValue.parse(request.body), case .object = body else {
                exchange.respond(problem(.invalidArgument("Request body must be a JSON object"), "/v2/jobs/activation")); return
            }
            guard let type = body["type"]?.stringValue, !type.isEmpty else {
                exchange.respond(problem(.invalidArgument("No type provided."), "/v2/jobs/activation")); return
            }
            guard let timeout = body["timeout"]?.intValue, timeout > 0 else {
                exchange.respond(problem(.invalidArgument("The value for timeout is '\(body["timeout"]?.serialized() ?? "null")' but must be greater than 0."), "/v2/jobs/activation")); return
            }
            guard let max = body["maxJobsToActivate"]?.intValue, max > 0 else {
                exchange.respond(problem(.invalidArgument("The value for maxJobsToActivate must be greater than 0."), "/v2/jobs/activation")); return
            }
            let worker = body["worker"]?.stringValue ?? "default"
            let fetch = body["fetchVariable"]?.arrayValue?.compactMap(\.stringValue)
            // requestTimeout: 0 or absent means the gateway's default long poll (10 s); negative: no long poll.
            let requestTimeout = body["requestTimeout"]?.intValue ?? 0
            let jobs = engine.core.withLock { $0.activateJobs(type: type, worker: worker, timeoutMs: Int64(timeout), max: Swift.min(max, 1000), fetchVariables: fetch, nowMs: engine.nowMs) }
            if !jobs.isEmpty || requestTimeout < 0 {
                exchange.respond(ok(["jobs": .array(jobs.map(\.json))]))
                return
            }
            guard let box = ExchangeHandle(exchange) else { return }
            let wait = Int64(requestTimeout == 0 ? 10_000 : Swift.min(requestTimeout, 600_000))
            engine.waiters.withLock {
                $0.append(ActivationWaiter(box: box, type: type, worker: worker, timeoutMs: Int64(timeout), max: Swift.min(max, 1000),
                                           fetchVariables: fetch, deadlineMs: DevEngine.wallMs + wait))
            }
            exchange.onDrain = { box.respond(.json(200, "{\"jobs\":[]}")) }
            engine.serviceWaiters()
        })


        json(["POST"], "/v2/jobs/{jobKey}/completion") { _, p, body in
            guard let k = jobKey(p) else { return badKey(p) }
            let vars = body["variables"]?.objectValue ?? [:]
            if let e = engine.core.withLock({ $0.completeJob(k, variables: vars, nowMs: engine.nowMs) }) { return problem(e, "/v2/jobs/\(k)/completion") }
            return noContent
        }
        json(["POST"], "/v2/jobs/{jobKey}/failure") { _, p, body in
            guard let k = jobKey(p) else { return badKey(p) }
            let retries = body["retries"]?.intValue ?? 0
            let backOff = Int64(body["retryBackOff"]?.intValue ?? 0)
            let vars = body["variables"]?.objectValue ?? [:]
            if let e = engine.core.withLock({ $0.failJob(k, retries: retries, errorMessage: body["errorMessage"]?.stringValue, backOffMs: backOff, variables: vars, nowMs: engine.nowMs) }) {
                return problem(e, "/v2/jobs/\(k)/failure")
            }
            return noContent
        }
        json(["POST"], "/v2/jobs/{jobKey}/error") { _, p, body in
            guard let k = jobKey(p) else { return badKey(p) }
            guard let code = body["errorCode"]?.stringValue, !code.isEmpty else { return problem(.invalidArgument("No errorCode provided."), "/v2/jobs/\(k)/error") }
            let vars = body["variables"]?.objectValue ?? [:]
            if let e = engine.core.withLock({ $0.throwError(k, errorCode: code, errorMessage: body["errorMessage"]?.stringValue, variables: vars, nowMs: engine.nowMs) }) {
                return problem(e, "/v2/jobs/\(k)/error")
            }
            return noContent
        }
        json(["PATCH"], "/v2/jobs/{jobKey}") { _, p, body in
            guard let k = jobKey(p) else { return badKey(p) }
            let retries = body["changeset"]?["retries"]?.intValue
            let timeout = body["changeset"]?["timeout"]?.intValue.map(Int64.init)
            guard retries != nil || timeout != nil else {
                return problem(.invalidArgument("No changeset provided: set retries and/or timeout."), "/v2/jobs/\(k)")
            }
            if let e = engine.core.withLock({ $0.updateJob(k, retries: retries, timeoutMs: timeout, nowMs: engine.nowMs) }) { return problem(e, "/v2/jobs/\(k)") }
            return noContent
        }

        json(["POST"], "/v2/messages/publication") { _, _, body in
            guard let name = body["name"]?.stringValue else { return problem(.invalidArgument("No name provided."), "/v2/messages/publication") }
            let correlationKey = body["correlationKey"]?.stringValue ?? ""
            let ttl = Int64(body["timeToLive"]?.intValue ?? 0)
            switch engine.core.withLock({ $0.publishMessage(name: name, correlationKey: correlationKey, ttlMs: ttl, messageId: body["messageId"]?.stringValue,
                                                           variables: body["variables"]?.objectValue ?? [:], nowMs: engine.nowMs) }) {
            case .failure(let e): return problem(e, "/v2/messages/publication")
            case .success(let key): return ok(["messageKey": .string(String(key)), "tenantId": "<default>"])
            }
        }
        json(["POST"], "/v2/messages/correlation") { _, _, body in
            guard let name = body["name"]?.stringValue else { return problem(.invalidArgument("No name provided."), "/v2/messages/correlation") }
            switch engine.core.withLock({ $0.correlateMessage(name: name, correlationKey: body["correlationKey"]?.stringValue ?? "",
                                                             variables: body["variables"]?.objectValue ?? [:], nowMs: engine.nowMs) }) {
            case .failure(let e): return problem(e, "/v2/messages/correlation")
            case .success(let (messageKey, instanceKey)):
                return ok(["messageKey": .string(String(messageKey)), "processInstanceKey": .string(String(instanceKey)), "tenantId": "<default>"])
            }
        }

        json(["POST"], "/v2/incidents/search") { _, _, body in
            switch SearchRequest.parse(body, fields: incidentFields) {
            case .failure(let e): return problem(e, "/v2/incidents/search")
            case .success(let search):
                return ok(search.answer(engine.core.withLock { Array($0.incidents.values) }.sorted { $0.key < $1.key }.map(\.json)))
            }
        }
        json(["GET"], "/v2/incidents/{key}") { _, p, _ in
            guard let k = Int64(p["key"]!), let i = engine.core.withLock({ $0.incidents[k] }) else {
                return problem(.notFound("Incident with key '\(p["key"]!)' not found"), "/v2/incidents")
            }
            return ok(i.json)
        }
        json(["POST"], "/v2/incidents/{key}/resolution") { _, p, _ in
            guard let k = Int64(p["key"]!) else { return problem(.invalidArgument("not a key"), "/v2/incidents") }
            if let e = engine.core.withLock({ $0.resolveIncident(k, nowMs: engine.nowMs) }) { return problem(e, "/v2/incidents/\(k)/resolution") }
            return noContent
        }
    }
}
