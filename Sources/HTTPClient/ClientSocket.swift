// One outgoing connection on a loop: non-blocking TCP connect, then plain bytes or TLS (the TLS
// module's transport in client mode: SNI, certificate verification), corked writes, reads handed
// to the owner. The HTTP and WebSocket clients own one each, and so does the Redis client
// (RedisClient), which is why it is public. Loop-confined.
import CSystemShims
import Glibc
import HubBytes
import Reactor
import TLS

/// Where to connect, resolved, and whether to speak TLS there.
public struct Endpoint: Sendable {
    public var address: String
    public var port: Int
    /// With TLS: the client context and the name the certificate must carry.
    public var tls: (context: TLSContext, serverName: String)?

    public init(address: String, port: Int, tls: (context: TLSContext, serverName: String)? = nil) {
        self.address = address; self.port = port; self.tls = tls
    }
}

public final class ClientSocket: IOHandler {
    public let loop: EventLoop
    public let fd: Int32
    private let transport: StreamTransport
    private let tls: TLSTransport?
    private var output = OutputQueue()
    private var interest: UInt32 = IOEvents.readable | IOEvents.writable
    private var flushRequested = false
    public private(set) var connected = false
    public private(set) var closed = false

    public var onConnected: (() -> Void)?
    public var onBytes: ((UnsafeRawBufferPointer) -> Void)?
    /// Called once when the socket ends: nil for an orderly close by the peer, else the reason.
    public var onClosed: ((String?) -> Void)?

    /// Resolves `host` (blocking: call off the loop) to an IPv4 literal.
    public static func resolve(_ host: String) throws(HTTPClientError) -> String {
        if host == "localhost" { return "127.0.0.1" }
        var out = [CChar](repeating: 0, count: 64)
        let rc = hub_resolve_ipv4(host, &out, 64)
        guard rc == 0 else { throw .connectFailed("cannot resolve \(host)") }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public init(loop: EventLoop, endpoint: Endpoint) throws(HTTPClientError) {
        self.loop = loop
        do { fd = try Connector.connect(host: endpoint.address, port: endpoint.port) } catch {
            throw .connectFailed("\(endpoint.address):\(endpoint.port): \(error)")
        }
        if let (context, name) = endpoint.tls {
            do { tls = try TLSTransport(fd: fd, clientContext: context, serverName: name) } catch {
                TCPTransport(fd: fd).close()
                throw .connectFailed("TLS: \(error)")
            }
            transport = tls!
        } else {
            tls = nil
            transport = TCPTransport(fd: fd)
        }
        do { try loop.register(fd, self, events: interest) } catch {
            transport.close()
            throw .connectFailed("\(error)")
        }
    }

    /// A failure during the TLS handshake, in words (an unverifiable certificate, mostly).
    private func describe(_ err: Int32) -> String {
        if let tls, !tls.isHandshakeComplete {
            return "TLS handshake failed" + (tls.verificationError.map { ": certificate \($0)" } ?? "")
        }
        return String(cString: strerror(err))
    }

    public func handleEvents(_ events: UInt32) {
        if !connected {
            let err = hub_socket_error(fd)
            if err != 0 || events & (IOEvents.error | IOEvents.hangup) != 0 && events & IOEvents.readable == 0 {
                close(reason: "connect: \(String(cString: strerror(err == 0 ? ECONNREFUSED : err)))")
                return
            }
            guard events & IOEvents.writable != 0 else { return }
            connected = true
            onConnected?()
            if closed { return }
            flushQueuedOutput()
        }
        if events & IOEvents.writable != 0, !output.isEmpty || transport.needsWritable { flushQueuedOutput() }
        if events & (IOEvents.readable | IOEvents.hangup | IOEvents.error) != 0 {
            readAll()
            // TLS: a write that waited for the handshake (or a renegotiation read) can go on now.
            if !closed, transport.writeNeedsReadable || (tls != nil && !output.isEmpty) { flushQueuedOutput() }
        }
    }

    private func readAll() {
        let buffer = loop.receiveBuffer
        while !closed {
            switch transport.read(into: buffer) {
            case .bytes(let n): onBytes?(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            case .wouldBlock:
                // OpenSSL may hold decrypted bytes epoll cannot see.
                if transport.hasBufferedInput { continue }
                return
            case .closed:
                if let tls, !tls.isHandshakeComplete { close(reason: describe(0)); return }
                close(reason: nil)
                return
            case .failed(let e): close(reason: describe(e)); return
            }
        }
    }

    public func send(_ bytes: OutboundBytes) {
        guard !closed else { return }
        output.append(bytes)
        if connected && !flushRequested {
            flushRequested = true
            loop.requestFlush(self)
        }
    }

    public func flushQueuedOutput() {
        flushRequested = false
        guard connected, !closed else { return }
        while !output.isEmpty {
            switch transport.write(from: output, scratch: loop.writeScratch) {
            case .bytes(let n): output.consume(n)
            case .wouldBlock:
                // TLS waiting for the peer's handshake bytes needs readable only (EPOLLOUT would spin).
                setInterest(transport.writeNeedsReadable ? IOEvents.readable : IOEvents.readable | IOEvents.writable)
                return
            case .closed: close(reason: describe(EPIPE)); return
            case .failed(let e): close(reason: describe(e)); return
            }
        }
        setInterest(IOEvents.readable)
    }

    private func setInterest(_ events: UInt32) {
        if events != interest { interest = events; loop.modify(fd, events: events) }
    }

    public func close(reason: String?) {
        guard !closed else { return }
        closed = true
        loop.deregister(fd)
        transport.close()
        output.removeAll()
        let done = onClosed
        onClosed = nil
        onBytes = nil
        onConnected = nil
        done?(reason)
    }
}
