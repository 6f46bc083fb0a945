import Testing
@testable import RESP

/// Parses `bytes` fed in one piece, and again split at every offset, and checks both give `expected`.
func parsesAtEverySplit(_ text: String, _ expected: [RESPValue]) throws {
    try parsesAtEverySplit(Array(text.utf8), expected)
}

func parsesAtEverySplit(_ bytes: [UInt8], _ expected: [RESPValue]) throws {
    for cut in 0...bytes.count {
        var parser = RESPParser()
        var got: [RESPValue] = []
        parser.feed(bytes[..<cut])
        while let v = try parser.next() { got.append(v) }
        parser.feed(bytes[cut...])
        while let v = try parser.next() { got.append(v) }
        #expect(got == expected, "split at \(cut)")
        #expect(parser.bufferedBytes == 0)
    }
}

func refusal(_ text: String, limits: RESPLimits = RESPLimits()) -> RESPError? {
    var parser = RESPParser(limits: limits)
    parser.feed(Array(text.utf8))
    do {
        while try parser.next() != nil {}
        return nil
    } catch {
        return error
    }
}

@Suite struct RESPParsing {
    @Test func everyRESP3TypeParsesWholeAndSplitAnywhere() throws {
        try parsesAtEverySplit("+OK\r\n-ERR unknown command\r\n:0\r\n:-42\r\n:+7\r\n", [
            .simpleString("OK"), .error("ERR unknown command"), .integer(0), .integer(-42), .integer(7)])
        try parsesAtEverySplit("$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n_\r\n", [.bulkString(Array("hello".utf8)), .bulkString([]), .null, .null, .null])
        try parsesAtEverySplit("#t\r\n#f\r\n,1.5\r\n,-0.25e3\r\n,inf\r\n,-inf\r\n(3492890328409238509324850943850943825024385\r\n", [
            .boolean(true), .boolean(false), .double(1.5), .double(-250), .double(.infinity), .double(-.infinity),
            .bigNumber("3492890328409238509324850943850943825024385")])
        try parsesAtEverySplit("!21\r\nSYNTAX invalid syntax\r\n=15\r\ntxt:Some string\r\n", [
            .bulkError("SYNTAX invalid syntax"), .verbatim(format: "txt", text: Array("Some string".utf8))])
        try parsesAtEverySplit("*3\r\n:1\r\n$1\r\na\r\n*1\r\n#t\r\n", [.array([.integer(1), .bulkString([97]), .array([.boolean(true)])])])
        try parsesAtEverySplit("%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n:2\r\n~2\r\n+a\r\n+b\r\n", [
            .map([RESPPair(.simpleString("first"), .integer(1)), RESPPair(.bulkString(Array("second".utf8)), .integer(2))]),
            .set([.simpleString("a"), .simpleString("b")])])
        try parsesAtEverySplit(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhi!\r\n*0\r\n", [
            .push([.bulkString(Array("message".utf8)), .bulkString(Array("ch".utf8)), .bulkString(Array("hi!".utf8))]), .array([])])
    }

    @Test func attributesAreReadAndDropped() throws {
        try parsesAtEverySplit("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2\r\n", [.array([.integer(2)])])
    }

    @Test func bulkStringsAreBinarySafe() throws {
        var parser = RESPParser()
        parser.feed(Array("$4\r\n".utf8) + [13, 10, 0, 255] + [13, 10])
        #expect(try parser.next() == .bulkString([13, 10, 0, 255]))
    }

    @Test func extremeIntegersParseAndOverflowIsRefused() throws {
        try parsesAtEverySplit(":9223372036854775807\r\n:-9223372036854775808\r\n", [.integer(.max), .integer(.min)])
        #expect(refusal(":9223372036854775808\r\n") == .invalidInteger)
        #expect(refusal(":-9223372036854775809\r\n") == .invalidInteger)
        #expect(refusal(":12a\r\n") == .invalidInteger)
        #expect(refusal(":\r\n") == .invalidInteger)
        #expect(refusal(":-\r\n") == .invalidInteger)
    }

    @Test func malformedInputIsRefusedWithATypedError() {
        #expect(refusal("?x\r\n") == .unknownType(UInt8(ascii: "?")))
        #expect(refusal("+OK\n") == .missingLineEnd)
        #expect(refusal("+OK\rX") == .missingLineEnd)
        #expect(refusal("$3\r\nabcd\r\n") == .missingLineEnd)
        #expect(refusal("$-2\r\n") == .invalidLength)
        #expect(refusal("$ 3\r\nabc\r\n") == .invalidLength)
        #expect(refusal("~-1\r\n") == .invalidLength)
        #expect(refusal("#x\r\n") == .invalidBoolean)
        #expect(refusal(",0x10\r\n") == .invalidDouble)
        #expect(refusal(",infinity\r\n") == .invalidDouble)
        #expect(refusal("(12.5\r\n") == .invalidBigNumber)
        #expect(refusal("=3\r\ntxt\r\n") == .invalidVerbatim)
        #expect(refusal("_x\r\n") == .missingLineEnd)
        #expect(refusal("+\u{FF}\r\n") == nil)   // U+00FF is valid UTF-8 as text; raw 0xFF is not:
        var parser = RESPParser()
        parser.feed([UInt8(ascii: "+"), 0xFF, 13, 10])
        #expect(throws: RESPError.invalidUTF8) { try parser.next() }
    }

    /// Found by the fuzzer: "+OK" then "\n" waited for a fifth byte instead of refusing the bare LF.
    @Test func aBareLineFeedIsRefusedWhateverTheSplit() {
        let bytes = Array("+OK\n".utf8)
        for cut in 0...bytes.count {
            var parser = RESPParser()
            parser.feed(bytes[..<cut])
            _ = try? parser.next()
            parser.feed(bytes[cut...])
            #expect(throws: RESPError.missingLineEnd) { try parser.next() }
        }
    }

    @Test func aFailedStreamStaysFailed() throws {
        var parser = RESPParser()
        parser.feed(Array("?\r\n+OK\r\n".utf8))
        #expect(throws: RESPError.unknownType(UInt8(ascii: "?"))) { try parser.next() }
        #expect(throws: RESPError.unknownType(UInt8(ascii: "?"))) { try parser.next() }
    }

    @Test func limitsBoundWhatThePeerCanMakeUsHold() {
        var limits = RESPLimits()
        limits.maxBulkBytes = 10
        limits.maxElements = 4
        limits.maxDepth = 3
        limits.maxLineBytes = 8
        #expect(refusal("$11\r\n", limits: limits) == .bulkTooLarge(10))          // refused before the body arrives
        #expect(refusal("*5\r\n", limits: limits) == .tooManyElements(4))
        #expect(refusal("%3\r\n", limits: limits) == .tooManyElements(4))          // pairs count twice
        #expect(refusal("*999999999999999999\r\n") == .tooManyElements(RESPLimits().maxElements))
        #expect(refusal("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", limits: limits) == .tooDeep(3))
        #expect(refusal("+123456789", limits: limits) == .lineTooLong(8))         // no line end in sight
        #expect(refusal("+12345678\r\n", limits: limits) == nil)
        #expect(refusal("*1000000\r\n") == nil)                                    // only incomplete: nothing reserved up front
    }

    @Test func aLargeBulkStringInManyReadsIsNotReparsedEachTime() throws {
        let body = [UInt8](repeating: 120, count: 1 << 20)
        let bytes = Array("$\(body.count)\r\n".utf8) + body + [13, 10]
        var parser = RESPParser()
        var got: RESPValue?
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 1000)
            parser.feed(bytes[offset..<end])
            offset = end
            if let v = try parser.next() { got = v }
        }
        #expect(got == .bulkString(body))
    }

    @Test func everyEncodedValueParsesBackToItself() throws {
        let values: [RESPValue] = [
            .simpleString("OK"), .error("WRONGTYPE Operation"), .integer(-1), .bulkString([0, 13, 10, 255]), .null,
            .array([.integer(1), .array([]), .null]), .boolean(false), .double(3.25), .double(-.infinity), .bigNumber("-123"),
            .bulkError("SYNTAX"), .verbatim(format: "mkd", text: Array("# title".utf8)),
            .map([RESPPair(.simpleString("server"), .bulkString(Array("redis".utf8)))]), .set([.integer(3)]),
            .push([.bulkString(Array("smessage".utf8)), .bulkString(Array("{k}".utf8)), .bulkString(Array("x".utf8))]),
        ]
        var bytes: [UInt8] = []
        for v in values { RESPEncoder.append(v, to: &bytes) }
        try parsesAtEverySplit(bytes, values)
        var parser = RESPParser()
        parser.feed(RESPEncoder.encode(.double(.nan)))
        guard case .double(let d) = try parser.next() else { Issue.record("not a double"); return }
        #expect(d.isNaN)
    }

    @Test func commandsAreArraysOfBulkStrings() {
        #expect(RESPEncoder.command("SET", "k", "v") == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".utf8))
        #expect(RESPEncoder.command([Array("GET".utf8), [0, 13, 10]]) == Array("*2\r\n$3\r\nGET\r\n$3\r\n".utf8) + [0, 13, 10, 13, 10])
    }
}
