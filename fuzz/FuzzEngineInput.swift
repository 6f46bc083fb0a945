// libFuzzer target: what the dev engine reads from clients. Properties: the XML reader, the BPMN
// parser and the FEEL parser never crash or recurse without bound on arbitrary bytes; a model that
// deploys draws as SVG and runs (jobs completed, user tasks completed, signals, timers far ahead)
// without crashing; an expression that parses evaluates without crashing; a JSON value that parses
// serializes to text that parses back to the same value.
import DevEngine
import HubBytes

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEngineInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if case .success(let models) = BPMNParser.parse(bytes, resourceName: "fuzz.bpmn") {
        for model in models { _ = DiagramSVG.render(model) }
        run(bytes, models)
    }
    let text = String(decoding: bytes, as: UTF8.self)
    if case .success(let e) = Expression.parse("=" + text) {
        _ = e.evaluate(["x": 5, "status": "ok", "order": ["total": 10], "flag": true])
    }
    if case .success(let v) = JSONValue.parse(bytes) {
        guard case .success(let back) = JSONValue.parse(v.serialized()), back == v else { fatalError("JSON round trip changed the value") }
    }
    return 0
}

/// Deploys the models and drives one instance of each as far as it goes in a few rounds.
func run(_ bytes: [UInt8], _ models: [ProcessModel]) {
    var engine = EngineCore()
    guard case .success = engine.deploy([.init(name: "fuzz.bpmn", bytes: bytes)]) else { return }
    var now: Int64 = 1_000_000
    for model in models where model.noneStartEventId != nil {
        _ = engine.createInstance(.id(model.processId, version: nil), variables: ["x": 5, "id": "k", "flag": true], nowMs: now)
    }
    var types: Set<String> = []
    var signals: Set<String> = []
    for model in models {
        for element in model.elements.values {
            switch element.kind {
            case .serviceTask(let d): types.insert(d.type)
            case .signalCatch(let s), .signalThrow(let s, _): signals.insert(s)
            default: break
            }
            for l in element.listeners { types.insert(l.type) }
        }
        for l in model.listeners { types.insert(l.type) }
        for s in model.signalStarts { signals.insert(s.signal) }
    }
    for _ in 0..<4 {
        for type in types {
            for job in engine.activateJobs(type: type, worker: "fuzz", timeoutMs: 1000, max: 20, fetchVariables: nil, nowMs: now) {
                guard let key = job.json["jobKey"]?.stringValue.flatMap({ Int64($0) }) else { continue }
                _ = engine.completeJob(key, variables: ["x": 6], nowMs: now)
            }
        }
        for task in engine.userTasks.values where task.state == .created { _ = engine.completeUserTask(task.key, variables: [:], nowMs: now) }
        for signal in signals { _ = engine.broadcastSignal(name: signal, variables: [:], nowMs: now) }
        _ = engine.publishMessage(name: "m", correlationKey: "k", ttlMs: 1000, messageId: nil, variables: [:], nowMs: now)
        now += 400 * 86_400_000
        engine.tick(nowMs: now)
        for incident in engine.incidents.values where !incident.resolved { _ = engine.resolveIncident(incident.key, nowMs: now) }
    }
    _ = engine.elementInstanceViews()
    _ = engine.messageSubscriptionViews()
}
