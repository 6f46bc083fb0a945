// Commands on people's work and on time: user tasks (search, get, assign, unassign, complete,
// their variables), signal broadcast, and the controlled clock (`PUT /v2/clock` pins the engine's
// time, `POST /v2/clock/reset` returns it to the wall clock).
import DevEngine
import HTTP1
import HubBytes
import HubServer

private func taskKey(_ p: [String: String]) -> Int64? { p["userTaskKey"].flatMap { Int64($0) } }
private func badTaskKey(_ p: [String: String]) -> HTTPResponse {
    problem(.invalidArgument("'\(p["userTaskKey"] ?? "")' is not a user task key"), "/v2/user-tasks")
}

extension Router {
    mutating func addDevEngineTaskRoutes(_ engine: DevEngine) {
        addDevEngineSearch(engine, "/v2/user-tasks/search", fields: EngineCore.userTaskFields.union(["candidateGroup", "candidateUser"]),
                           hiding: ["candidateGroup", "candidateUser"]) { core, _ in
            // The API filters on one candidate group or user: each item carries its lists under those names too.
            core.userTaskViews().map { item in
                var o = item.objectValue!
                o["candidateGroup"] = o["candidateGroups"]
                o["candidateUser"] = o["candidateUsers"]
                return .object(o)
            }
        }
        addDevEngineJSON(engine, ["GET"], "/v2/user-tasks/{userTaskKey}") { _, p, _ in
            guard let k = taskKey(p) else { return badTaskKey(p) }
            guard let v = engine.core.withLock({ c in c.userTasks[k].flatMap { c.userTaskJSON($0) } }) else {
                return problem(.notFound("User task with key '\(k)' not found"), "/v2/user-tasks/\(k)")
            }
            return ok(v)
        }
        addDevEngineJSON(engine, ["POST"], "/v2/user-tasks/{userTaskKey}/assignment") { _, p, body in
            guard let k = taskKey(p) else { return badTaskKey(p) }
            guard let assignee = body["assignee"]?.stringValue else {
                return problem(.invalidArgument("No assignee provided."), "/v2/user-tasks/\(k)/assignment")
            }
            let allowOverride = body["allowOverride"]?.boolValue ?? true
            if let e = engine.core.withLock({ $0.assignUserTask(k, assignee: assignee, allowOverride: allowOverride) }) {
                return problem(e, "/v2/user-tasks/\(k)/assignment")
            }
            return noContent
        }
        addDevEngineJSON(engine, ["DELETE"], "/v2/user-tasks/{userTaskKey}/assignee") { _, p, _ in
            guard let k = taskKey(p) else { return badTaskKey(p) }
            if let e = engine.core.withLock({ $0.unassignUserTask(k) }) { return problem(e, "/v2/user-tasks/\(k)/assignee") }
            return noContent
        }
        addDevEngineJSON(engine, ["POST"], "/v2/user-tasks/{userTaskKey}/completion") { _, p, body in
            guard let k = taskKey(p) else { return badTaskKey(p) }
            if let v = body["variables"], v != .null, v.objectValue == nil {
                return problem(.invalidArgument("variables must be a JSON object"), "/v2/user-tasks/\(k)/completion")
            }
            let variables = body["variables"]?.objectValue ?? [:]
            let now = engine.nowMs
            if let e = engine.core.withLock({ $0.completeUserTask(k, variables: variables, nowMs: now) }) {
                return problem(e, "/v2/user-tasks/\(k)/completion")
            }
            return noContent
        }
        addDevEngineSearch(engine, "/v2/user-tasks/{userTaskKey}/variables/search", fields: EngineCore.variableFields) { core, p in
            guard let k = taskKey(p), let task = core.userTasks[k] else { return nil }
            return core.variableViews().filter { $0["processInstanceKey"]?.stringValue == String(task.instanceKey) }
        }

        addDevEngineJSON(engine, ["POST"], "/v2/signals/broadcast") { _, _, body in
            guard let name = body["signalName"]?.stringValue, !name.isEmpty else {
                return problem(.invalidArgument("No signalName provided."), "/v2/signals/broadcast")
            }
            let variables = body["variables"]?.objectValue ?? [:]
            let now = engine.nowMs
            switch engine.core.withLock({ $0.broadcastSignal(name: name, variables: variables, nowMs: now) }) {
            case .failure(let e): return problem(e, "/v2/signals/broadcast")
            case .success(let key): return ok(["signalKey": .string(String(key)), "tenantId": "<default>"])
            }
        }

        addDevEngineJSON(engine, ["PUT"], "/v2/clock") { _, _, body in
            guard let timestamp = body["timestamp"]?.intValue, timestamp >= 0 else {
                return problem(.invalidArgument("timestamp must be epoch milliseconds, 0 or more"), "/v2/clock")
            }
            engine.pinnedClock.withLock { $0 = Int64(timestamp) }
            engine.tickNow()
            return noContent
        }
        addDevEngineJSON(engine, ["POST"], "/v2/clock/reset") { _, _, _ in
            engine.pinnedClock.withLock { $0 = nil }
            engine.tickNow()
            return noContent
        }
    }
}
