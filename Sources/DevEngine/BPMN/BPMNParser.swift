// Reads a `.bpmn` file (as Camunda Modeler writes it) into `ProcessModel`s, and refuses at deploy
// time anything the dev engine would not run faithfully, naming the element.
//
// The subset (docs/dev-engine.md): none and signal start events; none, terminate and signal end
// events; service, user, receive, manual and undefined tasks; exclusive and parallel gateways;
// message, timer and signal catch events; signal throw events; error, timer, message and signal
// boundary events (interrupting or not); `zeebe:executionListeners` on the process and elements.
import HubBytes

/// Why a resource was refused at deploy time, naming the element.
public struct DeploymentError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    init(_ message: String) { self.message = message }
}

/// Reads the dev engine's BPMN subset.
public enum BPMNParser {
    public static func parse(_ bytes: [UInt8], resourceName: String) -> Result<[ProcessModel], DeploymentError> {
        let root: XMLElement
        switch XMLReader.parse(bytes) {
        case .failure(let e): return .failure(DeploymentError("\(resourceName): \(e)"))
        case .success(let r): root = r
        }
        guard root.name == "definitions" else { return .failure(DeploymentError("\(resourceName): root element is <\(root.qualifiedName)>, not bpmn:definitions")) }
        do {
            var messages: [String: (name: String, correlationKey: Expression?)] = [:]
            var errors: [String: String] = [:]
            for m in root.children(named: "message") {
                guard let id = m.attribute("id"), let name = m.attribute("name") else { throw DeploymentError("\(resourceName): bpmn:message without id or name (line \(m.line))") }
                var key: Expression?
                if let sub = m.child(named: "extensionElements")?.child(named: "subscription"), let text = sub.attribute("correlationKey") {
                    key = try expression(text, "correlation key of message \(name)")
                }
                messages[id] = (name, key)
            }
            for e in root.children(named: "error") {
                if let id = e.attribute("id") { errors[id] = e.attribute("errorCode") ?? "" }
            }
            var signals: [String: String] = [:]
            for e in root.children(named: "signal") {
                if let id = e.attribute("id") { signals[id] = e.attribute("name") ?? "" }
            }
            let diagrams = diagram(root)
            let processes = root.children(named: "process").filter { $0.attribute("isExecutable") != "false" }
            guard !processes.isEmpty else { throw DeploymentError("\(resourceName): no executable bpmn:process") }
            return .success(try processes.map { p in
                let drawn = diagrams[p.attribute("id") ?? ""] ?? (diagrams.count == 1 ? diagrams.values.first! : Diagram())
                return try process(p, messages: messages, errors: errors, signals: signals, diagram: drawn)
            })
        } catch let e as DeploymentError {
            return .failure(e)
        } catch {
            return .failure(DeploymentError("\(error)"))
        }
    }

    static let ignored: Set<String> = ["documentation", "extensionElements", "laneSet", "textAnnotation", "association", "dataObject", "dataObjectReference", "dataStoreReference", "group", "category"]

    static func expression(_ text: String, _ what: String) throws -> Expression {
        switch Expression.parse(text) {
        case .success(let e): return e
        case .failure(let e): throw DeploymentError("\(what): \(e.message)")
        }
    }

