// TLS over a non-blocking TCP socket, behind the reactor's StreamTransport.
//
//   read:  SSL_read ─▶ WANT_READ: wait readable · WANT_WRITE: wait writable (needsWritable)
//   write: queue ─▶ coalesce ≤16 KiB ─▶ SSL_write (partial writes on) ─▶ WANT_*: retry with the same bytes
//
// The handshake runs inside the first reads/writes (accept or connect state, via SSL_do_handshake).
// OpenSSL may hold decrypted bytes that epoll cannot see: `hasBufferedInput` (SSL_pending) tells
// the connection to read again before sleeping.
import COpenSSL
import Glibc
import Reactor

public final class TLSTransport: StreamTransport {
    public let fd: Int32
    private let ssl: OpaquePointer
    private var handshakeDone = false
    private var closed = false
    public private(set) var needsWritable = false
    public private(set) var writeNeedsReadable = false

    public init(fd: Int32, context: TLSContext) throws(TLSError) {
        guard let ssl = SSL_new(context.ctx) else { throw TLSError("SSL_new") }
        self.fd = fd
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
    }

    /// Client side: connects to `serverName` (sent as SNI, and what the certificate must name;
    /// an IPv4 literal is matched against the certificate's IP addresses).
    public init(fd: Int32, clientContext context: TLSContext, serverName: String) throws(TLSError) {
        guard let ssl = SSL_new(context.ctx) else { throw TLSError("SSL_new") }
        self.fd = fd
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        SSL_set_connect_state(ssl)
        let isIP = serverName.split(separator: ".").count == 4 && serverName.allSatisfy { $0.isNumber || $0 == "." }
        guard hub_ssl_set_server_name(ssl, serverName, isIP ? 1 : 0) == 1 else { throw TLSError("setting the server name \(serverName)") }
    }

    deinit { SSL_free(ssl) }

    /// Why the peer's certificate was refused, if it was.
    public var verificationError: String? {
        hub_ssl_verify_error(ssl).map { String(cString: $0) }
    }

    public var isHandshakeComplete: Bool { handshakeDone }

    /// The ALPN protocol agreed, if any.
    public var alpn: String? {
        var data: UnsafePointer<UInt8>?
        var len: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &len)
        guard let data, len > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(len)), as: UTF8.self)
    }

    private func handshake() -> IOResult? {
        if handshakeDone { return nil }
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { handshakeDone = true; needsWritable = false; return nil }
        return classify(rc)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        if let pending = handshake() { return pending }
        ERR_clear_error()
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { needsWritable = false; return .bytes(Int(n)) }
        return classify(n)
    }

    public func write(from queue: OutputQueue, scratch: WriteScratch) -> IOResult {
        if let pending = handshake() {
            // Still handshaking: nothing written; wait for whichever readiness OpenSSL asked for.
            writeNeedsReadable = !needsWritable
            return pending
        }
        let count = queue.copyPrefix(into: scratch.record)
        guard count > 0 else { return .bytes(0) }
        ERR_clear_error()
        let n = SSL_write(ssl, scratch.record.baseAddress, Int32(count))
        if n > 0 { needsWritable = false; writeNeedsReadable = false; return .bytes(Int(n)) }
        let result = classify(n)
        writeNeedsReadable = result == .wouldBlock && !needsWritable
        return result
    }

    private func classify(_ rc: Int32) -> IOResult {
        let err = SSL_get_error(ssl, rc)
        switch err {
        case SSL_ERROR_WANT_READ:
            needsWritable = false
            return .wouldBlock
        case SSL_ERROR_WANT_WRITE:
            needsWritable = true
            return .wouldBlock
        case SSL_ERROR_ZERO_RETURN:
            return .closed
        case SSL_ERROR_SYSCALL:
            let e = errno
            if e == EAGAIN { return .wouldBlock }
            return .closed
        default:
            return .failed(Int32(err))
        }
    }

    public var hasBufferedInput: Bool { handshakeDone && SSL_pending(ssl) > 0 }

    public func shutdownWrite() {
        // close_notify, without waiting for the peer's (RFC 8446 §6.1 allows a unidirectional close).
        if handshakeDone { ERR_clear_error(); _ = SSL_shutdown(ssl) }
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }
}
