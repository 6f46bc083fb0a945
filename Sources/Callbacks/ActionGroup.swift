// One-time action links: a group of exclusive choices ("approve" / "deny") that correlate a
// message into a waiting process instance. The group lives on the hub: presets never travel in
// a URL, so nothing in a link can be tampered with; the link carries only a capability.
import HubBytes
import HubCore

/// A choice offered by a group: its preset variables, and inputs the person may fill in.
public struct ActionDefinition: Sendable, Equatable {
    public var name: String
    public var label: String
    public var variables: [String: JSONValue]
    public var inputs: [ActionInput]
}

/// A value the person enters on the confirmation page, validated on the hub.
public struct ActionInput: Sendable, Equatable {
    public enum Kind: String, Sendable { case string, number, boolean }
    public var name: String
    public var label: String
    public var kind: Kind
    public var required: Bool
    public var min: Double?
    public var max: Double?
    public var maxLength: Int
}

public struct ActionGroup: Sendable, Equatable {
    public var id: String
    public var messageName: String
    public var correlationKey: String
    /// Shown as the confirmation page's heading.
    public var title: String?
    public var actions: [ActionDefinition]
    public var createdAt: Int64
    public var expiresAt: Int64
    public var state: State
    /// Counts the group's state changes. With several nodes a node takes the shared store's copy
    /// only when it is not older than its own: a read answered after a local change must not undo it.
    public var version: Int64 = 0

    public enum State: Sendable, Equatable {
        case open
        /// Recorded before the message is published: a crash here is finished by the next click.
        case pending(action: String, variables: [String: JSONValue], at: Int64)
        case used(action: String, variables: [String: JSONValue], at: Int64)
        case revoked(at: Int64)
    }

    public func action(_ name: String) -> ActionDefinition? { actions.first { $0.name == name } }

    public var isPending: Bool { if case .pending = state { return true }; return false }

    // MARK: definitions

