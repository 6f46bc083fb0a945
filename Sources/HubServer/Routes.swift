// The transport's own endpoints: health, readiness, metrics, and the optional echo WebSocket.
import HTTP1
import HubBytes
import WebSocket

extension Router {
    /// `/healthz`, `/readyz`, `/metrics` when `metrics` renders them, and `echoPath` when set.
    /// `lifecycle` and `stats` are the ones later handed to `Server.init`.
    public static func transportRoutes(echoPath: String?, stats: ServerStats, lifecycle: Lifecycle, hub: Hub? = nil,
                                       metrics: (@Sendable () -> String)? = nil) -> Router {
        var router = Router()
        router.add("/healthz", .http(methods: ["GET"]) { _, _ in .json(200, "{\"status\":\"ok\"}") })
        router.add("/readyz", .http(methods: ["GET"]) { _, _ in
            if lifecycle.isDraining { return .json(503, JSONText.errorBody(code: "draining", message: "server is shutting down")) }
            if let reason = hub?.unavailableReason { return .json(503, JSONText.errorBody(code: "store_failed", message: reason)) }
            return .json(200, "{\"status\":\"ready\"}")
        })
        if let metrics {
            router.add("/metrics", .http(methods: ["GET"]) { _, _ in
                HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(metrics().utf8))
            })
        }
        if let echoPath {
            router.add(echoPath, .webSocket(HandshakeConfig(), { _, _ in .success(EchoHandler()) }, fallback: nil))
        }
        return router
    }
}

