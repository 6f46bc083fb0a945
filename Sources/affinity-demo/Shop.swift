// The demo's REST API, written as a Swift server team would write it on the hub's HTTP layer:
//
//   POST /purchase {"item","quantity","unitPrice"?,"simulate"?}  [?wait=ms | Prefer: respond-async]
//     → 200 {"status":"completed","outcome":…}   the workflow finished in time
//     → 422 {"status":"failed","outcome":…}      it finished, declined or out of stock
//     → 202 + Location: /purchase/{key}          still running: poll there, or subscribe on the hub
//   GET /purchase/{key}[?wait=ms]  → 200 / 422 / 202 as above
import AffinityClient
import CamundaClient
import HTTP1
import HubBytes
import HubServer
import Synchronization

struct Shop: Sendable {
    /// Order keys this process created, so an unknown key is a 404 rather than "pending" forever.
    let orders = PlacedOrders()
    let engine: CamundaClient
    let hub: HubConnection
    let hubURL: String
    let tokenSecret: String?
    let defaultWaitMs: Int
    /// Orders above this total wait for a manager's approval.
    let approvalThreshold: Int

    func purchase(_ request: HTTPRequest) async -> HTTPResponse {
        guard case .success(let body) = JSONValue.parse(request.body), case .object = body else {
            return .json(400, JSONText.errorBody(code: "invalid_json", message: "send a JSON object: {\"item\": \"book\", \"quantity\": 1}"))
        }
        guard let item = body["item"]?.stringValue, (1...64).contains(item.count) else {
            return .json(400, JSONText.errorBody(code: "invalid_item", message: "item is a string of 1 to 64 characters"))
        }
        guard let quantity = body["quantity"]?.intValue, (1...100).contains(quantity) else {
            return .json(400, JSONText.errorBody(code: "invalid_quantity", message: "quantity is an integer from 1 to 100"))
        }
        var wait: Int
        switch waitMs(request) {
        case .failure(let e): return HTTPResponse(error: e)
        case .success(let ms): wait = ms ?? defaultWaitMs
        }
        if request.headers["Prefer"]?.contains("respond-async") == true { wait = 0 }
        let orderId = "ord-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        var variables: [String: JSONValue] = ["orderId": .string(orderId), "item": .string(item), "quantity": JSONValue(quantity),
                                              "approvalThreshold": JSONValue(approvalThreshold)]
        if let price = body["unitPrice"], price.doubleValue != nil { variables["unitPrice"] = price }
        if let simulate = body["simulate"], case .object = simulate { variables["simulate"] = simulate }
        orders.insert("order-\(orderId)")
        do {
            let result = try await engine.createProcessInstance(processDefinitionId: "order-fulfilment", variables: variables, awaitingOutcomeVia: hub,
                                                                timeout: .milliseconds(max(1, wait)), affinityKey: "order-\(orderId)")
            switch result {
            case .finished(let outcome, let instance): return answer(outcome, orderId: orderId, instanceKey: instance.processInstanceKey)
            case .pending(let pending): return accepted(key: pending.key, orderId: orderId, instanceKey: pending.instance.processInstanceKey)
            }
        } catch let e as CamundaError {
            let status = e.problem == nil ? 503 : 502
            return .json(status, JSONText.errorBody(code: "engine_unavailable", message: "\(e)"))
        } catch {
            return .json(503, JSONText.errorBody(code: "unavailable", message: "\(error)"))
        }
    }

    func status(_ request: HTTPRequest, key: String) async -> HTTPResponse {
        guard key.hasPrefix("order-"), key.count <= 80, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            return .json(404, JSONText.errorBody(code: "not_found", message: "no such order"))
        }
        let orderId = String(key.dropFirst("order-".count))
        let wait: Int
        switch waitMs(request) {
        case .failure(let e): return HTTPResponse(error: e)
        case .success(let ms): wait = ms ?? 0
        }
        guard orders.contains(key) else {
            return .json(404, JSONText.errorBody(code: "not_found", message: "no such order (orders placed before the demo restarted are forgotten)"))
        }
        do {
            let outcome = try await hub.outcome(for: key, timeout: .milliseconds(max(1, wait)))
            return answer(outcome, orderId: orderId, instanceKey: nil)
        } catch {
            return accepted(key: key, orderId: orderId, instanceKey: nil)
        }
    }

    /// `?wait=` in milliseconds, 0 to 60000; anything else is a 400 naming the parameter.
    private func waitMs(_ request: HTTPRequest) -> Result<Int?, HTTPError> {
        Query(request.query).integer("wait", in: 0...60_000, unit: " milliseconds")
    }

    private func answer(_ outcome: HubOutcome, orderId: String, instanceKey: String?) -> HTTPResponse {
        var body: [String: JSONValue] = [
            "orderId": .string(orderId), "key": .string(outcome.key), "status": .string(outcome.status),
            "outcome": ["seq": JSONValue(Int(outcome.seq)), "id": .string(outcome.id), "status": .string(outcome.status), "data": outcome.data],
        ]
        if let instanceKey { body["processInstanceKey"] = .string(instanceKey) }
        return .json(outcome.status == "completed" ? 200 : 422, JSONValue.object(body).serialized())
    }

    private func accepted(key: String, orderId: String, instanceKey: String?) -> HTTPResponse {
        let token: JSONValue = tokenSecret.map { .string(SubscriptionTokens.mint(secret: $0, keys: [key])) } ?? .null
        var body: [String: JSONValue] = ["orderId": .string(orderId), "key": .string(key), "status": "pending", "location": .string("/purchase/\(key)"),
                                         "hub": ["url": .string(hubURL), "key": .string(key), "token": token]]
        if let instanceKey { body["processInstanceKey"] = .string(instanceKey) }
        return .json(202, JSONValue.object(body).serialized(), headers: [("Location", "/purchase/\(key)"), ("Retry-After", "1")])
    }
}

