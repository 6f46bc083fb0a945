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
