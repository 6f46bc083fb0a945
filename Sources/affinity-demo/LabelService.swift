// The external shipping-label service of the demo: it speaks the hub's HTTP custom-activity
// contract as a third-party service would. It acknowledges the hub's POST at once and calls back
// later on responsePath (a tracking number) or errorResponsePath (a refusal), retrying its
// callback until it is answered. `simulate` in the order steers it:
//   labelRefused: true     → errorResponsePath with errorCode LABEL_REFUSED (the boundary event catches it)
//   labelServiceDown: true → 503 to every POST: the hub retries, then the job becomes an incident
//   labelDelayMs: n        → calls back n ms later
// Otherwise a POST is refused with 503 with probability `flakiness` (the hub retries it), but never
// twice for the same task: a transient failure, like the service workers' (whose last retry always
// goes through). Refusing every attempt at random ended 0.1 % of orders in an incident.
import HTTP1
import HTTPClient
import HubBytes
import Synchronization

final class LabelService: Sendable {
    let http = HTTPClient(maxIdlePerHost: 4, maxResponseBytes: 64 << 10)
    let flakiness: Double
    /// The tasks (flowElementInstanceId) refused once; the next POST for each goes through.
    private let refusedOnce = Mutex<Set<String>>([])

    init(flakiness: Double) { self.flakiness = flakiness }

    func receive(_ body: [UInt8]) -> HTTPResponse {
        guard case .success(let request) = JSONValue.parse(body), let responsePath = request["responsePath"]?.stringValue.flatMap(ClientURL.init),
              let errorPath = request["errorResponsePath"]?.stringValue.flatMap(ClientURL.init), let data = request["data"]?.objectValue else {
            return .json(400, JSONText.errorBody(code: "bad_request", message: "expected {responsePath, errorResponsePath, flowElementInstanceId, data}"))
        }
        let simulate = data["simulate"]
        let reliable = simulate?["reliable"]?.boolValue == true
        let busy = JSONText.errorBody(code: "busy", message: "the label printer is busy")
        if simulate?["labelServiceDown"]?.boolValue == true { return .json(503, busy) }
        if !reliable, let task = request["flowElementInstanceId"]?.stringValue, refuseOnce(task) { return .json(503, busy) }
        let refused = simulate?["labelRefused"]?.boolValue == true
        let delay = min(simulate?["labelDelayMs"]?.intValue ?? 0, 120_000) + Int.random(in: 300...1200)
        Task {
            try? await Task.sleep(for: .milliseconds(delay))
            let answer: JSONValue = refused
                ? ["errorCode": "LABEL_REFUSED", "errorMessage": "the carrier refused the parcel"]
                : ["data": ["trackingNumber": .string("TRK\(UInt32.random(in: 100_000...999_999))"), "carrier": "demo-post"]]
            await callBack(refused ? errorPath : responsePath, answer.serialized())
        }
        return .json(202, "{\"accepted\":true}")
    }

    /// Whether to refuse this POST: at random, but not a task refused before.
    private func refuseOnce(_ task: String) -> Bool {
        refusedOnce.withLock { refused in
            if refused.remove(task) != nil { return false }
            guard Double.random(in: 0..<1) < flakiness else { return false }
            if refused.count >= 10_000 { refused.removeAll() }  // a demo's bound, not a ledger
            refused.insert(task)
            return true
        }
    }

    /// A lost answer is safe to repeat (the hub answers a repeat with what it recorded).
    private func callBack(_ url: ClientURL, _ body: String) async {
        for attempt in 0..<6 {
            if let r = try? await http.send("POST", url, json: body, timeout: .seconds(10)), r.status < 500 && r.status != 429 { return }
            try? await Task.sleep(for: .milliseconds(250 << attempt))
        }
    }
}
