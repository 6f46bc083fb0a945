import Testing
import RESP
@testable import RedisStore

/// What Redis Sentinel answers, read as the store's Sentinel mode reads it.
@Suite struct SentinelAnswersTests {
    private func bulk(_ s: String) -> RESPValue { .bulkString(Array(s.utf8)) }
    private func message(_ channel: String, _ text: String) -> RESPValue { .push([bulk("message"), bulk(channel), bulk(text)]) }

    @Test func theMasterAddressIsHostAndPort() {
        #expect(SentinelAnswers.master(.array([bulk("10.0.0.5"), bulk("6379")])) == ClusterNode(host: "10.0.0.5", port: 6379))
        // Unknown master (RESP3 null, RESP2 null array), and every shape that is not [host, port in range].
        for refused: RESPValue in [.null, .array([]), .array([bulk("h")]), .array([bulk("h"), bulk("0")]), .array([bulk("h"), bulk("65536")]),
                                   .array([bulk(""), bulk("6379")]), .array([bulk("h"), bulk("-1")]), .array([bulk("h"), bulk("63 79")]),
                                   .array([bulk("h"), bulk("6379"), bulk("x")]), .error("ERR unknown")] {
            #expect(SentinelAnswers.master(refused) == nil, "\(refused)")
        }
    }

    @Test func aSwitchIsReadForItsOwnMasterOnly() {
        let text = "mymaster 127.0.0.1 7601 127.0.0.1 7602"
        #expect(SentinelAnswers.switched(message("+switch-master", text), master: "mymaster") == ClusterNode(host: "127.0.0.1", port: 7602))
        #expect(SentinelAnswers.switched(message("+switch-master", text), master: "other") == nil)
        #expect(SentinelAnswers.switched(message("+sdown", text), master: "mymaster") == nil)
        #expect(SentinelAnswers.switched(.push([bulk("subscribe"), bulk("+switch-master"), .integer(1)]), master: "mymaster") == nil)
        for broken in ["mymaster 127.0.0.1 7601 127.0.0.1", "mymaster 127.0.0.1 7601 127.0.0.1 99999", "mymaster 127.0.0.1 7601  7602",
                       "mymaster  127.0.0.1 7601 127.0.0.1 7602", ""] {
            #expect(SentinelAnswers.switched(message("+switch-master", broken), master: "mymaster") == nil, "\(broken)")
        }
    }
}
