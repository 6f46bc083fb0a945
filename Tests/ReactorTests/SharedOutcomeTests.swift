import HubCore
import HubServer
import Testing
import WebSocket

@Suite struct SharedOutcomeTests {
    /// The frame every subscriber is sent carries the envelope SSE and long-poll send, byte for byte.
    @Test func theTextFrameWrapsExactlyTheEnvelope() throws {
        for size in [10, 200, 70_000] {
            let data = Array(("\"" + String(repeating: "x", count: size) + "\"").utf8)
            let outcome = Outcome(key: try OutcomeKey(validating: "k"), seq: 3, id: "id-1", status: .progress, data: data,
                                  publishedAt: 5, expiresAt: 6)
            let shared = SharedOutcome(outcome)
            #expect(shared.envelope == outcome.envelope())
            var parser = WebSocketParser(role: .client)
            var offset = 0
            let event = parser.next(shared.textFrame.bytes, offset: &offset)
            guard case .message(let kind, let payload) = event else { Issue.record("no message: \(event)"); return }
            #expect(kind == .text && payload == outcome.envelope() && offset == shared.textFrame.count)
        }
    }
}
