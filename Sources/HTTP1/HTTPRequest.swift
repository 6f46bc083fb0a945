/// A parsed request: the head plus the decoded body.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent (origin-form `/path?query`, or `*`).
    public var target: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String, target: String, minorVersion: Int = 1, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.method = method; self.target = target; self.minorVersion = minorVersion; self.headers = headers; self.body = body
    }

    /// The path part of the target (before `?`).
    public var path: Substring {
        if let q = target.firstIndex(of: "?") { return target[..<q] }
        return target[...]
    }

    /// The query part of the target (after `?`), empty when none.
    public var query: Substring {
        if let q = target.firstIndex(of: "?") { return target[target.index(after: q)...] }
        return ""
    }

    /// Whether the connection stays open after this exchange (RFC 9112 §9.3).
    public var keepAlive: Bool {
        if headers.contains("Connection", token: "close") { return false }
        if minorVersion == 0 { return headers.contains("Connection", token: "keep-alive") }
        return true
    }

    public var isHead: Bool { method == "HEAD" }
}
