// The dev engine's state machine: deployments, instances, jobs, user tasks, messages, signals,
// timers and incidents. Pure: every command takes `nowMs` and returns a value or an `EngineError`;
// the HTTP layer holds it under one Mutex and answers long polls after each command.
//
//   enter(element) ─▶ start listeners (jobs) ─▶ begin: timers, boundary subscriptions, then the
//   element's work (job │ user task │ subscription │ gateway choice) ─▶ complete ─▶ end listeners
//   ─▶ leave ─▶ enter(each next element)        last token gone ─▶ process end listeners ─▶ COMPLETED
//
// The files beside this one hold the rest: +Tokens (execution), +Jobs, +Events (messages, signals,
// timers), +UserTasks, +Views (what searches return). It is a development default, not a production
// engine: one variable scope per instance, state in memory.
import HubBytes

/// Bounds on what the dev engine keeps in memory.
public struct EngineLimits: Sendable {
    /// Instances kept in all; completed ones are forgotten oldest first past this.
    public var maxInstances = 100_000
    /// Messages buffered (TTL > 0) at once.
    public var maxBufferedMessages = 100_000
    /// Largest variables document of one command, serialized.
    public var maxVariablesBytes = 1 << 20
    public init() {}
}

/// The dev engine's whole state and its commands; not thread-safe (the server holds it in a Mutex).
public struct EngineCore {
    public let limits: EngineLimits
    var nextKey: Int64 = 2_251_799_813_685_249  // partition 1, as Zeebe numbers keys
    var definitions: [Int64: ProcessDefinition] = [:]
    var versions: [String: [Int64]] = [:]
    var instances: [Int64: Instance] = [:]
    var finishedOrder: [Int64] = []
    var jobs: [Int64: Job] = [:]
    var messages: [Int64: BufferedMessage] = [:]
    public internal(set) var incidents: [Int64: Incident] = [:]
    /// Open message subscriptions: (name, correlation key) → tokens waiting, oldest first.
    var messageWaits: [String: [WaitingToken]] = [:]
    /// Tokens waiting for a signal, by signal name.
    var signalWaits: [String: [WaitingToken]] = [:]
    /// Element instances of the instances still remembered.
    public internal(set) var elementRecords: [Int64: ElementRecord] = [:]
    public internal(set) var userTasks: [Int64: UserTask] = [:]
    /// Variable key → (instance, name), for `GET /v2/variables/{key}`.
    var variableOwners: [Int64: (instance: Int64, name: String)] = [:]
    /// Elements entered without a wait state, in a row (recursion depth) and in one command: bounded
    /// so a looping model raises an incident instead of exhausting the stack or the CPU.
    var entryDepth = 0, entrySteps = 0
    static let maxElementsInARow = 200, maxElementsPerCommand = 10_000

    public init(limits: EngineLimits = EngineLimits()) { self.limits = limits }

    /// A key for something outside the engine's records (a batch operation done at once).
    public mutating func newOperationKey() -> Int64 { newKey() }

    mutating func newKey() -> Int64 {
        defer { nextKey += 1 }
        return nextKey
    }

    // MARK: deployments

    public struct DeployedResource: Sendable { public var name: String; public var bytes: [UInt8]; public init(name: String, bytes: [UInt8]) { self.name = name; self.bytes = bytes } }

    /// Deploys every executable process of every resource, or nothing (the first error is returned).
    public mutating func deploy(_ resources: [DeployedResource]) -> Result<(deploymentKey: Int64, definitions: [ProcessDefinition]), EngineError> {
        guard !resources.isEmpty else { return .failure(.invalidArgument("no resources given")) }
        var models: [(String, ProcessModel, [UInt8])] = []
        for r in resources {
            guard r.name.hasSuffix(".bpmn") || r.name.hasSuffix(".xml") else {
                return .failure(.invalidArgument("\(r.name): the dev engine deploys BPMN only (.bpmn or .xml)"))
            }
            switch BPMNParser.parse(r.bytes, resourceName: r.name) {
            case .failure(let e): return .failure(.invalidArgument("Command 'CREATE' rejected with code 'INVALID_ARGUMENT': \(e.message)"))
            case .success(let list): models += list.map { (r.name, $0, r.bytes) }
            }
        }
        let deploymentKey = newKey()
        var deployed: [ProcessDefinition] = []
        for (resource, model, bytes) in models {
            // As Zeebe: the latest version deployed again byte for byte is not a new version.
            if let latest = versions[model.processId]?.last.flatMap({ definitions[$0] }), latest.resource == bytes, latest.resourceName == resource {
                deployed.append(latest)
                continue
            }
            let version = (versions[model.processId]?.count ?? 0) + 1
            let def = ProcessDefinition(key: newKey(), processId: model.processId, version: version, resourceName: resource, model: model,
                                        resource: bytes)
            definitions[def.key] = def
            versions[model.processId, default: []].append(def.key)
            deployed.append(def)
        }
        return .success((deploymentKey, deployed))
    }

