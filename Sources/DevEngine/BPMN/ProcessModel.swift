// A deployed process as the dev engine runs it: flow elements by id and the flows between them.
// Built by `BPMNParser` from a `.bpmn` file; immutable afterwards, so instances share it.

/// One executable process, ready to run.
public struct ProcessModel: Sendable {
    public var processId: String
    public var name: String?
    public var elements: [String: FlowElement]
    /// Outgoing sequence flows by source element id, in document order.
    public var outgoing: [String: [SequenceFlow]]
    public var startEventId: String
    /// Execution listeners on the process itself (an `end` listener runs when the instance completes).
    public var listeners: [ExecutionListener]
    /// Error boundary events by the id of the task they are attached to.
    public var errorBoundaries: [String: [ErrorBoundary]]
    /// Interrupting timer boundary events by the id of the element they are attached to.
    public var timerBoundaries: [String: [TimerBoundary]] = [:]
}

/// A node of the process graph.
public struct FlowElement: Sendable {
    public enum Kind: Sendable {
        case startEvent
        case endEvent
        case serviceTask(TaskDefinition)
        case exclusiveGateway(defaultFlow: String?)
        case messageCatch(messageName: String, correlationKey: Expression)
        /// Reached only through a thrown BPMN error; continues on its outgoing flow.
        case errorBoundary
        /// Reached only when its timer fires; continues on its outgoing flow.
        case timerBoundary
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

/// An interrupting timer boundary event: when the element it is attached to has been active for
/// `durationMs`, the element is left (its job or message subscription dropped) through the event.
public struct TimerBoundary: Sendable {
    public var elementId: String
    public var durationMs: Int64
}

/// An error boundary event attached to a service task.
public struct ErrorBoundary: Sendable {
    public var elementId: String
    /// nil catches every error code.
    public var errorCode: String?
}