    static func process(_ p: XMLElement, messages: [String: (name: String, correlationKey: Expression?)], errors: [String: String],
                        signals: [String: String], diagram: Diagram) throws -> ProcessModel {
        guard let processId = p.attribute("id"), !processId.isEmpty else { throw DeploymentError("bpmn:process without id") }
        var elements: [String: FlowElement] = [:]
        var flows: [(id: String, source: String, target: String, condition: Expression?)] = []
        /// Every id seen (elements and flows): BPMN ids are unique in a process, and the engine
        /// keys tokens, joins and taken flows by them.
        var ids = Set<String>()
        var boundaries: [String: [BoundaryEvent]] = [:]
        var noneStarts: [String] = []
        var signalStarts: [(eventId: String, signal: String)] = []

        func message(_ def: XMLElement, _ what: String) throws -> (String, Expression) {
            guard let ref = def.attribute("messageRef"), let message = messages[ref] else { throw DeploymentError("\(what) refers to no bpmn:message") }
            guard let key = message.correlationKey else { throw DeploymentError("\(what): message '\(message.name)' has no zeebe:subscription correlationKey") }
            return (message.name, key)
        }
        func signal(_ def: XMLElement, _ what: String) throws -> String {
            guard let ref = def.attribute("signalRef"), let name = signals[ref], !name.isEmpty else { throw DeploymentError("\(what) refers to no named bpmn:signal") }
            guard !name.hasPrefix("=") else { throw DeploymentError("\(what): signal name expressions are not supported by the dev engine") }
            return name
        }

        for child in p.children {
            let local = String(child.name)
            if ignored.contains(local) { continue }
            guard let id = child.attribute("id"), !id.isEmpty else { throw DeploymentError("<\(child.qualifiedName)> on line \(child.line) has no id") }
            let what = "\(child.qualifiedName) '\(id)'"
            guard ids.insert(id).inserted else { throw DeploymentError("duplicate id '\(id)' (\(what) on line \(child.line))") }
            let listeners = try executionListeners(child, what)
            let name = child.attribute("name")
            func add(_ kind: FlowElement.Kind, _ typeName: String) throws {
                guard elements[id] == nil else { throw DeploymentError("duplicate element id '\(id)'") }
                elements[id] = FlowElement(id: id, name: name, kind: kind, listeners: listeners, typeName: typeName)
            }
            try checkExtensions(child, what)
            let definitions = child.children.filter { $0.name.hasSuffix("EventDefinition") }
            if definitions.count > 1 { throw DeploymentError("\(what): events with several definitions are not supported by the dev engine") }
            let definition = definitions.first
            let definitionName = definition.map { String($0.name) }
            switch (local, definitionName) {
            case ("sequenceFlow", _):
                guard let s = child.attribute("sourceRef"), let t = child.attribute("targetRef") else { throw DeploymentError("\(what) lacks sourceRef or targetRef") }
                var condition: Expression?
                if let c = child.child(named: "conditionExpression") {
                    condition = try expression(c.text, "condition of sequence flow '\(id)'")
                }
                flows.append((id, s, t, condition))
            case ("startEvent", nil):
                noneStarts.append(id)
                try add(.startEvent, "START_EVENT")
            case ("startEvent", "signalEventDefinition"):
                signalStarts.append((id, try signal(definition!, what)))
                try add(.startEvent, "START_EVENT")
            case ("startEvent", _):
                throw DeploymentError("\(what): \(definition!.qualifiedName) start events are not supported by the dev engine (none and signal start events are)")
            case ("endEvent", nil):
                try add(.endEvent(terminate: false), "END_EVENT")
            case ("endEvent", "terminateEventDefinition"):
                try add(.endEvent(terminate: true), "END_EVENT")
            case ("endEvent", "signalEventDefinition"):
                try add(.signalThrow(signal: try signal(definition!, what), end: true), "END_EVENT")
            case ("endEvent", _):
                throw DeploymentError("\(what): \(definition!.qualifiedName) end events are not supported by the dev engine (none, terminate and signal end events are)")
            case ("intermediateThrowEvent", nil), ("task", _), ("manualTask", _):
                try add(.passThrough, local == "intermediateThrowEvent" ? "INTERMEDIATE_THROW_EVENT" : (local == "task" ? "TASK" : "MANUAL_TASK"))
            case ("intermediateThrowEvent", "signalEventDefinition"):
                try add(.signalThrow(signal: try signal(definition!, what), end: false), "INTERMEDIATE_THROW_EVENT")
            case ("serviceTask", _):
                guard let def = child.child(named: "extensionElements")?.child(named: "taskDefinition"), let type = def.attribute("type"), !type.isEmpty else {
                    throw DeploymentError("\(what) has no zeebe:taskDefinition type")
                }
                guard !type.hasPrefix("=") else { throw DeploymentError("\(what): job type expressions are not supported by the dev engine; use a static type") }
                let retries = try staticInt(def.attribute("retries") ?? "3", "\(what) retries")
                try add(.serviceTask(TaskDefinition(type: type, retries: retries, headers: taskHeaders(child))), "SERVICE_TASK")
            case ("userTask", _):
                try add(try userTask(child, what), "USER_TASK")
            case ("exclusiveGateway", _):
                try add(.exclusiveGateway(defaultFlow: child.attribute("default")), "EXCLUSIVE_GATEWAY")
            case ("parallelGateway", _):
                try add(.parallelGateway, "PARALLEL_GATEWAY")
            case ("intermediateCatchEvent", "messageEventDefinition"):
                let (name, key) = try message(definition!, what)
                try add(.messageCatch(messageName: name, correlationKey: key), "INTERMEDIATE_CATCH_EVENT")
            case ("receiveTask", _):
                guard child.attribute("messageRef") != nil else { throw DeploymentError("\(what) refers to no bpmn:message") }
                let (name, key) = try message(child, what)
                try add(.messageCatch(messageName: name, correlationKey: key), "RECEIVE_TASK")
            case ("intermediateCatchEvent", "timerEventDefinition"):
                try add(.timerCatch(try timer(definition!, what, cycleAllowed: false)), "INTERMEDIATE_CATCH_EVENT")
            case ("intermediateCatchEvent", "signalEventDefinition"):
                try add(.signalCatch(signal: try signal(definition!, what)), "INTERMEDIATE_CATCH_EVENT")
            case ("intermediateCatchEvent", _):
                throw DeploymentError("\(what): \(definition?.qualifiedName ?? "an event without definition") is not supported by the dev engine (message, timer and signal catch events are)")
            case ("boundaryEvent", _):
                guard let attached = child.attribute("attachedToRef") else { throw DeploymentError("\(what) has no attachedToRef") }
                let interrupting = child.attribute("cancelActivity") != "false"
                let trigger: BoundaryEvent.Trigger
                switch definitionName {
                case "errorEventDefinition":
                    guard interrupting else { throw DeploymentError("\(what): error boundary events are always interrupting") }
                    let code = definition!.attribute("errorRef").flatMap { errors[$0] }
                    trigger = .error(code: code?.isEmpty == true ? nil : code)
                case "timerEventDefinition":
                    trigger = .timer(try timer(definition!, what, cycleAllowed: false))
                case "messageEventDefinition":
                    let (name, key) = try message(definition!, what)
                    trigger = .message(name: name, correlationKey: key)
                case "signalEventDefinition":
                    trigger = .signal(try signal(definition!, what))
                default:
                    throw DeploymentError("\(what): \(definition?.qualifiedName ?? "a boundary event without definition") is not supported by the dev engine (error, timer, message and signal boundary events are)")
                }
                boundaries[attached, default: []].append(BoundaryEvent(elementId: id, interrupting: interrupting, trigger: trigger))
                try add(.boundary, "BOUNDARY_EVENT")
            default:
                throw DeploymentError("\(what) is not supported by the dev engine (docs/dev-engine.md lists the BPMN subset)")
            }
        }

        guard noneStarts.count <= 1 else { throw DeploymentError("process '\(processId)' has \(noneStarts.count) none start events; it may have one") }
        guard !noneStarts.isEmpty || !signalStarts.isEmpty else { throw DeploymentError("process '\(processId)' has no start event") }
        var outgoing: [String: [SequenceFlow]] = [:]
        var incoming: [String: [String]] = [:]
        for f in flows {
            guard elements[f.source] != nil else { throw DeploymentError("sequence flow '\(f.id)' starts at unknown element '\(f.source)'") }
            guard elements[f.target] != nil else { throw DeploymentError("sequence flow '\(f.id)' ends at unknown element '\(f.target)'") }
            outgoing[f.source, default: []].append(SequenceFlow(id: f.id, target: f.target, condition: f.condition))
            incoming[f.target, default: []].append(f.id)
        }
        for (attached, list) in boundaries {
            // As in BPMN: boundary events attach to activities, not to events or gateways.
            switch elements[attached]?.kind {
            case .serviceTask?, .userTask?: break
            case .messageCatch? where elements[attached]!.typeName == "RECEIVE_TASK": break
            case nil: throw DeploymentError("boundary event '\(list[0].elementId)' is attached to unknown element '\(attached)'")
            default:
                throw DeploymentError("boundary event '\(list[0].elementId)' is attached to '\(attached)', which is not an activity (a service, user or receive task; to wait for a message with a timeout, use a receive task)")
            }
            for b in list {
                if case .error = b.trigger {
                    guard case .serviceTask? = elements[attached]?.kind else {
                        throw DeploymentError("error boundary event '\(b.elementId)' must be attached to a service task (only jobs throw errors in the dev engine)")
                    }
                }
                if !(outgoing[b.elementId] ?? []).allSatisfy({ $0.condition == nil }) {
                    throw DeploymentError("boundary event '\(b.elementId)': its outgoing flows cannot have conditions")
                }
                if incoming[b.elementId] != nil { throw DeploymentError("boundary event '\(b.elementId)' cannot have incoming flows") }
            }
        }
        for (id, element) in elements {
            let out = outgoing[id] ?? []
            switch element.kind {
            case .endEvent, .signalThrow(_, end: true):
                if !out.isEmpty { throw DeploymentError("end event '\(id)' has outgoing flows") }
            case .startEvent where incoming[id] != nil:
                throw DeploymentError("start event '\(id)' cannot have incoming flows")
            case .exclusiveGateway(let def):
                if out.isEmpty { throw DeploymentError("exclusive gateway '\(id)' has no outgoing flow") }
                if out.count > 1 {
                    for f in out where f.condition == nil && f.id != def {
                        throw DeploymentError("exclusive gateway '\(id)': flow '\(f.id)' needs a condition or must be the default flow")
                    }
                }
            case .parallelGateway:
                if out.isEmpty { throw DeploymentError("parallel gateway '\(id)' has no outgoing flow") }
                if let f = out.first(where: { $0.condition != nil }) { throw DeploymentError("parallel gateway '\(id)': flow '\(f.id)' cannot have a condition") }
            default:
                // Several unconditioned flows out of an activity or event fork, as in Zeebe.
                if let f = out.first(where: { $0.condition != nil }) {
                    throw DeploymentError("flow '\(f.id)' has a condition but leaves '\(id)', which is not an exclusive gateway (conditional flows are not supported by the dev engine)")
                }
            }
        }
        return ProcessModel(processId: processId, name: p.attribute("name"), elements: elements, outgoing: outgoing, incoming: incoming,
                            noneStartEventId: noneStarts.first, signalStarts: signalStarts,
                            listeners: try executionListeners(p, "process '\(processId)'"), boundaries: boundaries, diagram: diagram)
    }

