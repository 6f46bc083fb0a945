// Routes of the action links:
//   POST   /v1/actions                          create a group (publisher key) → 201 {group, links, expiresAt}
//   GET    /v1/actions/{group}                  its state (publisher key)
//   DELETE /v1/actions/{group}                  revoke it (publisher key)
//   GET    /v1/actions/{group}/{action}/{token} the confirmation page (never acts)
//   POST   /v1/actions/{group}/{action}/{token} use the link (form or JSON {"inputs": {...}})
import Auth
import Callbacks
import HTTP1
import HubBytes
import HubServer

extension Router {
    /// `service` is read per request: the service exists once the engine client does.
    public mutating func addActionLinkRoutes(access: AccessPolicy, service: @escaping @Sendable () -> ActionLinks?) {
        add("/v1/actions", .exchange(methods: ["POST"]) { request, _, exchange in
            guard let links = service() else { return exchange.respond(unavailable) }
            if let denial = access.authorizePublisher(request.bearer) {
                return exchange.respond(HTTPResponse(error: HTTPError(denial.status, denial.code, denial.message, headers: [("WWW-Authenticate", "Bearer")])))
            }
            guard case .success(let body) = JSONValue.parse(request.body) else {
                return exchange.respond(HTTPResponse(error: .badRequest("send a JSON object")))
            }
            guard let box = ExchangeHandle(exchange) else { return }
            let defaultID = "g-" + String(UInt64.random(in: 0...UInt64.max), radix: 36) + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            Task {
                switch await links.create(body, defaultID: defaultID) {
                case .failure(let e):
                    if case .conflict = e { box.respond(.json(409, JSONText.errorBody(code: "conflict", message: e.message))) }
                    else { box.respond(.json(400, JSONText.errorBody(code: "invalid_actions", message: e.message))) }
                case .success(let (group, isNew)):
                    let json: JSONValue = ["group": .string(group.id), "links": .object(links.links(group)), "expiresAt": JSONValue(Int(group.expiresAt))]
                    box.respond(.json(isNew ? 201 : 200, json.serialized(), headers: [("Cache-Control", "no-store")]))
                }
            }
        })

        add("/v1/actions/{group}", .exchange(methods: ["GET", "DELETE"]) { request, params, exchange in
            guard let links = service() else { return exchange.respond(unavailable) }
            if let denial = access.authorizePublisher(request.bearer) {
                return exchange.respond(HTTPResponse(error: HTTPError(denial.status, denial.code, denial.message, headers: [("WWW-Authenticate", "Bearer")])))
            }
            let id = params["group"] ?? ""
            guard let box = ExchangeHandle(exchange) else { return }
            guard request.method == "DELETE" else {
                Task {
                    guard let group = await links.currentGroup(id) else { return box.respond(HTTPResponse(error: .notFound("no group \(id)"))) }
                    box.respond(.json(200, links.describe(group).serialized(), headers: [("Cache-Control", "no-store")]))
                }
                return
            }
            Task {
                switch await links.revoke(id) {
                case nil: box.respond(HTTPResponse(error: .notFound("no group \(id)")))
                case .failure(let e)?:
                    let conflict = links.group(id).map { links.describe($0) } ?? .null
                    box.respond(.json(409, JSONValue.object(["error": "conflict", "message": .string(e.message), "recorded": conflict]).serialized()))
                case .success(let group)?: box.respond(.json(200, links.describe(group).serialized()))
                }
            }
        })

        add("/v1/actions/{group}/{action}/{token}", .exchange(methods: ["GET", "POST"]) { request, params, exchange in
            guard let links = service() else { return exchange.respond(unavailable) }
            let (group, action, token) = (params["group"] ?? "", params["action"] ?? "", params["token"] ?? "")
            let wantsJSON = request.headers["Accept"]?.contains("application/json") == true
            guard request.method == "POST" else {
                let address = exchange.peerAddress
                guard let box = ExchangeHandle(exchange) else { return }
                Task {
                    let result = await links.open(group: group, action: action, token: token, from: address)
                    box.respond(links.response(result, action: action, wantsJSON: wantsJSON))
                }
                return
            }
            let form: [String: JSONValue]
            if request.headers["Content-Type"]?.contains("application/json") == true {
                guard case .success(let body) = JSONValue.parse(request.body.isEmpty ? Array("{}".utf8) : request.body),
                      let o = body.objectValue, o.keys.allSatisfy({ $0 == "inputs" }), o["inputs"] == nil || o["inputs"]?.objectValue != nil else {
                    return exchange.respond(HTTPResponse(error: .badRequest("send {\"inputs\": {...}} or nothing")))
                }
                form = o["inputs"]?.objectValue ?? [:]
            } else {
                form = Query(Substring(String(decoding: request.body, as: UTF8.self))).all.mapValues { .string($0) }
            }
            let address = exchange.peerAddress
            guard let box = ExchangeHandle(exchange) else { return }
            Task {
                let result = await links.use(group: group, action: action, token: token, form: form, from: address)
                box.respond(links.response(result, action: action, wantsJSON: wantsJSON))
            }
        })
    }
}

private let unavailable = HTTPResponse(error: HTTPError(503, "unavailable", "action links need a workflow engine (--camunda-url or --dev-engine)"))

extension ActionLinks {
    /// A group's state for its creator (never its links' tokens beyond what creation returned).
    func describe(_ g: ActionGroup) -> JSONValue {
        var o: [String: JSONValue] = ["group": .string(g.id), "messageName": .string(g.messageName), "correlationKey": .string(g.correlationKey),
                                      "expiresAt": JSONValue(Int(g.expiresAt)), "actions": .array(g.actions.map { .string($0.name) })]
        switch g.state {
        case .open: o["state"] = "open"
        case .pending(let a, _, let at): o["state"] = "pending"; o["recordedAction"] = .string(a); o["recordedAt"] = JSONValue(Int(at))
        case .used(let a, let v, let at):
            o["state"] = "used"; o["recordedAction"] = .string(a); o["recordedAt"] = JSONValue(Int(at)); o["variables"] = .object(v)
        case .revoked(let at): o["state"] = "revoked"; o["revokedAt"] = JSONValue(Int(at))
        }
        return .object(o)
    }
}
