import Auth
import HubBytes
import Testing

@Suite struct StandardWebhookSignatures {
    /// The specification's published example (standardwebhooks.com, "Verifying webhooks").
    @Test func theSpecificationsExampleVerifies() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let body = Array(#"{"test": 2432232314}"#.utf8)
        let key = WebhookSignature.secretBytes(secret)!
        #expect(WebhookSignature.sign(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestampSeconds: 1614265330, body: body, key: key)
                == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(WebhookSignature.verify(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330",
                                        signatureHeader: "v1,bm9ldHUjKzFob2VudXRob2VodWUzMjRvdWVvdW9ldQo= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                                        body: body, secret: secret, nowSeconds: 1614265330))
    }

    @Test func tamperedOldOrForeignMessagesFail() {
        let secret = WebhookSignature.newSecret()
        let key = WebhookSignature.secretBytes(secret)!
        #expect(secret.hasPrefix("whsec_") && key.count == 32)
        let body = Array(#"{"a":1}"#.utf8)
        let signature = WebhookSignature.sign(id: "o-1", timestampSeconds: 1000, body: body, key: key)
        #expect(WebhookSignature.verify(id: "o-1", timestamp: "1000", signatureHeader: signature, body: body, secret: secret, nowSeconds: 1200))
        #expect(!WebhookSignature.verify(id: "o-1", timestamp: "1000", signatureHeader: signature, body: Array(#"{"a":2}"#.utf8), secret: secret, nowSeconds: 1000))
        #expect(!WebhookSignature.verify(id: "o-2", timestamp: "1000", signatureHeader: signature, body: body, secret: secret, nowSeconds: 1000))
        #expect(!WebhookSignature.verify(id: "o-1", timestamp: "1000", signatureHeader: signature, body: body, secret: secret, nowSeconds: 1301), "too old")
        #expect(!WebhookSignature.verify(id: "o-1", timestamp: "1000", signatureHeader: signature, body: body, secret: WebhookSignature.newSecret(), nowSeconds: 1000))
        #expect(WebhookSignature.secretBytes("whsec_short") == nil)
    }
}
