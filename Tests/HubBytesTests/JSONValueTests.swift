import Testing
import HubBytes

@Suite struct JSONValues {
    @Test func parsesEveryKindAndKeepsNumbersAsWritten() throws {
        let v = try JSONValue.parse(#" {"a": [1, -0.5e3, "\u00e9\ud83d\ude00", true, null, {"b": {}}], "k": 2251799813685249} "#).get()
        #expect(v["k"] == .number("2251799813685249"))
        #expect(v["a"]?.arrayValue?[1] == .number("-0.5e3"))
        #expect(v["a"]?.arrayValue?[2] == .string("é😀"))
        #expect(v["a"]?.arrayValue?[5] == ["b": [:]])
        #expect(v["k"]?.intValue == 2_251_799_813_685_249)
    }

    @Test func serializesCompactlyWithSortedMembersAndParsesBackEqual() throws {
        let v: JSONValue = ["z": 1, "a": ["x": "q\"uote\n", "n": nil], "l": [true, false]]
        #expect(v.serialized() == #"{"a":{"n":null,"x":"q\"uote\n"},"l":[true,false],"z":1}"#)
        #expect(try JSONValue.parse(v.serialized()).get() == v)
    }

    @Test func refusesWhatTheScannerRefuses() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\u{01}\"", "nul", "[1] x", String(repeating: "[", count: 100) + String(repeating: "]", count: 100)] {
            if case .success = JSONValue.parse(bad) { Issue.record("accepted \(bad.prefix(20))") }
        }
    }
}