    // MARK: instances

    public enum DefinitionRef: Sendable { case key(Int64), id(String, version: Int?) }

    func definition(_ ref: DefinitionRef) -> Result<ProcessDefinition, EngineError> {
        switch ref {
        case .key(let k):
            guard let d = definitions[k] else { return .failure(.notFound("Expected to find process definition with key '\(k)', but none found")) }
            return .success(d)
        case .id(let id, let version):
            guard let keys = versions[id], !keys.isEmpty else {
                return .failure(.notFound("Expected to find process definition with process ID '\(id)', but none found"))
            }
            if let v = version, v >= 1 {
                guard v <= keys.count, let d = definitions[keys[v - 1]] else {
                    return .failure(.notFound("Expected to find process definition with process ID '\(id)' and version '\(v)', but none found"))
                }
                return .success(d)
            }
            return .success(definitions[keys.last!]!)
        }
    }

    /// Every deployed version, oldest first.
    public var processDefinitions: [ProcessDefinition] { definitions.values.sorted { $0.key < $1.key } }

    public func processDefinition(_ key: Int64) -> ProcessDefinition? { definitions[key] }

    /// Whether `definition` is its process's latest version.
    public func isLatest(_ definition: ProcessDefinition) -> Bool { versions[definition.processId]?.last == definition.key }

    public mutating func createInstance(_ ref: DefinitionRef, variables: [String: JSONValue], nowMs: Int64) -> Result<(instanceKey: Int64, definition: ProcessDefinition), EngineError> {
        let def: ProcessDefinition
        switch definition(ref) {
        case .failure(let e): return .failure(e)
        case .success(let d): def = d
        }
        guard let start = def.model.noneStartEventId else {
            return .failure(.invalidArgument("Expected to create instance of process with none start event, but there is no such event"))
        }
        return startInstance(def, at: start, variables: variables, nowMs: nowMs).map { ($0, def) }
    }

    mutating func startInstance(_ def: ProcessDefinition, at startEventId: String, variables: [String: JSONValue], nowMs: Int64) -> Result<Int64, EngineError> {
        let active = instances.count - finishedOrder.count
        guard active < limits.maxInstances else { return .failure(.exhausted("the dev engine holds \(limits.maxInstances) active instances")) }
        let key = newKey()
        instances[key] = Instance(key: key, definition: def, variables: [:], startEventId: startEventId, startedAt: nowMs)
        setVariables(key, variables)
        startProcess(key, nowMs: nowMs)
        return .success(key)
    }

    public struct InstanceView: Sendable {
        public var key: Int64
        public var definition: ProcessDefinition
        public var state: InstanceState
        public var variables: [String: JSONValue]
        public var hasIncident: Bool
        public var startedAt: Int64
        public var endedAt: Int64?
    }

    public func instance(_ key: Int64) -> InstanceView? {
        guard let i = instances[key] else { return nil }
        return InstanceView(key: i.key, definition: i.definition, state: i.state, variables: i.variables,
                            hasIncident: i.hasIncident, startedAt: i.startedAt, endedAt: i.endedAt)
    }

    /// Every instance the engine still remembers (finished ones are forgotten oldest first).
    public func instanceViews() -> [InstanceView] { instances.keys.sorted().compactMap { instance($0) } }

    public mutating func cancelInstance(_ key: Int64, nowMs: Int64) -> EngineError? {
        guard let i = instances[key], i.state == .active else { return .notFound("Expected to cancel a process instance with key '\(key)', but no such process was found") }
        finish(key, .terminated, nowMs: nowMs)
        return nil
    }

    // MARK: variables

    /// Sets variables in the instance's one scope; a variable keeps its key across updates.
    mutating func setVariables(_ key: Int64, _ variables: [String: JSONValue]) {
        guard instances[key] != nil else { return }
        for (name, value) in variables {
            if instances[key]!.variableKeys[name] == nil {
                let k = newKey()
                instances[key]!.variableKeys[name] = k
                variableOwners[k] = (key, name)
            }
            instances[key]!.variables[name] = value
        }
    }

    /// `PUT /v2/element-instances/{key}/variables`: the element instance (or the process instance
    /// itself) must be active. The dev engine has one scope per instance, so `local` lands there too.
    public mutating func updateVariables(elementInstanceKey: Int64, variables: [String: JSONValue]) -> EngineError? {
        guard let record = elementRecords[elementInstanceKey], record.state == .active, instances[record.instanceKey]?.state == .active else {
            return .notFound("Command 'UPDATE' rejected with code 'NOT_FOUND': Expected to update variables for element with key '\(elementInstanceKey)', but no such element was found")
        }
        setVariables(record.instanceKey, variables)
        return nil
    }
}
