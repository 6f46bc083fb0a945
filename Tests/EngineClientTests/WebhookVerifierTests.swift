import AffinityClient
import Auth
import Foundation
import Testing

@Suite struct WebhookVerification {
    let secret = WebhookSignature.newSecret()
    let body = Array(#"{"type":"outcome","key":"order-1","seq":2,"id":"o-x-2","status":"completed","publishedAt":1,"data":{"ok":true}}"#.utf8)

    func headers(_ key: String, ts: Int64, id: String = "o-x-2") -> [(String, String)] {
        let signature = WebhookSignature.sign(id: id, timestampSeconds: ts, body: body, key: WebhookSignature.secretBytes(key)!)
        return [("Webhook-Id", id), ("webhook-timestamp", String(ts)), ("webhook-signature", signature)]
    }

    @Test func aSignedOutcomeVerifiesAndDecodes() throws {
        let now = Date()
        let outcome = try WebhookVerifier(secret: secret).verify(headers: headers(secret, ts: Int64(now.timeIntervalSince1970)), body: body, now: now)
        #expect(outcome.key == "order-1" && outcome.seq == 2 && outcome.isTerminal && outcome.data["ok"] == true)
    }

    @Test func forgedStaleOrUnsignedRequestsAreRefused() {
        let now = Date()
        let ts = Int64(now.timeIntervalSince1970)
        let verifier = WebhookVerifier(secret: secret)
        #expect(throws: WebhookVerificationError.badSignature) { try verifier.verify(headers: headers(WebhookSignature.newSecret(), ts: ts), body: body, now: now) }
        #expect(throws: WebhookVerificationError.badSignature) { try verifier.verify(headers: headers(secret, ts: ts - 301), body: body, now: now) }
        #expect(throws: WebhookVerificationError.missingHeader("webhook-signature")) { try verifier.verify(headers: [("webhook-id", "x"), ("webhook-timestamp", "1")], body: body, now: now) }
        let old = WebhookSignature.newSecret()
        #expect((try? WebhookVerifier(secret: secret, previous: [old]).verify(headers: headers(old, ts: ts), body: body, now: now)) != nil, "the previous secret during a rotation")
    }
}
