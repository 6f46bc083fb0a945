// The URLs the project's clients dial: http(s):// and ws(s)://. Host names are resolved to IPv4
// when a connection is made; https/wss go through the TLS module in client mode.

/// An absolute http(s)/ws(s) URL split into what a connection needs.
public struct ClientURL: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int
    /// Path and query, starting with `/`.
    public var target: String

    public init?(_ text: String) {
        guard let sep = text.range(of: "://") else { return nil }
        scheme = text[..<sep.lowerBound].lowercased()
        guard ["http", "ws", "https", "wss"].contains(scheme) else { return nil }
        var rest = text[sep.upperBound...]
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<slash]
        rest = rest[slash...]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let defaultPort = scheme == "https" || scheme == "wss" ? 443 : 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let p = Int(authority[authority.index(after: colon)...]), p > 0, p < 65536 else { return nil }
            host = String(authority[..<colon])
            port = p
        } else {
            host = String(authority)
            port = defaultPort
        }
        guard !host.isEmpty else { return nil }
        target = rest.isEmpty ? "/" : (rest.hasPrefix("?") ? "/" + rest : String(rest))
    }

    public var isSecure: Bool { scheme == "https" || scheme == "wss" }
    public var hostHeader: String { port == (isSecure ? 443 : 80) ? host : "\(host):\(port)" }
    public var description: String { "\(scheme)://\(hostHeader)\(target)" }

    /// This URL with `path` appended to its path (`http://h/base` + `/v2/x` → `http://h/base/v2/x`).
    public func appending(_ path: String) -> ClientURL {
        var u = self
        let base = target.hasSuffix("/") ? String(target.dropLast()) : target
        u.target = base + path
        return u
    }
}

/// Why an exchange produced no response.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidURL(String)
    case connectFailed(String)
    case timedOut
    case connectionClosed(String)
    case badResponse(String)
    case cancelled
    /// The destination's address is not allowed (the client's `addressCheck` said why).
    case refused(String)

    public var description: String {
        switch self {
        case .refused(let s): "refused: \(s)"
        case .invalidURL(let u): "invalid URL \(u)"
        case .connectFailed(let s): "connect failed: \(s)"
        case .timedOut: "timed out"
        case .connectionClosed(let s): "connection closed: \(s)"
        case .badResponse(let s): "bad response: \(s)"
        case .cancelled: "cancelled"
        }
    }

    /// Whether the request may not have reached the server (safe to retry any method).
    public var isConnectFailure: Bool { if case .connectFailed = self { return true }; return false }
}

extension Duration {
    /// Whole milliseconds (what timers and the REST APIs take).
    public var wholeMilliseconds: Int { Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000) }
}