    static func taskHeaders(_ element: XMLElement) -> [String: String] {
        var headers: [String: String] = [:]
        for h in element.child(named: "extensionElements")?.child(named: "taskHeaders")?.children(named: "header") ?? [] {
            if let k = h.attribute("key") { headers[k] = h.attribute("value") ?? "" }
        }
        return headers
    }

    /// A user task. With `zeebe:userTask` it is a Camunda user task (the user-task API drives it);
    /// without, a job of type `io.camunda.zeebe:userTask` with the assignment as headers, as Zeebe
    /// runs job-worker user tasks.
    static func userTask(_ child: XMLElement, _ what: String) throws -> FlowElement.Kind {
        let ext = child.child(named: "extensionElements")
        let assignment = ext?.child(named: "assignmentDefinition")
        func staticText(_ value: String?, _ field: String) throws -> String? {
            guard let value, !value.isEmpty else { return nil }
            guard !value.hasPrefix("=") else { throw DeploymentError("\(what): \(field) expressions are not supported by the dev engine; use a static value") }
            return value
        }
        func list(_ value: String?, _ field: String) throws -> [String] {
            try staticText(value, field)?.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty } ?? []
        }
        let form = ext?.child(named: "formDefinition")
        let schedule = ext?.child(named: "taskSchedule")
        let definition = UserTaskDefinition(
            assignee: try staticText(assignment?.attribute("assignee"), "assignee"),
            candidateGroups: try list(assignment?.attribute("candidateGroups"), "candidateGroups"),
            candidateUsers: try list(assignment?.attribute("candidateUsers"), "candidateUsers"),
            formKey: form?.attribute("formKey") ?? form?.attribute("formId"), externalFormReference: form?.attribute("externalReference"),
            dueDate: try staticText(schedule?.attribute("dueDate"), "dueDate"), followUpDate: try staticText(schedule?.attribute("followUpDate"), "followUpDate"),
            priority: try staticInt(ext?.child(named: "priorityDefinition")?.attribute("priority") ?? "50", "\(what) priority"),
            headers: taskHeaders(child))
        if ext?.child(named: "userTask") != nil { return .userTask(definition) }
        var headers = definition.headers
        if let a = definition.assignee { headers["io.camunda.zeebe:assignee"] = a }
        if !definition.candidateGroups.isEmpty { headers["io.camunda.zeebe:candidateGroups"] = JSONValue.array(definition.candidateGroups.map { .string($0) }).serialized() }
        if !definition.candidateUsers.isEmpty { headers["io.camunda.zeebe:candidateUsers"] = JSONValue.array(definition.candidateUsers.map { .string($0) }).serialized() }
        if let f = definition.formKey { headers["io.camunda.zeebe:formKey"] = f }
        return .serviceTask(TaskDefinition(type: "io.camunda.zeebe:userTask", retries: 1, headers: headers))
    }

    /// A timer's `timeDuration` or `timeDate`: static ISO-8601 text, or a FEEL expression read when
    /// the element is entered. Cycles need repeating timers, which the dev engine does not run.
    static func timer(_ def: XMLElement, _ what: String, cycleAllowed: Bool) throws -> TimerSpec {
        if def.child(named: "timeCycle") != nil { throw DeploymentError("\(what): timeCycle timers are not supported by the dev engine (timeDuration and timeDate are)") }
        if let d = def.child(named: "timeDuration") {
            let text = d.text.trimmingSpaces
            if text.hasPrefix("=") { return .durationExpression(try expression(text, "\(what) timeDuration")) }
            guard let ms = ISODuration.milliseconds(text) else { throw DeploymentError("\(what): timeDuration '\(text)' is not an ISO-8601 duration such as PT48H") }
            return .duration(ms)
        }
        if let d = def.child(named: "timeDate") {
            let text = d.text.trimmingSpaces
            if text.hasPrefix("=") { return .dateExpression(try expression(text, "\(what) timeDate")) }
            guard let ms = ISODateTime.milliseconds(text) else { throw DeploymentError("\(what): timeDate '\(text)' is not an ISO-8601 date-time with a zone, such as 2026-12-24T09:00:00Z") }
            return .date(ms)
        }
        throw DeploymentError("\(what): timer has no timeDuration or timeDate")
    }

    /// The diagram of the first BPMN plane: shapes and edges by element id.
    static func diagram(_ root: XMLElement) -> [String: Diagram] {
        var out: [String: Diagram] = [:]
        for d in root.children(named: "BPMNDiagram") {
            guard let plane = d.child(named: "BPMNPlane") else { continue }
            var diagram = Diagram()
            for shape in plane.children(named: "BPMNShape") {
                guard let id = shape.attribute("bpmnElement"), let b = shape.child(named: "Bounds"),
                      let x = b.attribute("x").flatMap(Double.init), let y = b.attribute("y").flatMap(Double.init),
                      let w = b.attribute("width").flatMap(Double.init), let h = b.attribute("height").flatMap(Double.init),
                      [x, y, w, h].allSatisfy({ $0.isFinite && abs($0) < 1e7 }) else { continue }
                diagram.shapes[id] = .init(x: x, y: y, width: w, height: h)
            }
            for edge in plane.children(named: "BPMNEdge") {
                guard let id = edge.attribute("bpmnElement") else { continue }
                let points = edge.children(named: "waypoint").compactMap { w -> Diagram.Point? in
                    guard let x = w.attribute("x").flatMap(Double.init), let y = w.attribute("y").flatMap(Double.init),
                          x.isFinite, y.isFinite, abs(x) < 1e7, abs(y) < 1e7 else { return nil }
                    return .init(x: x, y: y)
                }
                if points.count >= 2 { diagram.edges[id] = points }
            }
            // The plane names the process it draws (or a collaboration: then every process shares it).
            out[plane.attribute("bpmnElement") ?? ""] = diagram
        }
        return out
    }

    static func staticInt(_ text: String, _ what: String) throws -> Int {
        guard let v = Int(text.trimmingSpaces), v >= 0 else { throw DeploymentError("\(what): '\(text)' is not a non-negative integer (expressions are not supported here)") }
        return v
    }

    static let knownExtensions: Set<String> = ["taskDefinition", "taskHeaders", "executionListeners", "properties", "subscription", "versionTag",
                                               "userTask", "assignmentDefinition", "formDefinition", "taskSchedule", "priorityDefinition"]

    static func checkExtensions(_ element: XMLElement, _ what: String) throws {
        for ext in element.child(named: "extensionElements")?.children ?? [] where !knownExtensions.contains(String(ext.name)) {
            throw DeploymentError("\(what): \(ext.qualifiedName) is not supported by the dev engine")
        }
    }

    static func executionListeners(_ element: XMLElement, _ what: String) throws -> [ExecutionListener] {
        guard let list = element.child(named: "extensionElements")?.child(named: "executionListeners") else { return [] }
        return try list.children(named: "executionListener").map { l in
            guard let typeText = l.attribute("type"), !typeText.isEmpty, !typeText.hasPrefix("=") else {
                throw DeploymentError("\(what): execution listener needs a static type")
            }
            guard let event = ExecutionListener.Event(rawValue: l.attribute("eventType") ?? "") else {
                throw DeploymentError("\(what): execution listener eventType must be start or end")
            }
            return ExecutionListener(event: event, type: typeText, retries: try staticInt(l.attribute("retries") ?? "3", "\(what) listener retries"))
        }
    }
}
