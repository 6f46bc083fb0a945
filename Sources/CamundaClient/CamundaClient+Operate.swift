// What a REST server or an operator does beside running jobs: searches (with the API's filter,
// sort and page), user tasks, signals, variables on a running instance, and the controlled clock
// (`PUT /v2/clock`; Zeebe serves it when its clock is controlled, the dev engine always).
import HubBytes

/// A searchable collection of the REST API v2, by the path before `/search`.
public enum SearchResource: String, Sendable {
    case processDefinitions = "process-definitions", processInstances = "process-instances", jobs, incidents, variables
    case elementInstances = "element-instances", userTasks = "user-tasks"
}

/// One page of a search: its items and the API's page description.
public struct SearchPage: Sendable {
    public var items: [JSONValue]
    public var totalItems: Int
    /// Pass as `after` for the next page (nil: no items on this one).
    public var endCursor: String?
}

extension CamundaClient {
    /// `POST /v2/{resource}/search`. `filter` members are item members or their advanced forms
    /// (`{"$in": [...]}`); `sort` pairs a member with descending or not; `after` continues from a page.
    public func search(_ resource: SearchResource, filter: [String: JSONValue] = [:], sort: [(field: String, descending: Bool)] = [],
                       limit: Int = 100, after: String? = nil) async throws -> SearchPage {
        var page: [String: JSONValue] = ["limit": JSONValue(limit)]
        if let after { page["after"] = .string(after) }
        var body: [String: JSONValue] = ["filter": .object(filter), "page": .object(page)]
        if !sort.isEmpty {
            body["sort"] = .array(sort.map { ["field": .string($0.field), "order": .string($0.descending ? "DESC" : "ASC")] })
        }
        let j = try await call("POST", "/v2/\(resource.rawValue)/search", body: .object(body), retry: .always)
        return SearchPage(items: j["items"]?.arrayValue ?? [], totalItems: j["page"]?["totalItems"]?.intValue ?? 0,
                          endCursor: j["page"]?["endCursor"]?.stringValue)
    }

    public func userTask(_ key: String) async throws -> JSONValue {
        try await call("GET", "/v2/user-tasks/\(key)", body: nil, retry: .always)
    }

    /// Assigns a user task; with `allowOverride` false, one assigned to someone else is refused (409).
    public func assignUserTask(_ key: String, to assignee: String, allowOverride: Bool = true) async throws {
        _ = try await call("POST", "/v2/user-tasks/\(key)/assignment",
                           body: ["assignee": .string(assignee), "allowOverride": .bool(allowOverride)], retry: .always)
    }

    /// Completes a user task with its form's variables. Not retried once it may have arrived: a
    /// second completion is a 409 that would hide the first one's success.
    public func completeUserTask(_ key: String, variables: [String: JSONValue] = [:]) async throws {
        _ = try await call("POST", "/v2/user-tasks/\(key)/completion", body: ["variables": .object(variables)], retry: .onlyIfNotReceived)
    }

    /// Broadcasts a signal to every waiting catch event and signal start event; returns its key.
    @discardableResult
    public func broadcastSignal(name: String, variables: [String: JSONValue] = [:]) async throws -> String {
        let j = try await call("POST", "/v2/signals/broadcast", body: ["signalName": .string(name), "variables": .object(variables)], retry: .onlyIfNotReceived)
        return j["signalKey"]?.stringValue ?? ""
    }

    /// Sets variables on a running instance (its key) or element instance; idempotent.
    public func setVariables(elementInstanceKey: String, _ variables: [String: JSONValue]) async throws {
        _ = try await call("PUT", "/v2/element-instances/\(elementInstanceKey)/variables", body: ["variables": .object(variables)], retry: .always)
    }

    /// Pins the engine's clock at `epochMilliseconds` (timers due by then fire); `resetClock` undoes it.
    public func pinClock(epochMilliseconds: Int64) async throws {
        _ = try await call("PUT", "/v2/clock", body: ["timestamp": .number(String(epochMilliseconds))], retry: .always)
    }

    public func resetClock() async throws {
        _ = try await call("POST", "/v2/clock/reset", body: .object([:]), retry: .always)
    }
}
