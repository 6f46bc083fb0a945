// One benchmark WebSocket client on the reactor, built from the same codecs the server uses
// (client role: masked frames out, unmasked frames in). Loopback only.
import HTTP1
import HubBytes
import Reactor
import WebSocket

final class BenchClient: IOHandler {
    enum Mode { case echo(payload: [UInt8]), idle }

    let fd: Int32
    let loop: EventLoop
    let transport: TCPTransport
    let mode: Mode
    let report: BenchReport
    private var output = OutputQueue()
    private var handshakeBuffer: [UInt8] = []
    private var parser = WebSocketParser(role: .client)
    private var open = false
    private var sentAt: UInt64 = 0
    private var interest: UInt32 = IOEvents.writable
    private var flushRequested = false
    private var mask: UInt32 = 0x1234_5678
    var stopped = false

    init(loop: EventLoop, host: String, port: Int, path: String, mode: Mode, report: BenchReport) throws {
        fd = try Connector.connect(host: host, port: port)
        self.loop = loop
        self.transport = TCPTransport(fd: fd)
        self.mode = mode
        self.report = report
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Base64.encode((0..<16).map { _ in UInt8.random(in: 0...255) }))\r\nSec-WebSocket-Version: 13\r\n\r\n"
        output.append(OutboundBytes(request))
        try loop.register(fd, self, events: IOEvents.writable | IOEvents.readable)
    }

    func handleEvents(_ events: UInt32) {
        if events & IOEvents.writable != 0 { flushQueuedOutput() }
        if events & (IOEvents.readable | IOEvents.hangup | IOEvents.error) != 0 { readAll() }
    }

    private func readAll() {
        let buffer = loop.receiveBuffer
        while !stopped {
            switch transport.read(into: buffer) {
            case .bytes(let n): received(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            case .wouldBlock: return
            case .closed, .failed:
                fail()
                return
            }
        }
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        var leftover: [UInt8] = []
        if !open {
            handshakeBuffer.append(contentsOf: bytes)
            guard let end = findHeadEnd(handshakeBuffer) else { return }
            guard handshakeBuffer.starts(with: Array("HTTP/1.1 101".utf8)) else { fail(); return }
            open = true
            report.established += 1
            leftover = Array(handshakeBuffer[(end + 4)...])
            handshakeBuffer = []
            if case .echo = mode { sendNext() }
            if leftover.isEmpty { return }
        }
        if !leftover.isEmpty {
            leftover.withUnsafeBytes { consume($0) }
        } else {
            consume(bytes)
        }
    }

    private func consume(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while true {
            switch parser.next(bytes, offset: &offset) {
            case .needMore: return
            case .message:
                report.record(latencyNs: loop.now &- sentAt)
                if !stopped { sendNext() }
            case .ping(let p): enqueue(FrameEncoder.frame(.pong, payload: p, mask: nextMask()))
            case .pong: break
            case .close, .violation: fail(); return
            }
        }
    }

    private func sendNext() {
        guard case .echo(let payload) = mode else { return }
        sentAt = HubClock.monotonicNanoseconds
        enqueue(FrameEncoder.frame(.binary, payload: payload, mask: nextMask()))
    }

    private func nextMask() -> UInt32 {
        mask = mask &* 1_664_525 &+ 1_013_904_223
        return mask
    }

    private func enqueue(_ bytes: OutboundBytes) {
        output.append(bytes)
        if !flushRequested { flushRequested = true; loop.requestFlush(self) }
    }

    func flushQueuedOutput() {
        flushRequested = false
        while !output.isEmpty {
            switch transport.write(from: output, scratch: loop.writeScratch) {
            case .bytes(let n): output.consume(n)
            case .wouldBlock: setInterest(IOEvents.readable | IOEvents.writable); return
            case .closed, .failed: fail(); return
            }
        }
        setInterest(IOEvents.readable)
    }

    private func setInterest(_ events: UInt32) {
        if events != interest { interest = events; loop.modify(fd, events: events) }
    }

    private func fail() {
        guard !stopped else { return }
        stopped = true
        report.failed += 1
        close()
    }

    func close() {
        stopped = true
        loop.deregister(fd)
        transport.close()
    }

    private func findHeadEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }
}

/// Counters and a latency histogram for one benchmark run (one loop thread writes it).
final class BenchReport {
    var established = 0
    var failed = 0
    var messages = 0
    /// The server's CPU ticks when measuring began (echo with --server-pid).
    var serverTicksAtStart: Int?
    /// Latency buckets of 1 µs up to 100 ms.
    private var buckets = [Int](repeating: 0, count: 100_001)

    func record(latencyNs: UInt64) {
        messages += 1
        buckets[min(Int(latencyNs / 1000), buckets.count - 1)] += 1
    }

    func percentile(_ p: Double) -> Int {
        let target = Int(Double(messages) * p)
        var seen = 0
        for (us, n) in buckets.enumerated() {
            seen += n
            if seen > target { return us }
        }
        return buckets.count - 1
    }

    func reset() {
        messages = 0
        for i in buckets.indices { buckets[i] = 0 }
    }
}
