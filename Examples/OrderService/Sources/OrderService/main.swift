// The docs/clients.md flow in a program of its own: deploy a model, start an instance and await its
// outcome through the hub, race-free; then await a key directly. Usage:
//   OrderService <hub URL> [<engine URL>]     (the engine defaults to the hub: `serve --dev-engine`)
// Prints one line per outcome and exits 0 when both arrived.
import AffinityClient
import CamundaClient
import Foundation

let arguments = CommandLine.arguments
let hubURL = arguments.count > 1 ? arguments[1] : "http://127.0.0.1:8080"
let engineURL = arguments.count > 2 ? arguments[2] : hubURL

let engine = try CamundaClient(CamundaConfiguration(baseURL: engineURL))
let hub = try HubConnection(hubURL: hubURL)      // one per process, shared by all requests
hub.start()

let model = try Data(contentsOf: Bundle.module.url(forResource: "order", withExtension: "bpmn")!)
_ = try await engine.deploy(resources: [(name: "order.bpmn", bytes: [UInt8](model))])

// Start a workflow and answer with its outcome.
switch try await engine.createProcessInstance(processDefinitionId: "example-order",
                                              variables: ["item": "book", "quantity": 2],
                                              awaitingOutcomeVia: hub, timeout: .seconds(10)) {
case .finished(let outcome, let instance):
    // outcome.data is a JSONValue: reachable with `import AffinityClient` alone.
    let data: JSONValue = outcome.data
    print("outcome \(outcome.status) for instance \(instance.processInstanceKey): \(data.serialized())")
case .pending(let pending):
    print("still running: poll /v1/outcomes/\(pending.key)")
    exit(1)
}
hub.close()
