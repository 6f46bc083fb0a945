import Testing
import HubCore
@testable import RedisStore

/// The bytes the publish script stores and relays, and the names it stores them under.
@Suite struct StoredOutcomeCodec {
    let key = try! OutcomeKey(validating: "order-42")

    @Test func anOutcomeSurvivesTheRoundTripWhateverBytesItsFieldsHold() {
        let outcome = Outcome(key: key, seq: 17, id: "id:with:colons,1", status: .failed, data: Array("{\"a\":\"1:2:\\n\"}".utf8) + [0, 255],
                              publishedAt: 1_796_286_842_907, expiresAt: 1_796_287_442_907, idempotencyKey: "job-9:retry")
        #expect(StoredOutcome.decode(StoredOutcome.encode(outcome), key: key) == outcome)
        var plain = outcome
        plain.idempotencyKey = nil
        plain.data = []
        #expect(StoredOutcome.decode(StoredOutcome.encode(plain), key: key) == plain)
    }

    @Test func whatIsNotAStoredOutcomeIsRefusedNeverTrusted() {
        let good = StoredOutcome.encode(Outcome(key: key, seq: 1, id: "x", status: .completed, data: Array("1".utf8), publishedAt: 1, expiresAt: 2))
        // Every truncation, and every single byte appended, is refused.
        for end in 0..<good.count { #expect(StoredOutcome.decode(Array(good[..<end]), key: key) == nil, "cut at \(end)") }
        #expect(StoredOutcome.decode(good + [UInt8(ascii: "1")], key: key) == nil)
        for bad in ["0:", "1:0,", "99999999999:x", "1:1-1:x1:x1:11:21:01:1", "1:11:x7:unknown1:11:21:01:1", "1:0" + "1:x9:completed1:11:20:1:1"] {
            #expect(StoredOutcome.decode(Array(bad.utf8), key: key) == nil, "\(bad)")
        }
    }

    @Test func aKeysNamesShareOneHashTagAndItsChannelNamesItBack() {
        let names = StoredKeyNames(key, prefix: "affinity")
        #expect(String(decoding: names.stream, as: UTF8.self) == "affinity:{order-42}:log")
        #expect(String(decoding: names.meta, as: UTF8.self) == "affinity:{order-42}:meta")
        #expect(StoredKeyNames.key(ofChannel: names.channel, prefix: "affinity") == key)
        #expect(StoredKeyNames.key(ofChannel: names.channel, prefix: "other") == nil)
        #expect(StoredKeyNames.key(ofChannel: Array("affinity:{bad key}".utf8), prefix: "affinity") == nil)
        #expect(StoredKeyNames.key(ofChannel: Array("affinity:{}".utf8), prefix: "affinity") == nil)
    }

    @Test func theScriptsAreNamedByTheSHA1RedisGivesThem() {
        // `redis-cli SCRIPT LOAD "return 1"` answers this.
        #expect(RedisScripts.sha1Hex("return 1") == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }
}

@Suite struct RedisURLs {
    @Test func theFormsOperatorsWrite() throws {
        #expect(try RedisURL(parsing: "redis://localhost") == RedisURL(host: "localhost"))
        #expect(try RedisURL(parsing: "redis://10.0.0.5:6380/2") == RedisURL(host: "10.0.0.5", port: 6380, database: 2))
        #expect(try RedisURL(parsing: "rediss://hub:p%40ss%3Aw@redis.internal:6390")
                == RedisURL(host: "redis.internal", port: 6390, user: "hub", password: "p@ss:w", tls: true))
        #expect(try RedisURL(parsing: "redis://:secret@127.0.0.1/") == RedisURL(host: "127.0.0.1", password: "secret"))
        #expect(try RedisURL(parsing: "redis://secret@127.0.0.1").password == "secret")
        #expect(try RedisURL(parsing: "redis://u:secret@h:1/3").redacted == "redis://u:***@h:1/3")
    }

    @Test func mistakesAreNamed() {
        for bad in ["http://localhost", "redis://", "redis://h:0", "redis://h:70000", "redis://h:x", "redis://h/db", "localhost:6379"] {
            #expect(throws: RedisURLError.self, "\(bad)") { try RedisURL(parsing: bad) }
        }
    }
}
