// What the dev engine keeps: deployed definitions, instances (one token each: the subset has no
// parallel split), jobs, buffered messages and incidents. Plain values owned by `EngineCore`.
import HubBytes

/// A deployed version of a process.
public struct ProcessDefinition: Sendable {
    public var key: Int64
    public var processId: String
    public var version: Int
    public var resourceName: String
    public var model: ProcessModel
    /// The deployed resource's bytes: the same bytes deployed again are the same version.
    public var resource: [UInt8] = []
}

/// Where an instance is in its life, as the REST API names it: a cancelled instance is `TERMINATED`.
public enum InstanceState: String, Sendable { case active = "ACTIVE", completed = "COMPLETED", terminated = "TERMINATED" }

struct Instance {
    var key: Int64
    var definition: ProcessDefinition
    var variables: [String: JSONValue]
    var state: InstanceState = .active
    var token: Token?
    var startedAt: Int64
    var endedAt: Int64?
    var incidentKey: Int64?
}

/// Where an instance's single token is.
struct Token {
    enum Phase {
        /// Waiting for start listener job `index` of the element (or of the process when `elementId` is nil).
        case startListener(Int)
        /// The element's own work: a service task's job or a message subscription.
        case active
        /// Waiting for end listener job `index`; `flow` is where to go afterwards.
        case endListener(Int, flow: String?)
    }
    /// nil: the process itself (its start or end listeners).
    var elementId: String?
    var elementInstanceKey: Int64
    var phase: Phase
    /// The earliest timer boundary of the element, while it is active: (due time, boundary event id).
    var timer: (dueMs: Int64, boundaryId: String)? = nil
    var jobKey: Int64?
}

/// What created a job, as the API names it.
public enum JobKind: String, Sendable { case bpmnElement = "BPMN_ELEMENT", executionListener = "EXECUTION_LISTENER" }

struct Job {
    enum State {
        case activatable(notBefore: Int64)
        case activated(deadline: Int64, worker: String)
        case failed(incidentKey: Int64)
    }
    var key: Int64
    var type: String
    var instanceKey: Int64
    var elementId: String
    var elementInstanceKey: Int64
    var kind: JobKind
    var listenerEvent: String
    var retries: Int
    var headers: [String: String]
    var state: State
    var errorMessage: String?
    var createdAt: Int64
    var updatedAt: Int64
}

struct BufferedMessage {
    var key: Int64
    var name: String
    var correlationKey: String
    var messageId: String?
    var variables: [String: JSONValue]
    var expiresAt: Int64
    /// Instances it already went to (a message correlates once per instance).
    var correlatedTo: Set<Int64> = []
}

/// A problem that stops an instance until resolved (no retries left, an uncaught error, no gateway flow).
public struct Incident: Sendable {
    public var key: Int64
    public var errorType: String
    public var errorMessage: String
    public var elementId: String
    public var elementInstanceKey: Int64
    public var processInstanceKey: Int64
    public var processDefinitionKey: Int64
    public var processDefinitionId: String
    public var jobKey: Int64?
    public var createdAt: Int64
    public var resolved: Bool

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "incidentKey": .string(String(key)), "errorType": .string(errorType), "errorMessage": .string(errorMessage),
            "elementId": .string(elementId), "elementInstanceKey": .string(String(elementInstanceKey)),
            "processInstanceKey": .string(String(processInstanceKey)), "processDefinitionKey": .string(String(processDefinitionKey)),
            "processDefinitionId": .string(processDefinitionId), "creationTime": .string(isoTime(createdAt)),
            "state": .string(resolved ? "RESOLVED" : "ACTIVE"), "tenantId": "<default>",
            // One instance level (no call activities): the root is the instance itself.
            "rootProcessInstanceKey": .string(String(processInstanceKey)), "jobKey": .null,
        ]
        if let jobKey { o["jobKey"] = .string(String(jobKey)) }
        return .object(o)
    }
}

/// RFC 3339 UTC time for epoch milliseconds, without Foundation.
public func isoTime(_ ms: Int64) -> String {
    let days = ms / 86_400_000
    let rest = ms % 86_400_000
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    var y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    if m <= 2 { y += 1 }
    func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    func three(_ v: Int64) -> String { v < 10 ? "00\(v)" : (v < 100 ? "0\(v)" : "\(v)") }
    return "\(y)-\(two(m))-\(two(d))T\(two(rest / 3_600_000)):\(two(rest / 60000 % 60)):\(two(rest / 1000 % 60)).\(three(rest % 1000))Z"
}
