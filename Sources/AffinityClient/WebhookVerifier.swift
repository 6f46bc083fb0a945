// Checks the hub's outcome webhooks in a receiving server: the Standard Webhooks signature over
// `webhook-id.webhook-timestamp.body`, the timestamp's freshness, then the envelope.
//
//   let verifier = WebhookVerifier(secret: "whsec_…")
//   let outcome = try verifier.verify(headers: request.headers, body: request.body)   // HubOutcome
//   (deduplicate by outcome.id: delivery is at least once)
import Auth
import Foundation
import HubBytes

/// Why a webhook request was refused.
public enum WebhookVerificationError: Error, Sendable, Equatable {
    case missingHeader(String)
    /// No signature matches any secret, or the timestamp is outside the tolerance.
    case badSignature
    case notAnOutcome
}

public struct WebhookVerifier: Sendable {
    /// The endpoint's secrets (during a rotation, the new one and the old one).
    public var secrets: [String]
    public var toleranceSeconds: Int64 = WebhookSignature.defaultToleranceSeconds

    public init(secret: String, previous: [String] = []) { secrets = [secret] + previous }

    /// The delivered outcome, once the request is proven to come from the hub. Header names are
    /// matched case-insensitively.
    public func verify(headers: [(String, String)], body: [UInt8], now: Date = Date()) throws(WebhookVerificationError) -> HubOutcome {
        func header(_ name: String) throws(WebhookVerificationError) -> String {
            guard let v = headers.first(where: { $0.0.lowercased() == name })?.1 else { throw .missingHeader(name) }
            return v
        }
        let id = try header("webhook-id"), timestamp = try header("webhook-timestamp"), signature = try header("webhook-signature")
        let nowSeconds = Int64(now.timeIntervalSince1970)
        guard secrets.contains(where: {
            WebhookSignature.verify(id: id, timestamp: timestamp, signatureHeader: signature, body: body, secret: $0,
                                    nowSeconds: nowSeconds, toleranceSeconds: toleranceSeconds)
        }) else { throw .badSignature }
        guard case .success(let json) = JSONValue.parse(body), let outcome = HubOutcome(json) else { throw .notAnOutcome }
        return outcome
    }

    public func verify(headers: [String: String], body: [UInt8], now: Date = Date()) throws(WebhookVerificationError) -> HubOutcome {
        try verify(headers: headers.map { ($0.key, $0.value) }, body: body, now: now)
    }
}
