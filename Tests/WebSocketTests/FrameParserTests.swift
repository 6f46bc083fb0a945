import Testing
import WebSocket

@Suite struct FrameParserRejects {
    @Test func anUnmaskedClientFrameFailsWith1002() {
        #expect(eventsEverySplit([0x81, 0x02, 0x68, 0x69]) == ["violation(1002)"])
    }

    @Test func aMaskedServerFrameFailsWith1002OnTheClient() {
        #expect(eventsEverySplit(clientFrame(1, Array("hi".utf8)), role: .client) == ["violation(1002)"])
    }

    @Test func reservedBitsWithoutAnExtensionFailWith1002() {
        #expect(eventsEverySplit(clientFrame(1, Array("hi".utf8), rsv2: true)) == ["violation(1002)"])
        #expect(eventsEverySplit(clientFrame(1, Array("hi".utf8), rsv1: true)) == ["violation(1002)"])
    }

    @Test func reservedOpcodesFailWith1002() {
        for op: UInt8 in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            #expect(eventsEverySplit(clientFrame(op, [])) == ["violation(1002)"], "opcode \(op)")
        }
    }

    @Test func controlFramesOver125BytesOrFragmentedFailWith1002() {
        #expect(eventsEverySplit(clientFrame(9, [UInt8](repeating: 1, count: 126))) == ["violation(1002)"])
        #expect(eventsEverySplit(clientFrame(9, [1], fin: false)) == ["violation(1002)"])
        #expect(eventsEverySplit(clientFrame(8, [0x03, 0xE8], rsv1: true), makeInflater: { Inflater(resetPerMessage: true) }) == ["violation(1002)"])
    }

    @Test func continuationWithoutAStartFailsWith1002() {
        #expect(eventsEverySplit(clientFrame(0, Array("x".utf8))) == ["violation(1002)"])
    }

    @Test func aNewMessageInsideAFragmentedOneFailsWith1002() {
        #expect(eventsEverySplit(clientFrame(1, Array("a".utf8), fin: false) + clientFrame(1, Array("b".utf8))) == ["violation(1002)"])
    }

    @Test func nonMinimalOrHugeLengthsFailWith1002() {
        #expect(eventsEverySplit([0x82, 0xFE, 0x00, 0x05, 1, 2, 3, 4, 0, 0, 0, 0, 0]) == ["violation(1002)"])
        #expect(eventsEverySplit([0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4]) == ["violation(1002)"])
        #expect(eventsEverySplit([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]) == ["violation(1002)"])
    }

    @Test func anOversizedFrameFailsWith1009BeforeItsPayloadArrives() {
        var limits = WebSocketLimits()
        limits.maxFrameBytes = 1000
        // Header alone (16-bit length 2000, mask): refused without a payload byte.
        #expect(events([[0x82, 0xFE, 0x07, 0xD0, 1, 2, 3, 4]], limits: limits) == ["violation(1009)"])
    }

    @Test func anOversizedMessageAcrossFragmentsFailsWith1009() {
        var limits = WebSocketLimits()
        limits.maxMessageBytes = 10
        let bytes = clientFrame(2, [UInt8](repeating: 0, count: 6), fin: false) + clientFrame(0, [UInt8](repeating: 0, count: 6))
        #expect(eventsEverySplit(bytes, limits: limits) == ["violation(1009)"])
    }

    @Test func tooManyFragmentsFailWith1009() {
        var limits = WebSocketLimits()
        limits.maxFragments = 3
        var bytes = clientFrame(2, [], fin: false)
        for _ in 0..<3 { bytes += clientFrame(0, [], fin: false) }
        #expect(eventsEverySplit(bytes, limits: limits) == ["violation(1009)"])
    }

    @Test func invalidUTF8FailsWith1007AsSoonAsTheBadByteArrives() {
        // The frame announces 20 bytes, but only the first 6 (with an invalid byte) arrive: fail fast.
        let payload: [UInt8] = Array("hello".utf8) + [0xC0] + [UInt8](repeating: 0x61, count: 14)
        let frame = clientFrame(1, payload)
        let header = 6
        #expect(events([Array(frame[..<(header + 6)])]) == ["violation(1007)"])
    }

    @Test func invalidUTF8InALaterFragmentFailsBeforeTheMessageEnds() {
        let bytes = clientFrame(1, Array("κό".utf8), fin: false) + clientFrame(0, [0xED, 0xA0, 0x80], fin: false)
        #expect(eventsEverySplit(bytes) == ["violation(1007)"])
    }

    @Test func aTextMessageEndingInsideACodePointFailsWith1007() {
        #expect(eventsEverySplit(clientFrame(1, [0x61, 0xE2, 0x82])) == ["violation(1007)"])
    }

    @Test func closeFramesWithOneBytePayloadFailWith1002() {
        #expect(eventsEverySplit(clientFrame(8, [0x03])) == ["violation(1002)"])
    }

    @Test func invalidCloseCodesFailWith1002() {
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            #expect(eventsEverySplit(clientFrame(8, [UInt8(code >> 8), UInt8(code & 0xFF)])) == ["violation(1002)"], "code \(code)")
        }
    }

    @Test func aCloseReasonThatIsNotUTF8FailsWith1007() {
        #expect(eventsEverySplit(clientFrame(8, [0x03, 0xE8, 0xFF])) == ["violation(1007)"])
    }

    @Test func nothingIsReadAfterAViolation() {
        var parser = WebSocketParser()
        let bytes = [0x81, 0x00] + clientFrame(1, Array("ok".utf8))
        var offset = 0
        let first = bytes.withUnsafeBytes { parser.next($0, offset: &offset) }
        #expect(describe(first) == "violation(1002)")
        let second = bytes.withUnsafeBytes { parser.next($0, offset: &offset) }
        #expect(describe(second) == "needMore")
    }
}

