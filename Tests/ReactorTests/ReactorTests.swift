import Testing
import HubBytes
@testable import Reactor

@Suite struct TimerQueueTests {
    @Test func firesInDeadlineOrderAndSkipsCancelled() {
        var q = TimerQueue()
        nonisolated(unsafe) var fired: [Int] = []
        _ = q.schedule(at: 30) { fired.append(3) }
        let b = q.schedule(at: 20) { fired.append(2) }
        _ = q.schedule(at: 10) { fired.append(1) }
        _ = q.schedule(at: 40) { fired.append(4) }
        q.cancel(b)
        #expect(q.nextDeadline() == 10)
        for a in q.takeDue(now: 35) { a() }
        #expect(fired == [1, 3])
        #expect(q.nextDeadline() == 40)
        #expect(q.count == 1)
    }
}

@Suite struct OutputQueueTests {
    @Test func partialWritesResumeMidChunk() {
        var q = OutputQueue()
        q.append(OutboundBytes("hello "))
        q.append(OutboundBytes("world"))
        #expect(q.queuedBytes == 11)
        q.consume(3)
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { buf.deallocate() }
        let n = q.copyPrefix(into: buf)
        #expect(String(decoding: UnsafeRawBufferPointer(rebasing: buf[0..<n]), as: UTF8.self) == "lo world")
        q.consume(8)
        #expect(q.isEmpty)
    }

    @Test func sharedChunksCanBeQueuedOnManyConnections() {
        let frame = OutboundBytes("shared")
        var a = OutputQueue(), b = OutputQueue()
        a.append(frame); b.append(frame)
        a.consume(6)
        #expect(a.isEmpty)
        #expect(b.queuedBytes == 6)
    }
}

import HubServer
import HTTP1

@Suite struct RouterMatching {
    let router: Router = {
        var r = Router()
        r.add("/healthz", .http(methods: ["GET"]) { _, _ in HTTPResponse(status: 200) })
        r.add("/v1/outcomes/{key}", .http(methods: ["GET"]) { _, _ in HTTPResponse(status: 201) })
        return r
    }()

    @Test func exactPathsAndTemplatesCaptureOneSegment() {
        #expect(router.match("/healthz") != nil)
        #expect(router.match("/v1/outcomes/order-42")?.1 == ["key": "order-42"])
        for miss in ["/v1/outcomes/", "/v1/outcomes", "/v1/outcomes/a/b", "/v1/outcome/a", "/v2/outcomes/a", "/healthz/", "//v1/outcomes/a"] {
            #expect(router.match(Substring(miss)) == nil, "\(miss)")
        }
    }
}

@Suite struct HeaderNames {
    @Test func compareCaseInsensitivelyForLettersOnly() {
        var h = HTTPHeaders()
        h.add("content-LENGTH", "5")
        #expect(h["Content-Length"] == "5")
        var other = HTTPHeaders()
        other.add("X-A", "1")
        #expect(other["x-a"] == "1" && other["X_A"] == nil && other["x-b"] == nil)
    }
}
