// A deployed process as the dev engine runs it: flow elements by id, the flows between them, the
// events attached to activities, and the diagram the file draws (for the monitoring page).
// Built by `BPMNParser` from a `.bpmn` file; immutable afterwards, so instances share it.

/// One executable process, ready to run.
public struct ProcessModel: Sendable {
    public var processId: String
    public var name: String?
    public var elements: [String: FlowElement]
    /// Outgoing sequence flows by source element id, in document order.
    public var outgoing: [String: [SequenceFlow]]
    /// Incoming sequence flow ids by target element id (a parallel join waits for each).
    public var incoming: [String: [String]]
    /// The none start event: what `POST /v2/process-instances` starts at (nil: signal starts only).
    public var noneStartEventId: String?
    /// Signal start events: (event id, signal name). A broadcast of the name starts an instance.
    public var signalStarts: [(eventId: String, signal: String)]
    /// Execution listeners on the process itself (an `end` listener runs when the instance completes).
    public var listeners: [ExecutionListener]
    /// Boundary events by the id of the activity they are attached to, in document order.
    public var boundaries: [String: [BoundaryEvent]]
    /// Shapes and edges from the file's BPMN DI (empty when the file has none).
    public var diagram: Diagram
}

/// A node of the process graph.
public struct FlowElement: Sendable {
    public enum Kind: Sendable {
        case startEvent
        /// None end event; `terminate` ends every other token of the instance as well.
        case endEvent(terminate: Bool)
        /// An element that completes as soon as it is entered: a none intermediate throw event, an
        /// undefined task or a manual task.
        case passThrough
        case serviceTask(TaskDefinition)
        case userTask(UserTaskDefinition)
        case exclusiveGateway(defaultFlow: String?)
        /// Fork: a token on every outgoing flow; join: waits for a token on every incoming flow.
        case parallelGateway
        /// A message intermediate catch event or a receive task.
        case messageCatch(messageName: String, correlationKey: Expression)
        case timerCatch(TimerSpec)
        case signalCatch(signal: String)
        /// A signal intermediate throw event or signal end event (`end`: the token ends there).
        case signalThrow(signal: String, end: Bool)
        /// Reached only when its trigger fires; continues on its outgoing flows.
        case boundary
    }

    public var id: String
    public var name: String?
    public var kind: Kind
    public var listeners: [ExecutionListener]
    /// BPMN element type as the REST API names it (SERVICE_TASK, END_EVENT, ...).
    public var typeName: String
}

/// A service task's `zeebe:taskDefinition` and `zeebe:taskHeaders`.
public struct TaskDefinition: Sendable {
    public var type: String
    public var retries: Int
    public var headers: [String: String]
}

/// A Camunda user task (`zeebe:userTask`): who may do it and the form it shows, passed through.
public struct UserTaskDefinition: Sendable {
    public var assignee: String?
    public var candidateGroups: [String]
    public var candidateUsers: [String]
    public var formKey: String?
    public var externalFormReference: String?
    public var dueDate: String?
    public var followUpDate: String?
    public var priority: Int
    public var headers: [String: String]
}

/// A `zeebe:executionListener`: a job created before (`start`) or after (`end`) its element.
public struct ExecutionListener: Sendable {
    public enum Event: String, Sendable { case start, end }
    public var event: Event
    public var type: String
    public var retries: Int
}

/// An outgoing flow, with its gateway condition if any.
public struct SequenceFlow: Sendable {
    public var id: String
    public var target: String
    public var condition: Expression?
}

/// When a timer fires: after a duration from the element's activation, or at a date. Either may be
/// a FEEL expression read when the element is entered (a variable holding `"PT48H"`).
public enum TimerSpec: Sendable {
    case duration(Int64)
    case date(Int64)
    case durationExpression(Expression)
    case dateExpression(Expression)
}

/// An event attached to an activity: it fires while the activity is active.
public struct BoundaryEvent: Sendable {
    public enum Trigger: Sendable {
        /// A BPMN error thrown by the activity's job; nil catches every code.
        case error(code: String?)
        case timer(TimerSpec)
        case message(name: String, correlationKey: Expression)
        case signal(String)
    }
    public var elementId: String
    /// Interrupting events end the activity (its job, user task or subscription goes); the others
    /// start a token of their own and leave the activity running.
    public var interrupting: Bool
    public var trigger: Trigger
}

/// Where the file draws each element (BPMN DI), in the file's own coordinates.
public struct Diagram: Sendable {
    public struct Bounds: Sendable { public var x, y, width, height: Double }
    public struct Point: Sendable { public var x, y: Double }
    /// Element id → its shape (events, tasks, gateways).
    public var shapes: [String: Bounds] = [:]
    /// Sequence flow id → its waypoints.
    public var edges: [String: [Point]] = [:]
    public var isEmpty: Bool { shapes.isEmpty }
    public init() {}
}
