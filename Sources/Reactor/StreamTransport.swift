// The seam between a connection and its byte stream: plain TCP here, TLS in the TLS module.
// Like Redis's connection.h, TLS decorates TCP behind the same calls, so the HTTP and WebSocket
// code never knows which one it talks to.

/// One connection's byte stream. Loop-confined.
public protocol StreamTransport: AnyObject {
    var fd: Int32 { get }
    /// Reads application bytes (decrypted for TLS).
    func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult
    /// Writes from the front of `queue` as far as the socket takes; `.bytes(n)` is how much of the
    /// queue was consumed (the caller calls `queue.consume`).
    func write(from queue: OutputQueue, scratch: WriteScratch) -> IOResult
    /// Application bytes already inside the transport (OpenSSL's buffer): epoll will not report
    /// them, so the connection reads again before going back to sleep.
    var hasBufferedInput: Bool { get }
    /// The transport needs the socket writable to make progress (TLS handshake or WANT_WRITE).
    var needsWritable: Bool { get }
    /// The last write could not proceed until bytes are read (TLS handshake or WANT_READ): the
    /// connection retries the flush after its next read instead of waiting for EPOLLOUT, which
    /// would fire at once and spin.
    var writeNeedsReadable: Bool { get }
    /// Sends end-of-stream (TLS close_notify, then TCP FIN) after the output is flushed.
    func shutdownWrite()
    func close()
}

/// Per-loop scratch memory for the write path, reused by every connection of the loop.
public final class WriteScratch {
    public static let maxIOVecs = 64
    public let iovecs: UnsafeMutablePointer<iovec>
    /// TLS record coalescing buffer (one maximum-size record).
    public let record: UnsafeMutableRawBufferPointer

    public init() {
        iovecs = .allocate(capacity: Self.maxIOVecs)
        record = .allocate(byteCount: 16 * 1024, alignment: 16)
    }

    deinit {
        iovecs.deallocate()
        record.deallocate()
    }
}

import CSystemShims
import Glibc

/// Plain TCP.
public final class TCPTransport: StreamTransport {
    public let fd: Int32
    private var closed = false

    public init(fd: Int32) { self.fd = fd }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        let n = hub_read(fd, buffer.baseAddress, buffer.count)
        if n > 0 { return .bytes(n) }
        if n == 0 { return .closed }
        return Self.classify(hub_errno())
    }

    public func write(from queue: OutputQueue, scratch: WriteScratch) -> IOResult {
        let count = queue.fill(scratch.iovecs, max: WriteScratch.maxIOVecs)
        guard count > 0 else { return .bytes(0) }
        let n = hub_writev(fd, scratch.iovecs, Int32(count))
        if n >= 0 { return .bytes(n) }
        return Self.classify(hub_errno())
    }

    public var hasBufferedInput: Bool { false }
    public var needsWritable: Bool { false }
    public var writeNeedsReadable: Bool { false }

    public func shutdownWrite() { _ = hub_shutdown_write(fd) }

    public func close() {
        guard !closed else { return }
        closed = true
        _ = hub_close(fd)
    }

    /// One best-effort send on a socket not (yet) owned by a connection (refusals at accept).
    public static func sendNow(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
        _ = hub_send(fd, bytes.baseAddress, bytes.count)
    }

    static func classify(_ err: Int32) -> IOResult {
        switch err {
        case EAGAIN, EWOULDBLOCK: return .wouldBlock
        case EPIPE, ECONNRESET, ENOTCONN, ETIMEDOUT: return .closed
        default: return .failed(err)
        }
    }
}
