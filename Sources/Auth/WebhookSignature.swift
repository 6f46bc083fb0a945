// Standard Webhooks signatures (the specification at standardwebhooks.com, which Svix and others
// implement): the signed content is `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 with the
// secret's bytes, sent as `webhook-signature: v1,<base64>`; several signatures (a secret being
// rotated) are separated by spaces. Secrets are `whsec_` + base64 of 32 random bytes.
import HubBytes

public enum WebhookSignature {
    public static let secretPrefix = "whsec_"
    /// How far a timestamp may be from the receiver's clock (the specification's suggestion).
    public static let defaultToleranceSeconds: Int64 = 300

    /// A new signing secret, from the system's cryptographic random source.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return secretPrefix + Base64.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The key bytes of a `whsec_…` secret (the prefix is optional, as libraries accept it), or nil.
    public static func secretBytes(_ secret: String) -> [UInt8]? {
        let encoded = secret.hasPrefix(secretPrefix) ? String(secret.dropFirst(secretPrefix.count)) : secret
        guard let bytes = Base64.decode(encoded), bytes.count >= 24, bytes.count <= 64 else { return nil }
        return bytes
    }

    /// One `v1,<base64>` signature of a message.
    public static func sign(id: String, timestampSeconds: Int64, body: [UInt8], key: [UInt8]) -> String {
        "v1," + Base64.encode(HMACSHA256.mac(key: key, message: Array("\(id).\(timestampSeconds).".utf8) + body))
    }

    /// Whether any `v1` signature in `header` is this message's under `secret`, with a timestamp
    /// within `tolerance` of `nowSeconds` (a replayed old message fails).
    public static func verify(id: String, timestamp: String, signatureHeader: String, body: [UInt8], secret: String,
                              nowSeconds: Int64, toleranceSeconds: Int64 = defaultToleranceSeconds) -> Bool {
        guard let key = secretBytes(secret), let ts = Int64(timestamp), abs(nowSeconds - ts) <= toleranceSeconds else { return false }
        let expected = Array(sign(id: id, timestampSeconds: ts, body: body, key: key).utf8)
        var matched = false
        for candidate in signatureHeader.split(separator: " ") where candidate.hasPrefix("v1,") {
            // Every candidate is compared, so the time taken does not say which one matched.
            if constantTimeEquals(Array(candidate.utf8), expected) { matched = true }
        }
        return matched
    }
}
