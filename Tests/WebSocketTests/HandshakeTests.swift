import Testing
import HTTP1
import WebSocket

@Suite struct OpeningHandshake {
    func request(_ extra: [(String, String)] = [], drop: String? = nil, method: String = "GET", minor: Int = 1) -> HTTPRequest {
        var fields: [(String, String)] = [
            ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
        ].filter { $0.0 != drop }
        fields += extra
        return HTTPRequest(method: method, target: "/chat", minorVersion: minor, headers: HTTPHeaders(fields))
    }

    func status(_ r: HTTPRequest, config: HandshakeConfig = HandshakeConfig()) -> Int {
        switch Handshake.accept(r, config: config) {
        case .success(let a): a.response.status
        case .failure(let e): e.status
        }
    }

    @Test func rfc6455AcceptValueExample() {
        #expect(Handshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func aValidRequestGets101WithTheAcceptHeader() throws {
        let accepted = try Handshake.accept(request(), config: HandshakeConfig()).get()
        #expect(accepted.response.status == 101)
        #expect(accepted.response.headers.contains { $0 == ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") })
    }

    @Test func headerTokensMatchCaseInsensitivelyInCommaLists() {
        let r = request([("Connection", "keep-alive, UPGRADE")], drop: "Connection")
        #expect(status(r) == 101)
        #expect(status(request([("Upgrade", "WebSocket")], drop: "Upgrade")) == 101)
    }

    @Test func wrongMethodOrVersionOrMissingHeadersAreRefused() {
        #expect(status(request(method: "POST")) == 405)
        #expect(status(request(minor: 0)) == 400)
        #expect(status(request(drop: "Upgrade")) == 426)
        #expect(status(request(drop: "Connection")) == 400)
        #expect(status(request(drop: "Sec-WebSocket-Key")) == 400)
        #expect(status(request([("Sec-WebSocket-Key", "c2hvcnQ=")], drop: "Sec-WebSocket-Key")) == 400)
        #expect(status(request([("Sec-WebSocket-Key", "not base64!!!!!!!!!!!!==")], drop: "Sec-WebSocket-Key")) == 400)
    }

    @Test func anUnsupportedVersionGets426NamingVersion13() {
        guard case .failure(let e) = Handshake.accept(request([("Sec-WebSocket-Version", "8")], drop: "Sec-WebSocket-Version"), config: HandshakeConfig()) else {
            Issue.record("accepted version 8"); return
        }
        #expect(e.status == 426)
        #expect(e.headers.contains { $0 == ("Sec-WebSocket-Version", "13") })
    }

    @Test func originsOutsideTheAllowListGet403() {
        var config = HandshakeConfig()
        config.allowedOrigins = ["https://app.example"]
        #expect(status(request([("Origin", "https://evil.example")]), config: config) == 403)
        #expect(status(request([("Origin", "https://app.example")]), config: config) == 101)
        #expect(status(request(), config: config) == 101)
    }

    @Test func theFirstOfferedSupportedSubprotocolIsSelected() throws {
        var config = HandshakeConfig()
        config.subprotocols = ["affinity.v1", "other"]
        let a = try Handshake.accept(request([("Sec-WebSocket-Protocol", "chat, other, affinity.v1")]), config: config).get()
        #expect(a.subprotocol == "affinity.v1")
        let none = try Handshake.accept(request([("Sec-WebSocket-Protocol", "chat")]), config: config).get()
        #expect(none.subprotocol == nil)
        #expect(!none.response.headers.contains { $0.0 == "Sec-WebSocket-Protocol" })
    }

    @Test func deflateIsNegotiatedFromTheExtensionsHeader() throws {
        let a = try Handshake.accept(request([("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")]), config: HandshakeConfig()).get()
        #expect(a.deflate != nil)
        #expect(a.response.headers.contains { $0.0 == "Sec-WebSocket-Extensions" })
    }
}
