// The hub's HTTP callbacks and what each call to their URLs means. Pure: the service records
// what `decide` says and tells the engine; time is passed in.
//
//   call(jobKey, kind, body) ─▶ body valid for kind? ─no─▶ 400 naming what is wrong
//        └▶ record?  none ─▶ 410 (expired or never issued here)
//           no answer yet ─▶ apply: record the answer as pending, then the engine command
//           answered with this kind and body ─▶ repeat (200, what was recorded); still pending ─▶ apply again
//           answered otherwise ─▶ 409 with what was recorded
//           engine no longer had the job ─▶ 410 with what was recorded
import HubBytes
import HubCore

/// What the engine must be told for an answer.
public enum EngineCommand: Sendable, Equatable {
    case complete(variables: [String: JSONValue])
    case throwError(code: String, message: String?)
    case fail(message: String)
}

public enum CallbackDecision: Error, Sendable, Equatable {
    /// The body is not what this URL takes (400, or 413 for oversized members).
    case refused(status: Int, code: String, message: String)
    /// No record: expired, reaped, or not issued by this hub (410).
    case unknown
    /// Record `answer` (pending), then send `command` to the engine.
    case apply(CallbackRecord.Answer, EngineCommand)
    /// The same call again: 200 with what was recorded.
    case repeated(CallbackRecord.Answer)
    /// A different call after an answer: 409 with what was recorded.
    case conflict(CallbackRecord.Answer)
    /// The engine no longer had the job: 410 with what was recorded.
    case gone(CallbackRecord.Answer)
}

public struct CallbackBook: Sendable {
    /// Open and answered callbacks, by job key.
    public private(set) var records: [String: CallbackRecord] = [:]
    static let maxErrorMessageBytes = 8192
    static let maxErrorCodeBytes = 256

    public init(recovered: [StoredRecord] = [], nowMs: Int64) {
        for stored in recovered {
            if let r = CallbackRecord(stored), r.expiresAt > nowMs { records[r.jobKey] = r }
        }
    }

    /// Registers a callback for an activated job; a job activated again keeps its record (and
    /// any answer already recorded). Returns the record in force and whether it is new.
    public mutating func issue(_ record: CallbackRecord) -> (record: CallbackRecord, isNew: Bool) {
        if let existing = records[record.jobKey] { return (existing, false) }
        records[record.jobKey] = record
        return (record, true)
    }

    public func decide(jobKey: String, kind: CallbackKind, body: [UInt8], nowMs: Int64) -> CallbackDecision {
        guard let record = records[jobKey], record.expiresAt > nowMs else { return .unknown }
        let parsed: (JSONValue, EngineCommand)
        switch Self.parse(kind: kind, body: body, allowed: record.allowedVariables) {
        case .failure(let refusal): return refusal
        case .success(let p): parsed = p
        }
        guard let answer = record.answer else {
            return .apply(CallbackRecord.Answer(kind: kind, body: parsed.0, at: nowMs, state: .pending), parsed.1)
        }
        guard answer.kind == kind && answer.body == parsed.0 else { return .conflict(answer) }
        switch answer.state {
        case .pending: return .apply(answer, parsed.1)
        case .gone: return .gone(answer)
        case .completed, .errorThrown, .failed: return .repeated(answer)
        }
    }

    /// Takes a record as another node stored it, unless this node's copy is newer (a read that
    /// left the store before a change here was stored).
    public mutating func adopt(_ record: CallbackRecord) {
        if let mine = records[record.jobKey], mine.version > record.version { return }
        records[record.jobKey] = record
    }

    /// Puts a record back as it was (a change the store refused is undone, its version too).
    public mutating func restore(_ record: CallbackRecord) { records[record.jobKey] = record }

    /// Sets the answer of a callback (pending before the engine call, final after it).
    @discardableResult
    public mutating func record(_ answer: CallbackRecord.Answer, jobKey: String) -> CallbackRecord? {
        guard records[jobKey] != nil else { return nil }
        records[jobKey]!.answer = answer
        records[jobKey]!.version += 1
        return records[jobKey]
    }

    /// The engine could not be reached: the pending answer is withdrawn, so the caller's retry
    /// (or a different call) is decided afresh.
    @discardableResult
    public mutating func withdraw(jobKey: String) -> CallbackRecord? {
        guard records[jobKey]?.answer?.state == .pending else { return nil }
        records[jobKey]!.answer = nil
        records[jobKey]!.version += 1
        return records[jobKey]
    }

    /// Forgets expired records; returns how many.
    @discardableResult
    public mutating func reap(nowMs: Int64) -> Int {
        let expired = records.values.filter { $0.expiresAt <= nowMs }.map(\.jobKey)
        for key in expired { records[key] = nil }
        return expired.count
    }

    // MARK: bodies

    /// `responsePath`: `{"data": {...}}` (or an empty body: no variables). `errorResponsePath`:
    /// `{"errorMessage": "...", "errorCode": "..."}` with at least one of them.
    static func parse(kind: CallbackKind, body: [UInt8], allowed: [String]?) -> Result<(JSONValue, EngineCommand), CallbackDecision> {
        let object: [String: JSONValue]
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) && kind == .response {
            object = [:]
        } else {
            guard case .success(let value) = JSONValue.parse(body), let o = value.objectValue else {
                return .failure(.refused(status: 400, code: "invalid_json", message: "send a JSON object"))
            }
            object = o
        }
        let known: Set<String> = kind == .response ? ["data"] : ["errorMessage", "errorCode"]
        let unknown = object.keys.filter { !known.contains($0) }.sorted()
        if !unknown.isEmpty {
            return .failure(.refused(status: 400, code: "unknown_member",
                                     message: "unknown member \(unknown.map { JSONText.quoted($0) }.joined(separator: ", ")); this URL takes \(known.sorted().joined(separator: ", "))"))
        }
        switch kind {
        case .response:
            let data: [String: JSONValue]
            switch object["data"] {
            case nil, .null?: data = [:]
            case .object(let d)?: data = d
            default: return .failure(.refused(status: 400, code: "invalid_data", message: "data must be a JSON object of variables"))
            }
            if let allowed {
                let refused = data.keys.filter { !allowed.contains($0) }.sorted()
                if !refused.isEmpty {
                    return .failure(.refused(status: 400, code: "variable_not_allowed",
                                             message: "not allowed to set \(refused.joined(separator: ", ")); allowed: \(allowed.joined(separator: ", "))"))
                }
            }
            return .success((.object(["data": .object(data)]), .complete(variables: data)))
        case .error:
            let message = object["errorMessage"]
            let code = object["errorCode"]
            if let message, message.stringValue == nil { return .failure(.refused(status: 400, code: "invalid_error", message: "errorMessage must be a string")) }
            if let code, code.stringValue.map({ !$0.isEmpty }) != true {
                return .failure(.refused(status: 400, code: "invalid_error", message: "errorCode must be a non-empty string"))
            }
            if message == nil && code == nil {
                return .failure(.refused(status: 400, code: "invalid_error", message: "send errorMessage, errorCode, or both"))
            }
            if (message?.stringValue?.utf8.count ?? 0) > maxErrorMessageBytes || (code?.stringValue?.utf8.count ?? 0) > maxErrorCodeBytes {
                return .failure(.refused(status: 413, code: "too_large",
                                         message: "errorMessage is at most \(maxErrorMessageBytes) bytes, errorCode \(maxErrorCodeBytes)"))
            }
            let command: EngineCommand = code?.stringValue.map { .throwError(code: $0, message: message?.stringValue) }
                ?? .fail(message: message?.stringValue ?? "")
            return .success((.object(object), command))
        }
    }
}