extension Router {
    mutating func addShopRoutes(_ shop: Shop, mailbox: Mailbox, labels: LabelService) {
        add("/labels", .http(methods: ["POST"]) { request, _ in labels.receive(request.body) })
        add("/mailbox", .http(methods: ["GET"]) { _, _ in
            HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], body: Array(mailbox.html.utf8))
        })
        add("/mailbox.json", .http(methods: ["GET"]) { _, _ in .json(200, mailbox.json, headers: [("Cache-Control", "no-store")]) })
        add("/purchase", .exchange(methods: ["POST"]) { request, _, exchange in
            guard let handle = ExchangeHandle(exchange) else { return }
            Task { handle.respond(await shop.purchase(request)) }
        })
        add("/purchase/{key}", .exchange(methods: ["GET"]) { request, params, exchange in
            guard let handle = ExchangeHandle(exchange) else { return }
            let key = params["key"] ?? ""
            Task { handle.respond(await shop.status(request, key: key)) }
        })
        add("/", .http(methods: ["GET"]) { _, _ in
            HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
                         body: Array(DemoPage.html(hubURL: shop.hubURL).utf8))
        })
    }
}

/// The keys of orders placed by this process, the oldest forgotten past a bound.
final class PlacedOrders: Sendable {
    static let limit = 100_000
    private let state = Mutex<(keys: Set<String>, order: [String])>(([], []))

    func insert(_ key: String) {
        state.withLock { s in
            guard s.keys.insert(key).inserted else { return }
            s.order.append(key)
            if s.order.count > Self.limit {
                let drop = s.order.count - Self.limit
                for k in s.order.prefix(drop) { s.keys.remove(k) }
                s.order.removeFirst(drop)
            }
        }
    }

    func contains(_ key: String) -> Bool { state.withLock { $0.keys.contains(key) } }
}
