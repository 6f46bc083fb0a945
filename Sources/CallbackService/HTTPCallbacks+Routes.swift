// `POST /v1/callbacks/{jobKey}/{response|error}/{token}`: the URLs handed to the service. The
// token is the credential (no publisher key): whoever was given the URL may answer, once.
import Callbacks
import HTTP1
import HubBytes
import HubServer

/// Whoever answers calls of callback URLs (the service, or a box that holds it once it exists).
public protocol CallbackAnswering: Sendable {
    func answer(jobKey: String, kind: CallbackKind, token: String, body: [UInt8], from address: String) async -> CallbackReply
}

extension HTTPCallbacks: CallbackAnswering {}

extension Router {
    public mutating func addCallbackRoutes(_ callbacks: any CallbackAnswering) {
        add("/v1/callbacks/{jobKey}/{kind}/{token}", .exchange(methods: ["POST"]) { request, params, exchange in
            guard let kind = CallbackKind(rawValue: params["kind"] ?? "") else {
                return exchange.respond(callbackResponse(CallbackReply(status: 404, body: JSONText.errorBody(code: "not_found", message: "no such callback"))))
            }
            let (jobKey, token, body, address) = (params["jobKey"] ?? "", params["token"] ?? "", request.body, exchange.peerAddress)
            guard let box = ExchangeHandle(exchange) else { return }
            Task {
                let reply = await callbacks.answer(jobKey: jobKey, kind: kind, token: token, body: body, from: address)
                box.respond(callbackResponse(reply))
            }
        })
    }
}

/// Capability URLs must not leak through caches or referrers.
func callbackResponse(_ reply: CallbackReply) -> HTTPResponse {
    var headers = [("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer")]
    if reply.status == 429 || reply.status == 503 { headers.append(("Retry-After", "1")) }
    return .json(reply.status, reply.body, headers: headers)
}
