import Testing
import WebSocket

@Suite struct PermessageDeflate {
    func inflate(_ bytes: [UInt8], _ inflater: Inflater = Inflater(resetPerMessage: true), max: Int = 1 << 20) -> String? {
        if case .success(let out) = inflater.inflateMessage(bytes, maxOutput: max) { return String(decoding: out, as: UTF8.self) }
        return nil
    }

    @Test func rfc7692Section7_2_3_1HelloInOneBlock() {
        #expect(inflate([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]) == "Hello")
    }

    @Test func rfc7692Section7_2_3_2SharingTheWindowAcrossMessages() {
        let shared = Inflater(resetPerMessage: false)
        #expect(inflate([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], shared) == "Hello")
        #expect(inflate([0xF2, 0x00, 0x11, 0x00, 0x00], shared) == "Hello")
    }

    @Test func rfc7692Section7_2_3_3StoredBlock() {
        #expect(inflate([0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00]) == "Hello")
    }

    @Test func rfc7692Section7_2_3_4FinalBlockSet() {
        #expect(inflate([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00]) == "Hello")
    }

    @Test func rfc7692Section7_2_3_5TwoBlocks() {
        #expect(inflate([0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA, 0xC9, 0xC9, 0x07, 0x00]) == "Hello")
    }

    @Test func rfc7692Section7_2_3_1FramesOnTheClientSideWholeAndFragmented() {
        let inflater = { Inflater(resetPerMessage: true) as Inflater? }
        #expect(eventsEverySplit([0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], role: .client, makeInflater: inflater) == ["text(Hello)"])
        #expect(eventsEverySplit([0x41, 0x03, 0xF2, 0x48, 0xCD, 0x80, 0x04, 0xC9, 0xC9, 0x07, 0x00], role: .client, makeInflater: inflater) == ["text(Hello)"])
    }

    @Test func rsv1OnAContinuationFrameFailsWith1002() {
        let bytes = clientFrame(1, [0xF2, 0x48], fin: false, rsv1: true) + clientFrame(0, [0xCD], rsv1: true)
        #expect(eventsEverySplit(bytes, makeInflater: { Inflater(resetPerMessage: true) }) == ["violation(1002)"])
    }

    @Test func aDecompressionBombFailsWith1009() {
        let deflater = Deflater(resetPerMessage: true)
        let bomb = deflater.compressMessage([UInt8](repeating: 0, count: 4 << 20))
        #expect(bomb.count < 10_000)
        var limits = WebSocketLimits()
        limits.maxMessageBytes = 1 << 20
        #expect(events([clientFrame(2, bomb, rsv1: true)], limits: limits, inflater: Inflater(resetPerMessage: true)) == ["violation(1009)"])
    }

    @Test func corruptDeflateDataFailsWith1007() {
        #expect(events([clientFrame(2, [0xFF, 0xFF, 0xFF, 0xFF], rsv1: true)], inflater: Inflater(resetPerMessage: true)) == ["violation(1007)"])
    }

    @Test func compressedTextIsCheckedForUTF8AfterInflation() {
        let bad = Deflater(resetPerMessage: true).compressMessage([0x61, 0xC0, 0x80])
        #expect(events([clientFrame(1, bad, rsv1: true)], inflater: Inflater(resetPerMessage: true)) == ["violation(1007)"])
    }

    @Test func deflaterRoundTripsAndSendsEmptyMessagesAsOneZeroByte() {
        let deflater = Deflater(resetPerMessage: true)
        let inflater = Inflater(resetPerMessage: true)
        for text in ["", "a", String(repeating: "outcome ", count: 500)] {
            let c = deflater.compressMessage(Array(text.utf8))
            #expect(inflate(c, inflater) == text)
            if text.isEmpty { #expect(c == [0x00]) }
        }
    }
}

@Suite struct DeflateNegotiationRules {
    func negotiate(_ header: String, config: DeflateConfig = DeflateConfig()) -> DeflateParameters? {
        DeflateNegotiation.negotiate([header], config: config)
    }

    @Test func aPlainOfferIsAcceptedWithoutContextTakeover() {
        let p = negotiate("permessage-deflate")
        #expect(p?.responseHeader == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    }

    @Test func theBareClientMaxWindowBitsOfferIsAccepted() {
        let p = negotiate("permessage-deflate; client_max_window_bits")
        #expect(p != nil)
        #expect(p?.clientMaxWindowBits == 15)
    }

    @Test func serverMaxWindowBitsIsHonoredAndEchoed() {
        let p = negotiate("permessage-deflate; server_max_window_bits=10")
        #expect(p?.serverMaxWindowBits == 10)
        #expect(p?.responseHeader.contains("server_max_window_bits=10") == true)
        #expect(negotiate("permessage-deflate; server_max_window_bits=\"12\"")?.serverMaxWindowBits == 12)
    }

    @Test func an8BitServerWindowIsAcceptedButNothingIsCompressedOutgoing() {
        let p = negotiate("permessage-deflate; server_max_window_bits=8")
        #expect(p?.responseHeader.contains("server_max_window_bits=8") == true)
        #expect(p?.compressesOutgoing == false)
        #expect(negotiate("permessage-deflate")?.compressesOutgoing == true)
    }

    @Test func offersWeCannotHonorAreDeclinedAndTheNextIsTried() {
        #expect(negotiate("permessage-deflate; server_max_window_bits=16") == nil)
        #expect(negotiate("permessage-deflate; server_max_window_bits=08") == nil)
        #expect(negotiate("permessage-deflate; server_max_window_bits") == nil)
        #expect(negotiate("permessage-deflate; client_max_window_bits=7") == nil)
        #expect(negotiate("permessage-deflate; unknown_param") == nil)
        #expect(negotiate("permessage-deflate; server_no_context_takeover; server_no_context_takeover") == nil)
        #expect(negotiate("permessage-deflate; server_no_context_takeover=1") == nil)
        let second = negotiate("permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits=12")
        #expect(second?.clientMaxWindowBits == 12)
        #expect(second?.responseHeader.contains("client_max_window_bits=12") == true)
    }

    @Test func otherExtensionsAreIgnoredAndDisabledDeflateNegotiatesNothing() {
        #expect(negotiate("x-webkit-deflate-frame, permessage-deflate") != nil)
        var off = DeflateConfig()
        off.enabled = false
        #expect(negotiate("permessage-deflate", config: off) == nil)
    }

    @Test func clientContextTakeoverIsKeptWhenAllowed() {
        var config = DeflateConfig()
        config.allowClientContextTakeover = true
        let p = negotiate("permessage-deflate", config: config)
        #expect(p?.clientNoContextTakeover == false)
        #expect(p?.responseHeader == "permessage-deflate; server_no_context_takeover")
    }
}
