// The hub's action-link groups and what opening or using a link means. Pure: the service shows
// the page, records what `use` says and publishes the message; time is passed in.
//
//   GET  link ─▶ never acts: the confirmation page (or what was recorded)
//   POST link ─▶ group open, inputs valid ─▶ apply: record pending, publish (messageId = group), record used
//              this action used (or pending) ─▶ the recorded answer again (a pending one is re-driven)
//              a sibling used ─▶ "another choice was recorded" (409)
//              expired or revoked ─▶ 410
import HubBytes
import HubCore

public enum LinkView: Sendable, Equatable {
    /// A valid link whose group the hub no longer has (reaped after expiry): 410.
    case unknown
    case expired(ActionGroup)
    case revoked(ActionGroup)
    /// The confirmation page: nothing recorded yet (or this action's use is still pending).
    case open(ActionGroup, ActionDefinition)
    /// This action was recorded: "already recorded: <label> at <time>".
    case recorded(ActionGroup)
    /// A sibling was recorded: "another choice was recorded" (409).
    case otherChosen(ActionGroup)
}

public enum LinkUse: Sendable, Equatable {
    /// Record `pending`, publish the message with `variables`, then record it used.
    case apply(ActionGroup, action: String, variables: [String: JSONValue])
    /// The entered values are not acceptable: the page again, with `message`.
    case invalid(ActionGroup, ActionDefinition, message: String)
    case view(LinkView)
}

public struct ActionBook: Sendable {
    public private(set) var groups: [String: ActionGroup] = [:]
    /// How long a group is kept after it expires, so late clicks get "expired" and used ones
    /// "already recorded" rather than a bare 410.
    public let retentionMs: Int64

    public init(recovered: [StoredRecord] = [], retentionMs: Int64, nowMs: Int64) {
        self.retentionMs = retentionMs
        for stored in recovered {
            if let g = ActionGroup(stored), stored.expiresAt > nowMs { groups[g.id] = g }
        }
    }

    /// Adds a group; the same definition again returns the existing group (an idempotent retry),
    /// a different one under the same id is refused.
    public mutating func create(_ group: ActionGroup) -> Result<(group: ActionGroup, isNew: Bool), ActionError> {
        if let existing = groups[group.id] {
            let same = existing.messageName == group.messageName && existing.correlationKey == group.correlationKey
                && existing.actions == group.actions && existing.title == group.title
            return same ? .success((existing, false)) : .failure(.conflict("group \(group.id) exists with another definition"))
        }
        groups[group.id] = group
        return .success((group, true))
    }

    public func view(group id: String, action name: String, nowMs: Int64) -> LinkView {
        guard let group = groups[id], let action = group.action(name) else { return .unknown }
        switch group.state {
        case .open: return nowMs >= group.expiresAt ? .expired(group) : .open(group, action)
        case .pending(let chosen, _, _): return chosen == name ? .open(group, action) : .otherChosen(group)
        case .used(let chosen, _, _): return chosen == name ? .recorded(group) : .otherChosen(group)
        case .revoked: return .revoked(group)
        }
    }

    public func use(group id: String, action name: String, form: [String: JSONValue], nowMs: Int64) -> LinkUse {
        let seen = view(group: id, action: name, nowMs: nowMs)
        guard case .open(let group, let action) = seen else { return .view(seen) }
        if case .pending(_, let variables, _) = group.state { return .apply(group, action: name, variables: variables) }
        switch group.variables(for: action, form: form) {
        case .failure(let e): return .invalid(group, action, message: e.message)
        case .success(let variables): return .apply(group, action: name, variables: variables)
        }
    }

    /// Sets a group's state; returns the group to persist.
    @discardableResult
    public mutating func set(_ state: ActionGroup.State, group id: String) -> ActionGroup? {
        guard groups[id] != nil else { return nil }
        groups[id]!.state = state
        groups[id]!.version += 1
        return groups[id]
    }

    /// Revokes an open group. Returns it revoked (also when it already was), or the reason it
    /// cannot be: a choice was recorded (or is being recorded).
    public mutating func revoke(group id: String, nowMs: Int64) -> Result<ActionGroup, ActionError>? {
        guard let group = groups[id] else { return nil }
        switch group.state {
        case .open: return .success(set(.revoked(at: nowMs), group: id)!)
        case .revoked: return .success(group)
        case .pending(let a, _, _), .used(let a, _, _): return .failure(.conflict("group \(id) already recorded \(a)"))
        }
    }