    static let namePattern = "1 to 64 of A-Z a-z 0-9 . _ : -"
    static func isName(_ s: String) -> Bool {
        (1...64).contains(s.utf8.count) && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x3A || c == 0x2D
        }
    }

    /// Parses `{"messageName", "correlationKey", "ttl", "group"?, "title"?, "actions": [...]}`.
    /// `group` defaults to `defaultID` (a random id, or `job-<key>` for a job, so a job activated
    /// twice creates one group). Limits keep a group small: 10 actions, 10 inputs each, 16 KiB of presets.
    public static func parse(_ body: JSONValue, defaultID: String, nowMs: Int64, maxTTLSeconds: Int) -> Result<ActionGroup, ActionError> {
        guard let o = body.objectValue else { return .failure(.invalid("send a JSON object")) }
        let known: Set<String> = ["messageName", "correlationKey", "ttl", "group", "title", "actions"]
        if let unknown = o.keys.filter({ !known.contains($0) }).sorted().first { return .failure(.invalid("unknown member \(JSONText.quoted(unknown))")) }
        guard let message = o["messageName"]?.stringValue, (1...256).contains(message.utf8.count) else {
            return .failure(.invalid("messageName is a string of 1 to 256 bytes"))
        }
        guard let correlation = o["correlationKey"]?.stringValue, (1...1024).contains(correlation.utf8.count) else {
            return .failure(.invalid("correlationKey is a string of 1 to 1024 bytes"))
        }
        guard let ttl = o["ttl"]?.intValue, (1...maxTTLSeconds).contains(ttl) else {
            return .failure(.invalid("ttl is a whole number of seconds from 1 to \(maxTTLSeconds)"))
        }
        let id = o["group"]?.stringValue ?? defaultID
        guard isName(id) else { return .failure(.invalid("group is \(namePattern)")) }
        let title = o["title"]?.stringValue
        if o["title"] != nil && (title == nil || title!.utf8.count > 200) { return .failure(.invalid("title is a string of at most 200 bytes")) }
        guard let list = o["actions"]?.arrayValue, (1...10).contains(list.count) else { return .failure(.invalid("actions is an array of 1 to 10 actions")) }
        var actions: [ActionDefinition] = []
        for item in list {
            switch parseAction(item) {
            case .failure(let e): return .failure(e)
            case .success(let a):
                if actions.contains(where: { $0.name == a.name }) { return .failure(.invalid("two actions are named \(a.name)")) }
                actions.append(a)
            }
        }
        if actions.reduce(0, { $0 + JSONValue.object($1.variables).bytes.count }) > 16 << 10 {
            return .failure(.invalid("the actions' variables exceed 16 KiB"))
        }
        return .success(ActionGroup(id: id, messageName: message, correlationKey: correlation, title: title, actions: actions,
                                    createdAt: nowMs, expiresAt: nowMs + Int64(ttl) * 1000, state: .open))
    }

    static func parseAction(_ item: JSONValue) -> Result<ActionDefinition, ActionError> {
        guard let a = item.objectValue else { return .failure(.invalid("each action is an object")) }
        if let unknown = a.keys.filter({ !["name", "label", "variables", "inputs"].contains($0) }).sorted().first {
            return .failure(.invalid("unknown action member \(JSONText.quoted(unknown))"))
        }
        guard let name = a["name"]?.stringValue, isName(name) else { return .failure(.invalid("an action name is \(namePattern)")) }
        let label = a["label"]?.stringValue ?? name
        guard (1...80).contains(label.utf8.count) else { return .failure(.invalid("action \(name): label is 1 to 80 bytes")) }
        let variables: [String: JSONValue]
        switch a["variables"] {
        case nil: variables = [:]
        case .object(let v)?: variables = v
        default: return .failure(.invalid("action \(name): variables is an object"))
        }
        var inputs: [ActionInput] = []
        for raw in a["inputs"]?.arrayValue ?? [] {
            let typeName: String = raw["type"]?.stringValue ?? "string"
            guard let i = raw.objectValue, let n = i["name"]?.stringValue, isName(n), let kind = ActionInput.Kind(rawValue: typeName) else {
                return .failure(.invalid("action \(name): an input has a name (\(namePattern)) and a type: string, number or boolean"))
            }
            if variables[n] != nil { return .failure(.invalid("action \(name): input \(n) would overwrite a preset variable")) }
            inputs.append(ActionInput(name: n, label: i["label"]?.stringValue ?? n, kind: kind, required: i["required"]?.boolValue ?? false,
                                      min: i["min"]?.doubleValue, max: i["max"]?.doubleValue, maxLength: min(i["maxLength"]?.intValue ?? 500, 4000)))
        }
        if a["inputs"] != nil && a["inputs"]?.arrayValue == nil || inputs.count > 10 { return .failure(.invalid("action \(name): inputs is an array of at most 10")) }
        return .success(ActionDefinition(name: name, label: label, variables: variables, inputs: inputs))
    }

    /// The variables a use of `action` publishes: its presets plus the validated inputs.
    /// `form` holds the entered values as text (an HTML form) or JSON values (an API call).
    public func variables(for action: ActionDefinition, form: [String: JSONValue]) -> Result<[String: JSONValue], ActionError> {
        var out = action.variables
        for input in action.inputs {
            let raw = form[input.name]
            let text = raw?.stringValue.map { $0.trimmingCharacters(in: " ") }
            if raw == nil || raw == .null || text == "" {
                if input.required && input.kind != .boolean { return .failure(.invalid("\(input.label) is required")) }
                if input.kind == .boolean { out[input.name] = false }
                continue
            }
            switch input.kind {
            case .string:
                guard let s = text, s.utf8.count <= input.maxLength else { return .failure(.invalid("\(input.label) is text of at most \(input.maxLength) bytes")) }
                out[input.name] = .string(s)
            case .number:
                guard let n = raw?.doubleValue ?? text.flatMap(Double.init), n.isFinite else { return .failure(.invalid("\(input.label) must be a number")) }
                if let lo = input.min, n < lo { return .failure(.invalid("\(input.label) must be at least \(JSONValue(lo).serialized())")) }
                if let hi = input.max, n > hi { return .failure(.invalid("\(input.label) must be at most \(JSONValue(hi).serialized())")) }
                out[input.name] = raw?.doubleValue != nil ? raw! : JSONValue(n)
            case .boolean:
                guard let b = raw?.boolValue ?? text.map({ ["on", "true", "1", "yes"].contains($0.lowercased()) }) else {
                    return .failure(.invalid("\(input.label) is true or false"))
                }
                out[input.name] = .bool(b)
            }
        }
        return .success(out)
    }
}

/// Why a group or a use of a link was refused.
public enum ActionError: Error, Sendable, Equatable {
    case invalid(String)
    /// The group exists with another definition (409).
    case conflict(String)
    public var message: String { switch self { case .invalid(let m), .conflict(let m): m } }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        String(drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
    }
}
