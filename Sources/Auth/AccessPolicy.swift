// Who may publish and who may read which key.
//
// Publishers present an API key (`Authorization: Bearer <key>`); subscribers a subscription
// token (header, `token` query parameter for browsers, or a `bearer.<token>` WebSocket
// subprotocol). With neither configured the hub is open, which `serve` allows only on loopback
// unless told `--insecure`. Tokens and keys are never logged.

public struct AccessPolicy: Sendable {
    private let publisherKeys: [[UInt8]]
    private let verifier: TokenVerifier?

    public init(publisherKeys: [String], tokenSecret: String?) {
        self.publisherKeys = publisherKeys.filter { !$0.isEmpty }.map { Array($0.utf8) }
        self.verifier = tokenSecret.flatMap { $0.isEmpty ? nil : TokenVerifier(secret: $0) }
    }

    public var requiresPublisherKey: Bool { !publisherKeys.isEmpty }
    public var requiresToken: Bool { verifier != nil }

    public enum Denial: Error, Sendable, Equatable {
        /// No or invalid credential: 401.
        case unauthorized(String)
        /// A valid credential that does not cover this: 403.
        case forbidden(String)

        public var status: Int { if case .unauthorized = self { 401 } else { 403 } }
        public var code: String { if case .unauthorized = self { "unauthorized" } else { "forbidden" } }
        public var message: String { switch self { case .unauthorized(let m), .forbidden(let m): m } }
    }

    /// Checks a publisher's bearer credential (the value after `Bearer `).
    public func authorizePublisher(_ bearer: String?) -> Denial? {
        guard requiresPublisherKey else { return nil }
        guard let bearer, !bearer.isEmpty else { return .unauthorized("publishing needs Authorization: Bearer <publisher key>") }
        let presented = Array(bearer.utf8)
        // Compare with every key, without stopping early, so timing says nothing about which matched.
        var match = false
        for key in publisherKeys { match = constantTimeEquals(key, presented) || match }
        return match ? nil : .unauthorized("unknown publisher key")
    }

    /// Checks a subscription token for `key`; `nowSeconds` is wall-clock time.
    public func authorizeSubscriber(_ token: String?, key: String, nowSeconds: Int64) -> Denial? {
        guard let verifier else { return nil }
        guard let token, !token.isEmpty else { return .unauthorized("subscribing needs a subscription token") }
        switch verifier.verify(token, nowSeconds: nowSeconds) {
        case .failure(.expired): return .unauthorized("the subscription token has expired")
        case .failure(.notYetValid): return .unauthorized("the subscription token is not valid yet")
        case .failure(.badSignature): return .unauthorized("the subscription token's signature does not match")
        case .failure(.malformed(let why)): return .unauthorized("malformed subscription token: \(why)")
        case .success(let t): return t.allows(key) ? nil : .forbidden("the token does not grant key \(key)")
        }
    }
}
