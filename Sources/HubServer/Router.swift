// Maps a request path to a route. Templates have literal segments and `{name}` captures of one
// segment each: `/v1/outcomes/{key}`. Exact paths are looked up in a dictionary first.
import HTTP1
import WebSocket

/// Opens a handler for each accepted WebSocket on a route.
public typealias WebSocketHandlerFactory = @Sendable (_ request: HTTPRequest, _ parameters: [String: String]) -> Result<WebSocketHandler, HTTPError>

/// What a matched path does.
public enum Route: Sendable {
    /// Answer a plain request.
    case http(methods: Set<String>, @Sendable (HTTPRequest, [String: String]) -> HTTPResponse)
    /// Answer later or stream: the handler keeps the exchange (on the connection's loop).
    case exchange(methods: Set<String>, @Sendable (HTTPRequest, [String: String], Exchange) -> Void)
    /// Upgrade to WebSocket; a plain request goes to `fallback` if set, else gets 426. The
    /// factory may refuse the upgrade with an error (bad key, missing token).
    case webSocket(HandshakeConfig, WebSocketHandlerFactory, fallback: (@Sendable (HTTPRequest, [String: String], Exchange) -> Void)?)
}

public struct Router: Sendable {
    /// Keyed by Substring so a request path (a slice of its target) is looked up without a copy.
    private var exact: [Substring: Route] = [:]
    private var templates: [(segments: [Substring], route: Route)] = []
    /// Routes for whatever else starts with a prefix (an API's own "not found"), longest first.
    private var fallbacks: [(prefix: String, route: Route)] = []

    public init() {}

    public mutating func add(_ path: String, _ route: Route) {
        if path.contains("{") {
            templates.append((path.split(separator: "/", omittingEmptySubsequences: false), route))
        } else {
            exact[Substring(path)] = route
        }
    }

    /// Answers every path under `prefix` that no other route takes.
    public mutating func addFallback(prefix: String, _ route: Route) {
        fallbacks.append((prefix, route))
        fallbacks.sort { $0.prefix.count > $1.prefix.count }
    }

    /// The route for `path` and its captured parameters.
    public func match(_ path: Substring) -> (Route, [String: String])? {
        if let route = exact[path] { return (route, [:]) }
        // Walk each template's segments over the path's bytes: no split arrays per request.
        outer: for (template, route) in templates {
            var params: [String: String] = [:]
            var rest = path.utf8[...]
            for (i, t) in template.enumerated() {
                if i > 0 {
                    guard rest.first == UInt8(ascii: "/") else { continue outer }
                    rest = rest.dropFirst()
                }
                let end = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
                let segment = rest[rest.startIndex..<end]
                if t.hasPrefix("{") && t.hasSuffix("}") {
                    if segment.isEmpty { continue outer }
                    params[String(t.dropFirst().dropLast())] = String(Substring(segment))
                } else if !segment.elementsEqual(t.utf8) {
                    continue outer
                }
                rest = rest[end...]
            }
            if rest.isEmpty { return (route, params) }
        }
        for (prefix, route) in fallbacks where path.hasPrefix(prefix) { return (route, [:]) }
        return nil
    }
}
