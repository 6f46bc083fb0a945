// What the hub remembers of one HTTP callback: the job it answers, what the service may set,
// and, once a URL was used, the answer (kept so a repeat gets the same reply and a conflicting
// call gets a 409 naming what was recorded). Stored as a JSON document behind the hub's store seam.
import HubBytes
import HubCore

public struct CallbackRecord: Sendable, Equatable {
    public var jobKey: String
    public var processInstanceKey: String
    public var elementInstanceKey: String
    /// Variable names `responsePath` may set (`callbackAllowedVariables`); nil: any.
    public var allowedVariables: [String]?
    public var issuedAt: Int64
    /// When the record is forgotten: the job's callback timeout plus a day of "already used" answers.
    public var expiresAt: Int64
    public var answer: Answer?
    /// Counts the record's answer changes. With several nodes a node takes the shared store's copy
    /// only when it is not older than its own: a read answered after a local change must not undo it.
    public var version: Int64

    public init(jobKey: String, processInstanceKey: String, elementInstanceKey: String, allowedVariables: [String]?,
                issuedAt: Int64, expiresAt: Int64, answer: Answer? = nil, version: Int64 = 0) {
        self.jobKey = jobKey; self.processInstanceKey = processInstanceKey; self.elementInstanceKey = elementInstanceKey
        self.allowedVariables = allowedVariables; self.issuedAt = issuedAt; self.expiresAt = expiresAt; self.answer = answer
        self.version = version
    }

    /// The first call that used one of the URLs.
    public struct Answer: Sendable, Equatable {
        public var kind: CallbackKind
        /// The request body as understood (normalised JSON), to tell a repeat from a conflict.
        public var body: JSONValue
        public var at: Int64
        public var state: State

        public init(kind: CallbackKind, body: JSONValue, at: Int64, state: State) {
            self.kind = kind; self.body = body; self.at = at; self.state = state
        }
    }

    public enum State: String, Sendable {
        /// Recorded before the engine was asked: a crash here is finished by the next repeat.
        case pending
        case completed
        case errorThrown = "error_thrown"
        case failed
        /// The engine no longer has the job (the instance was cancelled, or the job timed out
        /// and was answered otherwise).
        case gone
    }

    public static func id(jobKey: String) -> String { "callback:\(jobKey)" }

    public var stored: StoredRecord {
        var doc: [String: JSONValue] = [
            "jobKey": .string(jobKey), "processInstanceKey": .string(processInstanceKey),
            "elementInstanceKey": .string(elementInstanceKey), "issuedAt": JSONValue(Int(issuedAt)), "version": JSONValue(Int(version)),
        ]
        if let allowedVariables { doc["allowedVariables"] = .array(allowedVariables.map { .string($0) }) }
        if let answer {
            doc["answer"] = ["kind": .string(answer.kind.rawValue), "body": answer.body, "at": JSONValue(Int(answer.at)),
                             "state": .string(answer.state.rawValue)]
        }
        return StoredRecord(id: Self.id(jobKey: jobKey), body: JSONValue.object(doc).bytes, expiresAt: expiresAt)
    }

    public init?(_ stored: StoredRecord) {
        guard stored.id.hasPrefix("callback:"), case .success(let doc) = JSONValue.parse(stored.body),
              let jobKey = doc["jobKey"]?.stringValue, let pi = doc["processInstanceKey"]?.stringValue,
              let ei = doc["elementInstanceKey"]?.stringValue, let issued = doc["issuedAt"]?.intValue else { return nil }
        var answer: Answer?
        if let a = doc["answer"] {
            guard let kind = a["kind"]?.stringValue.flatMap(CallbackKind.init), let body = a["body"], let at = a["at"]?.intValue,
                  let state = a["state"]?.stringValue.flatMap(State.init) else { return nil }
            answer = Answer(kind: kind, body: body, at: Int64(at), state: state)
        }
        self.init(jobKey: jobKey, processInstanceKey: pi, elementInstanceKey: ei,
                  allowedVariables: doc["allowedVariables"]?.arrayValue?.compactMap(\.stringValue),
                  issuedAt: Int64(issued), expiresAt: stored.expiresAt, answer: answer, version: Int64(doc["version"]?.intValue ?? 0))
    }
}