    @discardableResult
    public mutating func reap(nowMs: Int64) -> Int {
        let gone = groups.values.filter { $0.expiresAt + retentionMs <= nowMs }.map(\.id)
        for id in gone { groups[id] = nil }
        return gone.count
    }

    public func stored(_ group: ActionGroup) -> StoredRecord { group.stored(retentionMs: retentionMs) }

    /// Takes a group as another node stored it (the shared store is the truth across nodes),
    /// unless this node's copy is newer: a read that left the store before a change here
    /// was stored.
    public mutating func adopt(_ group: ActionGroup) {
        if let mine = groups[group.id], mine.version > group.version { return }
        groups[group.id] = group
    }

    /// Puts a group back as it was (a change the store refused is undone, its version too).
    public mutating func restore(_ group: ActionGroup) { groups[group.id] = group }
}

// MARK: the record

extension ActionGroup {
    public static func recordID(_ id: String) -> String { "actions:\(id)" }

    func stored(retentionMs: Int64) -> StoredRecord {
        var doc: [String: JSONValue] = [
            "id": .string(id), "messageName": .string(messageName), "correlationKey": .string(correlationKey),
            "createdAt": JSONValue(Int(createdAt)), "expiresAt": JSONValue(Int(expiresAt)),
            "actions": .array(actions.map { a in
                ["name": .string(a.name), "label": .string(a.label), "variables": .object(a.variables),
                 "inputs": .array(a.inputs.map { i in
                     var o: [String: JSONValue] = ["name": .string(i.name), "label": .string(i.label), "type": .string(i.kind.rawValue),
                                                   "required": .bool(i.required), "maxLength": JSONValue(i.maxLength)]
                     if let min = i.min { o["min"] = JSONValue(min) }
                     if let max = i.max { o["max"] = JSONValue(max) }
                     return .object(o)
                 })]
            }),
        ]
        if let title { doc["title"] = .string(title) }
        doc["version"] = JSONValue(Int(version))
        switch state {
        case .open: doc["state"] = ["kind": "open"]
        case .pending(let a, let v, let at): doc["state"] = ["kind": "pending", "action": .string(a), "variables": .object(v), "at": JSONValue(Int(at))]
        case .used(let a, let v, let at): doc["state"] = ["kind": "used", "action": .string(a), "variables": .object(v), "at": JSONValue(Int(at))]
        case .revoked(let at): doc["state"] = ["kind": "revoked", "at": JSONValue(Int(at))]
        }
        return StoredRecord(id: Self.recordID(id), body: JSONValue.object(doc).bytes, expiresAt: expiresAt + retentionMs)
    }

    public init?(_ stored: StoredRecord) {
        guard stored.id.hasPrefix("actions:"), case .success(let d) = JSONValue.parse(stored.body),
              let id = d["id"]?.stringValue, let message = d["messageName"]?.stringValue, let correlation = d["correlationKey"]?.stringValue,
              let created = d["createdAt"]?.intValue, let expires = d["expiresAt"]?.intValue, let list = d["actions"]?.arrayValue,
              let s = d["state"], let kind = s["kind"]?.stringValue else { return nil }
        var actions: [ActionDefinition] = []
        for item in list {
            guard let name = item["name"]?.stringValue, let label = item["label"]?.stringValue else { return nil }
            let inputs = (item["inputs"]?.arrayValue ?? []).compactMap { i -> ActionInput? in
                guard let n = i["name"]?.stringValue, let k = i["type"]?.stringValue.flatMap(ActionInput.Kind.init(rawValue:)) else { return nil }
                return ActionInput(name: n, label: i["label"]?.stringValue ?? n, kind: k, required: i["required"]?.boolValue ?? false,
                                   min: i["min"]?.doubleValue, max: i["max"]?.doubleValue, maxLength: i["maxLength"]?.intValue ?? 500)
            }
            actions.append(ActionDefinition(name: name, label: label, variables: item["variables"]?.objectValue ?? [:], inputs: inputs))
        }
        let at = Int64(s["at"]?.intValue ?? 0)
        let state: State
        switch kind {
        case "open": state = .open
        case "pending", "used":
            guard let a = s["action"]?.stringValue else { return nil }
            let v = s["variables"]?.objectValue ?? [:]
            state = kind == "used" ? .used(action: a, variables: v, at: at) : .pending(action: a, variables: v, at: at)
        case "revoked": state = .revoked(at: at)
        default: return nil
        }
        self.init(id: id, messageName: message, correlationKey: correlation, title: d["title"]?.stringValue, actions: actions,
                  createdAt: Int64(created), expiresAt: Int64(expires), state: state, version: Int64(d["version"]?.intValue ?? 0))
    }
}
