// The server's opening handshake (RFC 6455 §4.2): check the client's upgrade request, then build
// the 101 response with Sec-WebSocket-Accept, the chosen subprotocol and extensions.
import HTTP1
import HubBytes

/// What the server accepts in an opening handshake.
public struct HandshakeConfig: Sendable {
    /// Browser origins allowed to connect; nil allows any. A request without `Origin` (not a
    /// browser) is always allowed: Origin protects browsers' users, not the server.
    public var allowedOrigins: Set<String>?
    /// Subprotocols the route speaks, in the server's order of preference.
    public var subprotocols: [String] = []
    /// Browsers cannot set headers on a WebSocket, so they may carry a token as a
    /// `bearer.<token>` subprotocol; a browser fails the connection unless the server selects one
    /// of the protocols it offered, so when none of `subprotocols` was offered, the bearer one is.
    public var selectsBearerSubprotocol = false
    public var deflate = DeflateConfig()

    public init() {}
}

/// A handshake the server accepted.
public struct AcceptedHandshake: Sendable {
    public var response: HTTPResponse
    public var subprotocol: String?
    public var deflate: DeflateParameters?
}

public enum Handshake {
    /// The GUID of RFC 6455 §1.3.
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `base64(SHA-1(key + GUID))`.
    public static func acceptValue(forKey key: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(key.utf8.count + guid.utf8.count)
        bytes.append(contentsOf: key.utf8)
        bytes.append(contentsOf: guid.utf8)
        return Base64.encode(SHA1.digest(bytes))
    }

    /// Whether the request asks for a WebSocket upgrade at all (routes use this to choose between
    /// the WebSocket and the plain-HTTP answer).
    public static func isUpgradeRequest(_ request: HTTPRequest) -> Bool {
        request.headers.contains("Upgrade", token: "websocket")
    }

    /// Validates the upgrade request and builds the 101 response, or the error to answer with.
    public static func accept(_ request: HTTPRequest, config: HandshakeConfig) -> Result<AcceptedHandshake, HTTPError> {
        let h = request.headers
        guard request.method == "GET" else {
            return .failure(HTTPError(405, "method_not_allowed", "a WebSocket handshake uses GET", headers: [("Allow", "GET")]))
        }
        guard request.minorVersion == 1 else { return .failure(.badRequest("a WebSocket handshake needs HTTP/1.1")) }
        guard h.contains("Upgrade", token: "websocket") else {
            return .failure(HTTPError(426, "upgrade_required", "this endpoint speaks WebSocket: send Upgrade: websocket",
                                      headers: [("Upgrade", "websocket"), ("Connection", "Upgrade")]))
        }
        guard h.contains("Connection", token: "upgrade") else { return .failure(.badRequest("Connection header must contain upgrade")) }
        guard h.count(of: "Sec-WebSocket-Version") == 1, trimOWS(h["Sec-WebSocket-Version"]!) == "13" else {
            return .failure(HTTPError(426, "unsupported_websocket_version", "only Sec-WebSocket-Version 13 is supported",
                                      headers: [("Sec-WebSocket-Version", "13")]))
        }
        guard h.count(of: "Sec-WebSocket-Key") == 1, let key = h["Sec-WebSocket-Key"].map({ trimOWS($0) }),
              let decoded = Base64.decode(key), decoded.count == 16 else {
            return .failure(.badRequest("Sec-WebSocket-Key must be the base64 of 16 bytes"))
        }
        if let allowed = config.allowedOrigins, let origin = h["Origin"], !allowed.contains(origin) {
            return .failure(HTTPError(403, "origin_not_allowed", "origin \(origin) is not allowed"))
        }
        var headers: [(String, String)] = []
        headers.reserveCapacity(5)
        headers.append(("Upgrade", "websocket"))
        headers.append(("Connection", "Upgrade"))
        headers.append(("Sec-WebSocket-Accept", acceptValue(forKey: key)))
        // Subprotocol tokens are case-sensitive (RFC 6455 §4.1), so compare them as sent.
        var subprotocol: String?
        if h.count(of: "Sec-WebSocket-Protocol") > 0 {
            let offered = h.values("Sec-WebSocket-Protocol").flatMap { $0.split(separator: ",") }.map { trimOWS($0) }
            subprotocol = config.subprotocols.first { offered.contains($0) }
                ?? (config.selectsBearerSubprotocol ? offered.first { $0.hasPrefix("bearer.") } : nil)
        }
        if let subprotocol { headers.append(("Sec-WebSocket-Protocol", subprotocol)) }
        let offers = h.count(of: "Sec-WebSocket-Extensions") > 0 ? h.values("Sec-WebSocket-Extensions") : []
        let deflate = offers.isEmpty ? nil : DeflateNegotiation.negotiate(offers, config: config.deflate)
        if let deflate { headers.append(("Sec-WebSocket-Extensions", deflate.responseHeader)) }
        return .success(AcceptedHandshake(response: HTTPResponse(status: 101, headers: headers), subprotocol: subprotocol, deflate: deflate))
    }
}
