// Reads a `.bpmn` file (as Camunda Modeler writes it) into `ProcessModel`s, and refuses at deploy
// time anything the dev engine would not run faithfully, naming the element.
//
// The subset: none start event, none end event, service task (`zeebe:taskDefinition`,
// `zeebe:taskHeaders`), exclusive gateway (conditions in the FEEL subset, default flow),
// message intermediate catch event (`zeebe:subscription correlationKey`), error boundary events
// on service tasks, and `zeebe:executionListeners` (start/end) on the process and its elements.
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
            let processes = root.children(named: "process").filter { $0.attribute("isExecutable") != "false" }
            guard !processes.isEmpty else { throw DeploymentError("\(resourceName): no executable bpmn:process") }
            return .success(try processes.map { try process($0, messages: messages, errors: errors) })
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

    static func process(_ p: XMLElement, messages: [String: (name: String, correlationKey: Expression?)], errors: [String: String]) throws -> ProcessModel {
        guard let processId = p.attribute("id"), !processId.isEmpty else { throw DeploymentError("bpmn:process without id") }
        var elements: [String: FlowElement] = [:]
        var flows: [(id: String, source: String, target: String, condition: Expression?)] = []
        var boundaries: [String: [ErrorBoundary]] = [:]
        var timers: [String: [TimerBoundary]] = [:]
        var starts: [String] = []

        for child in p.children {
            let local = String(child.name)
            if ignored.contains(local) { continue }
            guard let id = child.attribute("id"), !id.isEmpty else { throw DeploymentError("<\(child.qualifiedName)> on line \(child.line) has no id") }
            let what = "\(child.qualifiedName) '\(id)'"
            let listeners = try executionListeners(child, what)
            let name = child.attribute("name")
            func add(_ kind: FlowElement.Kind, _ typeName: String) throws {
                guard elements[id] == nil else { throw DeploymentError("duplicate element id '\(id)'") }
                elements[id] = FlowElement(id: id, name: name, kind: kind, listeners: listeners, typeName: typeName)
            }
            try checkExtensions(child, what)
            switch local {
            case "sequenceFlow":
                guard let s = child.attribute("sourceRef"), let t = child.attribute("targetRef") else { throw DeploymentError("\(what) lacks sourceRef or targetRef") }
                var condition: Expression?
                if let c = child.child(named: "conditionExpression") {
                    condition = try expression(c.text, "condition of sequence flow '\(id)'")
                }
                flows.append((id, s, t, condition))
            case "startEvent":
                if let d = child.children.first(where: { $0.name.hasSuffix("EventDefinition") }) {
                    throw DeploymentError("\(what): \(d.qualifiedName) start events are not supported by the dev engine (only none start events)")
                }
                starts.append(id)
                try add(.startEvent, "START_EVENT")
            case "endEvent":
                if let d = child.children.first(where: { $0.name.hasSuffix("EventDefinition") }) {
                    throw DeploymentError("\(what): \(d.qualifiedName) end events are not supported by the dev engine (only none end events)")
                }
                try add(.endEvent, "END_EVENT")
            case "serviceTask":
                guard let def = child.child(named: "extensionElements")?.child(named: "taskDefinition"), let type = def.attribute("type"), !type.isEmpty else {
                    throw DeploymentError("\(what) has no zeebe:taskDefinition type")
                }
                guard !type.hasPrefix("=") else { throw DeploymentError("\(what): job type expressions are not supported by the dev engine; use a static type") }
                let retries = try staticInt(def.attribute("retries") ?? "3", "\(what) retries")
                var headers: [String: String] = [:]
                for h in child.child(named: "extensionElements")?.child(named: "taskHeaders")?.children(named: "header") ?? [] {
                    if let k = h.attribute("key") { headers[k] = h.attribute("value") ?? "" }
                }
                try add(.serviceTask(TaskDefinition(type: type, retries: retries, headers: headers)), "SERVICE_TASK")
            case "exclusiveGateway":
                try add(.exclusiveGateway(defaultFlow: child.attribute("default")), "EXCLUSIVE_GATEWAY")
            case "intermediateCatchEvent":
                guard let def = child.child(named: "messageEventDefinition") else {
                    let kind = child.children.first(where: { $0.name.hasSuffix("EventDefinition") })?.qualifiedName ?? "an event without definition"
                    throw DeploymentError("\(what): \(kind) is not supported by the dev engine (only message catch events)")
                }
                guard let ref = def.attribute("messageRef"), let message = messages[ref] else { throw DeploymentError("\(what) refers to no bpmn:message") }
                guard let key = message.correlationKey else { throw DeploymentError("\(what): message '\(message.name)' has no zeebe:subscription correlationKey") }
                try add(.messageCatch(messageName: message.name, correlationKey: key), "INTERMEDIATE_CATCH_EVENT")
            case "boundaryEvent" where child.child(named: "timerEventDefinition") != nil:
                guard let attached = child.attribute("attachedToRef") else { throw DeploymentError("\(what) has no attachedToRef") }
                if child.attribute("cancelActivity") == "false" {
                    throw DeploymentError("\(what): non-interrupting timer boundary events are not supported by the dev engine (it runs one token per instance)")
                }
                let def = child.child(named: "timerEventDefinition")!
                guard let duration = def.child(named: "timeDuration") else {
                    throw DeploymentError("\(what): only timeDuration timers are supported by the dev engine (not timeDate or timeCycle)")
                }
                let text = duration.text.trimmingSpaces
                guard let ms = ISODuration.milliseconds(text) else {
                    throw DeploymentError("\(what): timeDuration '\(text)' is not a static ISO-8601 duration such as PT48H (expressions are not supported by the dev engine)")
                }
                timers[attached, default: []].append(TimerBoundary(elementId: id, durationMs: ms))
                try add(.timerBoundary, "BOUNDARY_EVENT")
            case "boundaryEvent":
                guard let def = child.child(named: "errorEventDefinition") else {
                    throw DeploymentError("\(what): only error and timer boundary events are supported by the dev engine")
                }
                guard let attached = child.attribute("attachedToRef") else { throw DeploymentError("\(what) has no attachedToRef") }
                let code = def.attribute("errorRef").flatMap { errors[$0] }
                boundaries[attached, default: []].append(ErrorBoundary(elementId: id, errorCode: code?.isEmpty == true ? nil : code))
                try add(.errorBoundary, "BOUNDARY_EVENT")
            default:
                throw DeploymentError("\(what) is not supported by the dev engine (it runs start/end events, service tasks, exclusive gateways, message catch events and error boundary events)")
            }
        }

        guard starts.count == 1 else { throw DeploymentError("process '\(processId)' needs exactly one none start event, found \(starts.count)") }
        var outgoing: [String: [SequenceFlow]] = [:]
        var incoming: [String: Int] = [:]
        for f in flows {
            guard elements[f.source] != nil else { throw DeploymentError("sequence flow '\(f.id)' starts at unknown element '\(f.source)'") }
            guard elements[f.target] != nil else { throw DeploymentError("sequence flow '\(f.id)' ends at unknown element '\(f.target)'") }
            outgoing[f.source, default: []].append(SequenceFlow(id: f.id, target: f.target, condition: f.condition))
            incoming[f.target, default: 0] += 1
        }
        for (attached, list) in boundaries {
            guard let task = elements[attached], case .serviceTask = task.kind else {
                throw DeploymentError("error boundary event '\(list[0].elementId)' must be attached to a service task")
            }
        }
        for (attached, list) in timers {
            switch elements[attached]?.kind {
            case .serviceTask?, .messageCatch?: break
            default: throw DeploymentError("timer boundary event '\(list[0].elementId)' must be attached to a service task or a message catch event")
            }
        }
        for (id, element) in elements {
            let out = outgoing[id] ?? []
            switch element.kind {
            case .endEvent:
                if !out.isEmpty { throw DeploymentError("end event '\(id)' has outgoing flows") }
            case .exclusiveGateway(let def):
                if out.isEmpty { throw DeploymentError("exclusive gateway '\(id)' has no outgoing flow") }
                if out.count > 1 {
                    for f in out where f.condition == nil && f.id != def {
                        throw DeploymentError("exclusive gateway '\(id)': flow '\(f.id)' needs a condition or must be the default flow")
                    }
                }
            default:
                if out.count != 1 {
                    throw DeploymentError("\(element.typeName.lowercased()) '\(id)' must have exactly one outgoing flow (the dev engine has no parallel split), has \(out.count)")
                }
                if out[0].condition != nil { throw DeploymentError("flow '\(out[0].id)' has a condition but leaves '\(id)', which is not a gateway") }
            }
        }
        return ProcessModel(processId: processId, name: p.attribute("name"), elements: elements, outgoing: outgoing,
                            startEventId: starts[0], listeners: try executionListeners(p, "process '\(processId)'"), errorBoundaries: boundaries,
                            timerBoundaries: timers)
    }

    static func staticInt(_ text: String, _ what: String) throws -> Int {
        guard let v = Int(text.trimmingSpaces), v >= 0 else { throw DeploymentError("\(what): '\(text)' is not a non-negative integer (expressions are not supported here)") }
        return v
    }

    static let knownExtensions: Set<String> = ["taskDefinition", "taskHeaders", "executionListeners", "properties", "subscription", "versionTag"]

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