@Suite struct FrameParserAccepts {
    @Test func rfc6455SingleFrameMaskedText() {
        // RFC 6455 §5.7: a single-frame masked text message containing "Hello".
        #expect(eventsEverySplit([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]) == ["text(Hello)"])
    }

    @Test func rfc6455FragmentedUnmaskedTextOnTheClient() {
        #expect(eventsEverySplit([0x01, 0x03, 0x48, 0x65, 0x6C, 0x80, 0x02, 0x6C, 0x6F], role: .client) == ["text(Hello)"])
    }

    @Test func rfc6455PingAndPong() {
        #expect(eventsEverySplit([0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F], role: .client) == ["ping(5)"])
        #expect(eventsEverySplit([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]) == ["pong(5)"])
    }

    @Test func rfc6455SixteenAndSixtyFourBitLengths() {
        #expect(eventsEverySplit(clientFrame(2, [UInt8](repeating: 7, count: 256))) == ["binary(256)"])
        #expect(events([clientFrame(2, [UInt8](repeating: 7, count: 65536))]) == ["binary(65536)"])
    }

    @Test func controlFramesInterleaveWithFragments() {
        let bytes = clientFrame(1, Array("frag".utf8), fin: false) + clientFrame(9, Array("p".utf8))
            + clientFrame(0, Array("men".utf8), fin: false) + clientFrame(10, []) + clientFrame(0, Array("ted".utf8))
        #expect(eventsEverySplit(bytes) == ["ping(1)", "pong(0)", "text(fragmented)"])
    }

    @Test func aCodePointSplitAcrossFragmentsIsValid() {
        let euro: [UInt8] = [0xE2, 0x82, 0xAC]
        let bytes = clientFrame(1, Array(euro[..<1]), fin: false) + clientFrame(0, Array(euro[1...]))
        #expect(eventsEverySplit(bytes) == ["text(€)"])
    }

    @Test func emptyMessagesAndValidCloseCodes() {
        #expect(eventsEverySplit(clientFrame(1, [])) == ["text()"])
        #expect(eventsEverySplit(clientFrame(8, [])) == ["close(none,)"])
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            #expect(eventsEverySplit(clientFrame(8, [UInt8(code >> 8), UInt8(code & 0xFF)] + Array("bye".utf8))) == ["close(\(code),bye)"])
        }
    }

    @Test func maskingMatchesTheByteByByteDefinitionAtEveryOffset() {
        let data = (0..<67).map { UInt8($0 * 7 & 0xFF) }
        let key: UInt32 = 0xA1B2_C3D4
        let kb: [UInt8] = [0xA1, 0xB2, 0xC3, 0xD4]
        for offset in 0..<8 {
            var fast = data
            fast.withUnsafeMutableBytes { Masking.apply($0, key: key, offset: offset) }
            let slow = data.enumerated().map { $0.element ^ kb[($0.offset + offset) % 4] }
            #expect(fast == slow, "offset \(offset)")
        }
    }
}

@Suite struct FrameEncoding {
    @Test func headerLengthsSwitchAt126And65536() {
        #expect(FrameEncoder.frame(.text, payload: [UInt8](repeating: 0x61, count: 125)).array.prefix(2) == [0x81, 125])
        #expect(FrameEncoder.frame(.binary, payload: [UInt8](repeating: 0, count: 126)).array.prefix(4) == [0x82, 126, 0, 126])
        #expect(FrameEncoder.frame(.binary, payload: [UInt8](repeating: 0, count: 65535)).array.prefix(4) == [0x82, 126, 0xFF, 0xFF])
        #expect(FrameEncoder.frame(.binary, payload: [UInt8](repeating: 0, count: 65536)).array.prefix(10) == [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    @Test func closeReasonsAreCutAtACodePointBoundary() {
        let frame = FrameEncoder.close(.normal, reason: String(repeating: "€", count: 60)).array
        #expect(frame.count <= 127)
        #expect(UTF8ValidatorCheck.valid(Array(frame[4...])))
    }

    @Test func clientFramesRoundTripThroughTheServerParser() {
        let frame = FrameEncoder.frame(.text, payload: Array("round trip".utf8), mask: 0x0102_0304).array
        #expect(eventsEverySplit(frame) == ["text(round trip)"])
    }
}

import HubBytes
enum UTF8ValidatorCheck { static func valid(_ b: [UInt8]) -> Bool { UTF8Validator.isValid(b) } }
