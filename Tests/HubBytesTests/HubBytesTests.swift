import Testing
import HubBytes

@Suite struct SHA1Tests {
    func hex(_ b: [UInt8]) -> String { b.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }

    @Test func digestMatchesFIPSExamples() {
        #expect(hex(SHA1.digest(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(SHA1.digest([UInt8]())) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex(SHA1.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    }
}

@Suite struct Base64Tests {
    @Test func encodesWithPadding() {
        #expect(Base64.encode(Array("".utf8)) == "")
        #expect(Base64.encode(Array("f".utf8)) == "Zg==")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
    }

    @Test func decodesOnlyCanonicalInput() {
        #expect(Base64.decode("Zm9vYmE=") == Array("fooba".utf8))
        #expect(Base64.decode("Zg==") == Array("f".utf8))
        #expect(Base64.decode("Zg=") == nil)
        #expect(Base64.decode("Z===") == nil)
        #expect(Base64.decode("Zm9v!mFy") == nil)
        #expect(Base64.decode("=Zm9") == nil)
        #expect(Base64.decode("Zg==Zg==") == nil)
    }
}

@Suite struct UTF8ValidatorTests {
    static let valid: [[UInt8]] = [
        Array("hello".utf8), Array("κόσμε".utf8), Array("€𝄞 ok".utf8),
        [0xF4, 0x8F, 0xBF, 0xBF], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [],
    ]
    static let invalid: [[UInt8]] = [
        [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF],
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xF0, 0x80, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80],
        [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xFE], Array("ab".utf8) + [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64],
    ]

    @Test func acceptsValidSequencesSplitAnywhere() {
        for bytes in Self.valid {
            for split in 0...bytes.count {
                var v = UTF8Validator()
                let first = v.feed(Array(bytes[..<split]))
                let second = v.feed(Array(bytes[split...]))
                #expect(first && second && v.isComplete)
            }
        }
    }

    @Test func rejectsOverlongsSurrogatesAndOutOfRangeSplitAnywhere() {
        for bytes in Self.invalid {
            #expect(!UTF8Validator.isValid(bytes), "\(bytes)")
            for split in 0...bytes.count {
                var v = UTF8Validator()
                let ok = v.feed(Array(bytes[..<split])) && v.feed(Array(bytes[split...]))
                #expect(!ok, "\(bytes) split at \(split)")
            }
        }
    }

    @Test func truncatedSequenceIsIncompleteNotInvalid() {
        var v = UTF8Validator()
        let head = v.feed([0xE2, 0x82])
        #expect(head && !v.isComplete)
        let tail = v.feed([0xAC])
        #expect(tail && v.isComplete)
    }

    @Test func failsFastOnTheFirstInvalidByteAfterLongASCII() {
        var bytes = [UInt8](repeating: 0x61, count: 37)
        bytes.append(0xC0)
        var v = UTF8Validator()
        let ok = v.feed(bytes)
        #expect(!ok)
    }
}

@Suite struct JSONTextTests {
    @Test func escapesControlAndQuoteCharacters() {
        #expect(JSONText.quoted("a\"b\\c\n\u{01}") == "\"a\\\"b\\\\c\\n\\u0001\"")
        #expect(JSONText.errorBody(code: "x", message: "y") == "{\"error\":\"x\",\"message\":\"y\"}")
    }
}

@Suite struct JSONScannerTests {
    func valid(_ s: String) -> Bool { JSONScanner.validate(Array(s.utf8)) == nil }

    @Test func acceptsEveryKindOfValue() {
        for s in ["null", "true", " false ", "0", "-0.5e+10", "1E3", "\"\"", "\"a\\u00e9\\n\\\"\"", "[]", "{}",
                  "[1,[2,{\"a\":[]}]]", "{\"a\":{\"b\":null},\"c\":\"κόσμε\"}"] {
            #expect(valid(s), "\(s)")
        }
    }

    @Test func refusesWhatRFC8259Refuses() {
        for s in ["", " ", "nul", "01", "1.", ".5", "1e", "+1", "-", "\"\\x\"", "\"\\u12G4\"", "\"a\u{1}\"", "[1,]", "{\"a\":1,}",
                  "{a:1}", "{\"a\" 1}", "[1 2]", "NaN", "\"unterminated", "1 2", "{\"a\":1}}", "'a'"] {
            #expect(!valid(s), "\(s)")
        }
        #expect(JSONScanner.validate([0x22, 0xC0, 0x80, 0x22]) != nil)   // overlong UTF-8 in a string
    }

    @Test func nestingIsBounded() {
        #expect(valid(String(repeating: "[", count: 63) + String(repeating: "]", count: 63)))
        #expect(!valid(String(repeating: "[", count: 65) + String(repeating: "]", count: 65)))
        #expect(!valid(String(repeating: "[", count: 100_000)))
    }

    @Test func objectMembersReportValueRangesAndUnescapedNames() throws {
        let text = Array(" {\"a\\u0062\" : [1, 2] , \"s\":\"x\\\"y\"} ".utf8)
        let m = try JSONScanner.objectMembers(text).get()
        let r = try #require(m.range(of: "ab"))
        #expect(String(decoding: text[r], as: UTF8.self) == "[1, 2]")
        #expect(JSONScanner.stringValue(text, m.range(of: "s")!) == "x\"y")
        #expect(JSONScanner.stringValue(text, r) == nil)
    }
}
