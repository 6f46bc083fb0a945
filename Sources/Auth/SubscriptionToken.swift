// Subscription tokens: HS256 JWTs (RFC 7519) minted by whoever knows the key (the REST server)
// and checked by the hub. Claims: `exp` (required, seconds), optional `nbf`, and `keys`: the keys
// the bearer may read, each exact or a prefix ending in `*` ("order-*").
//
//   header.payload.signature ─▶ alg must be HS256 ─▶ HMAC matches (constant time) ─▶ nbf ≤ now < exp ─▶ keys
import HubBytes

public struct SubscriptionToken: Sendable, Equatable {
    public var keys: [String]
    public var expiresAt: Int64

    /// Whether the token lets its bearer read `key`.
    public func allows(_ key: String) -> Bool {
        keys.contains { pattern in
            pattern.hasSuffix("*") ? key.hasPrefix(pattern.dropLast()) : pattern == key
        }
    }
}

public enum TokenError: Error, Sendable, Equatable {
    case malformed(String)
    case badSignature
    case expired
    case notYetValid
}

public struct TokenVerifier: Sendable {
    private let secret: [UInt8]

    public init(secret: String) { self.secret = Array(secret.utf8) }

    /// Checks a compact JWS; `nowSeconds` is injected for tests.
    public func verify(_ token: String, nowSeconds: Int64) -> Result<SubscriptionToken, TokenError> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count <= 8192 else { return .failure(.malformed("a token has three dot-separated parts")) }
        guard let header = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]), let signature = Base64URL.decode(parts[2]) else {
            return .failure(.malformed("token parts must be base64url"))
        }
        guard case .success(let h) = JSONScanner.objectMembers(header),
              let alg = h.range(of: "alg").flatMap({ JSONScanner.stringValue(header, $0) }), alg == "HS256" else {
            return .failure(.malformed("only alg HS256 is accepted"))
        }
        let signed = Array((parts[0] + "." + parts[1]).utf8)
        guard constantTimeEquals(HMACSHA256.mac(key: secret, message: signed), signature) else { return .failure(.badSignature) }
        guard case .success(let claims) = JSONScanner.objectMembers(payload) else { return .failure(.malformed("claims are not a JSON object")) }
        guard let exp = claims.range(of: "exp").flatMap({ Self.integer(payload, $0) }) else { return .failure(.malformed("exp is required")) }
        if let nbf = claims.range(of: "nbf").flatMap({ Self.integer(payload, $0) }), nowSeconds < nbf { return .failure(.notYetValid) }
        guard nowSeconds < exp else { return .failure(.expired) }
        guard let keysRange = claims.range(of: "keys"), let keys = Self.stringArray(payload, keysRange), !keys.isEmpty else {
            return .failure(.malformed("keys must be a non-empty array of strings"))
        }
        return .success(SubscriptionToken(keys: keys, expiresAt: exp))
    }

    /// Mints a token (the REST server's side; tests and the client library use it).
    public func mint(keys: [String], expiresAt: Int64) -> String {
        let header = Base64URL.encode(Array("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".utf8))
        let list = keys.map { JSONText.quoted($0) }.joined(separator: ",")
        let payload = Base64URL.encode(Array("{\"keys\":[\(list)],\"exp\":\(expiresAt)}".utf8))
        let signature = Base64URL.encode(HMACSHA256.mac(key: secret, message: Array((header + "." + payload).utf8)))
        return header + "." + payload + "." + signature
    }

    static func integer(_ bytes: [UInt8], _ range: Range<Int>) -> Int64? {
        let text = String(decoding: bytes[range], as: UTF8.self)
        if let i = Int64(text) { return i }
        return Double(text).flatMap { $0.isFinite && abs($0) < 1e15 ? Int64($0) : nil }
    }

    static func stringArray(_ bytes: [UInt8], _ range: Range<Int>) -> [String]? {
        // Re-scan the array as a document of its own: ["a","b*"].
        let slice = Array(bytes[range])
        guard slice.first == UInt8(ascii: "[") else { return nil }
        var out: [String] = []
        var i = 1
        while i < slice.count {
            let c = slice[i]
            if c == UInt8(ascii: "\"") {
                var j = i + 1
                while j < slice.count && slice[j] != UInt8(ascii: "\"") { j += slice[j] == UInt8(ascii: "\\") ? 2 : 1 }
                guard j < slice.count, let s = JSONScanner.stringValue(slice, i..<(j + 1)) else { return nil }
                out.append(s)
                i = j + 1
            } else if c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D {
                i += 1
            } else {
                return nil
            }
        }
        return out
    }
}

/// base64url without padding (RFC 4648 §5), as JWTs use it.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        var s = Base64.encode(bytes)
        while s.hasSuffix("=") { s.removeLast() }
        return String(s.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    public static func decode<S: StringProtocol>(_ text: S) -> [UInt8]? {
        var s = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        guard !text.contains("+"), !text.contains("/"), !text.contains("=") else { return nil }
        while s.utf8.count % 4 != 0 { s += "=" }
        return Base64.decode(s)
    }
}
