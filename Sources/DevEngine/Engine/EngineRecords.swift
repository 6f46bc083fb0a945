// What the dev engine keeps: deployed definitions, instances and their tokens, element instances,
// jobs, user tasks, buffered messages and incidents. Plain values owned by `EngineCore`.
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
    /// Each variable's key, given when it is first set (variable search returns it).
    var variableKeys: [String: Int64] = [:]
    var state: InstanceState = .active
    /// Live tokens by element instance key (the process's own listeners run on the instance key).
    var tokens: [Int64: Token] = [:]
    /// Parallel joins waiting for more tokens: gateway id → arrivals per incoming flow id.
    var joins: [String: [String: Int]] = [:]
    /// Element instances in the order they started (the process's own first).
    var elementKeys: [Int64] = []
    /// Sequence flows taken, each once, in the order first taken (the monitoring page draws them).
    var takenFlows: [String] = []
    /// The start event the instance began at (after the process's start listeners).
    var startEventId: String
    /// Flows taken whose target has not been entered yet: the instance is not done while any are.
    var pendingEntries = 0
    var startedAt: Int64
    var endedAt: Int64?

    var hasIncident: Bool { tokens.values.contains { $0.incidentKey != nil } }
}

/// One token: an element instance being executed.
struct Token {
    enum Phase {
        /// Waiting for start listener job `index` of the element (or of the process when `elementId` is nil).
        case startListener(Int)
        /// The element's own work: a job, a user task, a subscription or a timer.
        case active
        /// Waiting for end listener job `index`; `flow` is where to go afterwards (nil: every outgoing flow).
        case endListener(Int, flow: String?)
    }
    var key: Int64
    /// nil: the process itself (its start or end listeners).
    var elementId: String?
    var phase: Phase
    var jobKey: Int64?
    var userTaskKey: Int64?
    var incidentKey: Int64?
    /// Timers armed when the element became active: boundary events, and a timer catch's own.
    var timers: [PendingTimer] = []
    /// Where the token waits, to leave those lists in one step: message subscription keys, signal names.
    var messageWaits: [String] = []
    var signalWaits: [String] = []
}

/// A timer waiting to fire. `eventId` nil: the timer catch event the token is on.
struct PendingTimer {
    var dueMs: Int64
    var eventId: String?
    var interrupting: Bool
}

/// A token waiting for a message or signal: on its own catch (`eventId` nil) or on a boundary event.
struct WaitingToken: Equatable {
    var instanceKey: Int64
    var tokenKey: Int64
    var eventId: String?
    var interrupting: Bool
    /// A message subscription's own key and opening time (message-subscription search).
    var subscriptionKey: Int64 = 0
    var since: Int64 = 0
}

/// Where an element instance is, as the API names it.
public enum ElementState: String, Sendable { case active = "ACTIVE", completed = "COMPLETED", terminated = "TERMINATED" }

/// One element instance, kept while its process instance is remembered (element-instance search,
/// the monitoring page).
public struct ElementRecord: Sendable {
    public var key: Int64
    public var instanceKey: Int64
    public var elementId: String
    public var name: String?
    public var typeName: String
    public var state: ElementState
    public var startedAt: Int64
    public var endedAt: Int64?
    public var incidentKey: Int64?
}

/// A Camunda user task waiting for (or done by) a person.
public struct UserTask: Sendable {
    public enum State: String, Sendable { case created = "CREATED", completed = "COMPLETED", canceled = "CANCELED" }
    public var key: Int64
    public var instanceKey: Int64
    public var elementInstanceKey: Int64
    public var elementId: String
    public var name: String?
    public var definition: UserTaskDefinition
    public var assignee: String?
    public var state: State
    public var createdAt: Int64
    public var completedAt: Int64?
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
