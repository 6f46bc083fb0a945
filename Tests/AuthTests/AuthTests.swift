import Testing
@testable import Auth

@Suite struct SubscriptionTokens {
    let verifier = TokenVerifier(secret: "s3cret")

    @Test func hmacMatchesRFC4231TestCase2() {
        let mac = HMACSHA256.mac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(mac.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func aMintedTokenVerifiesAndGrantsExactAndPrefixKeys() throws {
        let token = verifier.mint(keys: ["order-1", "cart-*"], expiresAt: 2_000)
        let t = try verifier.verify(token, nowSeconds: 1_000).get()
        #expect(t.allows("order-1") && t.allows("cart-77") && !t.allows("order-2") && !t.allows("car"))
    }

    @Test func expiredForgedAndMalformedTokensAreRefused() {
        let token = verifier.mint(keys: ["k"], expiresAt: 2_000)
        #expect(verifier.verify(token, nowSeconds: 2_000) == .failure(.expired))
        #expect(TokenVerifier(secret: "other").verify(token, nowSeconds: 0) == .failure(.badSignature))
        var tampered = token.split(separator: ".").map(String.init)
        tampered[1] = Base64URL.encode(Array("{\"keys\":[\"*\"],\"exp\":9999999999}".utf8))
        #expect(verifier.verify(tampered.joined(separator: "."), nowSeconds: 0) == .failure(.badSignature))
        let none = Base64URL.encode(Array("{\"alg\":\"none\"}".utf8)) + "." + tampered[1] + "."
        if case .success = verifier.verify(none, nowSeconds: 0) { Issue.record("alg none accepted") }
        for bad in ["", "a.b", "a.b.c.d", "!!.??.**", token + "x"] {
            if case .success = verifier.verify(bad, nowSeconds: 0) { Issue.record("accepted \(bad)") }
        }
    }

    @Test func tokensWithoutKeysOrExpiryAreRefused() {
        func signed(_ claims: String) -> String {
            let h = Base64URL.encode(Array("{\"alg\":\"HS256\"}".utf8)), p = Base64URL.encode(Array(claims.utf8))
            return h + "." + p + "." + Base64URL.encode(HMACSHA256.mac(key: Array("s3cret".utf8), message: Array((h + "." + p).utf8)))
        }
        #expect(verifier.verify(signed("{\"keys\":[\"k\"]}"), nowSeconds: 0) == .failure(.malformed("exp is required")))
        if case .success = verifier.verify(signed("{\"exp\":99}"), nowSeconds: 0) { Issue.record("no keys accepted") }
        if case .success = verifier.verify(signed("{\"exp\":99,\"keys\":[1]}"), nowSeconds: 0) { Issue.record("number key accepted") }
        if case .success = verifier.verify(signed("{\"exp\":99,\"keys\":[\"k\"],\"nbf\":50}"), nowSeconds: 10) { Issue.record("nbf ignored") }
        #expect((try? verifier.verify(signed("{\"exp\":99,\"keys\":[\"k\", \"j\"]}"), nowSeconds: 10).get())?.keys == ["k", "j"])
    }
}

@Suite struct Policy {
    @Test func publisherKeysAreCheckedAndAnOpenPolicyAllowsAll() {
        let p = AccessPolicy(publisherKeys: ["pk-1", "pk-2"], tokenSecret: nil)
        #expect(p.authorizePublisher("pk-2") == nil)
        #expect(p.authorizePublisher("pk-3")?.status == 401)
        #expect(p.authorizePublisher(nil)?.status == 401)
        #expect(AccessPolicy(publisherKeys: [], tokenSecret: nil).authorizePublisher(nil) == nil)
    }

    @Test func wrongKeyTokensGet403AndBadOnes401() {
        let p = AccessPolicy(publisherKeys: [], tokenSecret: "s")
        let t = TokenVerifier(secret: "s").mint(keys: ["a"], expiresAt: 100)
        #expect(p.authorizeSubscriber(t, key: "a", nowSeconds: 0) == nil)
        #expect(p.authorizeSubscriber(t, key: "b", nowSeconds: 0)?.status == 403)
        #expect(p.authorizeSubscriber(t, key: "a", nowSeconds: 100)?.status == 401)
        #expect(p.authorizeSubscriber(nil, key: "a", nowSeconds: 0)?.status == 401)
    }
}
