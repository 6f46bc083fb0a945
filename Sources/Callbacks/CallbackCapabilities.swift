// The callback URLs are capabilities: whoever holds one may answer that one job, one way.
//
//   token(jobKey, kind) = base64url(HMAC-SHA256(secret, "affinity.callback.v1|" kind "|" jobKey))
//
// 256 bits, unguessable without the secret, and derived rather than stored: the same job gets
// the same URLs on every activation and after a restart (with the same secret), and a forged
// token is refused by one HMAC and a constant-time compare, before any record is looked up.
// `kind` is part of the MAC, so the response URL cannot be turned into the error URL.
import Auth

/// Which of a callback's two URLs.
public enum CallbackKind: String, Sendable, CaseIterable {
    /// `responsePath`: completes the job.
    case response
    /// `errorResponsePath`: throws a BPMN error or fails the job.
    case error
}

public struct CallbackCapabilities: Sendable {
    private let secret: [UInt8]

    /// `secret`: at least 32 bytes (the hub generates one and keeps it beside the durable log
    /// when `--callback-secret` is not set).
    public init(secret: [UInt8]) { self.secret = secret }

    public func token(jobKey: String, kind: CallbackKind) -> String {
        Base64URL.encode(mac(jobKey: jobKey, kind: kind))
    }

    /// True when `token` is this job's `kind` token. Constant time in the token's content.
    public func verify(jobKey: String, kind: CallbackKind, token: String) -> Bool {
        guard token.utf8.count == 43, let presented = Base64URL.decode(token) else { return false }
        return constantTimeEquals(mac(jobKey: jobKey, kind: kind), presented)
    }

    private func mac(jobKey: String, kind: CallbackKind) -> [UInt8] {
        HMACSHA256.mac(key: secret, message: Array("affinity.callback.v1|\(kind.rawValue)|\(jobKey)".utf8))
    }
}
