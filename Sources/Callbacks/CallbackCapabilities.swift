// The callback URLs and action links are capabilities: whoever holds one may do that one thing.
//
//   token(scope) = base64url(HMAC-SHA256(secret, "affinity.v1|" scope))
//   callback URL scope: "callback|<kind>|<jobKey>"     action link scope: "link|<group>|<action>"
//
// 256 bits, unguessable without the secret, and derived rather than stored: the same job gets
// the same URLs on every activation and after a restart (with the same secret), and a forged
// token is refused by one HMAC and a constant-time compare, before any record is looked up.
// The whole scope is in the MAC: the response URL cannot be turned into the error URL, nor an
// approve link into a deny link.
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

    public func token(jobKey: String, kind: CallbackKind) -> String { token(scope: "callback|\(kind.rawValue)|\(jobKey)") }

    /// True when `token` is this job's `kind` token. Constant time in the token's content.
    public func verify(jobKey: String, kind: CallbackKind, token: String) -> Bool {
        verify(scope: "callback|\(kind.rawValue)|\(jobKey)", token: token)
    }

    public func token(group: String, action: String) -> String { token(scope: "link|\(group)|\(action)") }

    public func verify(group: String, action: String, token: String) -> Bool { verify(scope: "link|\(group)|\(action)", token: token) }

    private func token(scope: String) -> String { Base64URL.encode(mac(scope)) }

    private func verify(scope: String, token: String) -> Bool {
        guard token.utf8.count == 43, let presented = Base64URL.decode(token) else { return false }
        return constantTimeEquals(mac(scope), presented)
    }

    private func mac(_ scope: String) -> [UInt8] { HMACSHA256.mac(key: secret, message: Array("affinity.v1|\(scope)".utf8)) }
}
