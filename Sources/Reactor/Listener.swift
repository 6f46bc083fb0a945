// A listening socket on one event loop. With several loops each gets its own socket on the same
// port (SO_REUSEPORT) and the kernel spreads new connections between them: no hand-off, no lock.
//
// EMFILE/ENFILE: the pending connection cannot be accepted, so level-triggered epoll would wake
// us again at once (a busy loop). We keep one spare descriptor: on EMFILE we close it, accept the
// connection and close that at once (the client sees a reset instead of a hang), then reopen the
// spare; if even that fails, the listener pauses for 100 ms.
import CSystemShims
import Glibc

public final class Listener: IOHandler {
    public let fd: Int32
    public let port: Int
    private unowned let loop: EventLoop
    private let onAccept: (Int32, String) -> Void
    private var spareFD: Int32
    private var paused = false
    /// Connections accepted per readiness event, so one busy listener cannot starve the loop.
    private let acceptBatch = 64

    /// Binds and listens. `port` 0 picks an ephemeral port (see `port`).
    public init(loop: EventLoop, host: String, port: Int, backlog: Int = 1024, reusePort: Bool,
                onAccept: @escaping (Int32, String) -> Void) throws(ReactorError) {
        let fd = hub_listen_tcp(host, Int32(port), Int32(backlog), reusePort ? 1 : 0)
        if fd == -EINVAL { throw .invalidAddress(host) }
        guard fd >= 0 else { throw .system("listen on \(host):\(port)", -fd) }
        self.fd = fd
        self.port = Int(hub_local_port(fd))
        self.loop = loop
        self.onAccept = onAccept
        spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        try loop.register(fd, self, events: IOEvents.readable)
    }

    public func handleEvents(_ events: UInt32) {
        guard !paused else { return }
        var peer = [CChar](repeating: 0, count: 64)
        for _ in 0..<acceptBatch {
            let cfd = hub_accept(fd, &peer, Int32(peer.count))
            if cfd >= 0 {
                _ = hub_set_nodelay(cfd)
                onAccept(cfd, String(decoding: peer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                continue
            }
            let err = -cfd
            if err == EAGAIN || err == EWOULDBLOCK { return }
            if err == EMFILE || err == ENFILE {
                shedOneConnection()
                return
            }
            // ECONNABORTED and friends: that connection is gone, try the next.
            if err == ECONNABORTED || err == EPROTO || err == EPERM { continue }
            return
        }
    }

    private func shedOneConnection() {
        if spareFD >= 0 {
            _ = hub_close(spareFD)
            let cfd = hub_accept(fd, nil, 0)
            if cfd >= 0 { _ = hub_close(cfd) }
            spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
            if cfd >= 0 { return }
        }
        paused = true
        loop.modify(fd, events: 0)
        _ = loop.scheduleTimer(afterMilliseconds: 100) { [weak self] in
            guard let self else { return }
            self.paused = false
            self.loop.modify(self.fd, events: IOEvents.readable)
        }
    }

    public func flushQueuedOutput() {}

    /// Stops accepting: deregisters and closes the socket.
    public func close() {
        loop.deregister(fd)
        _ = hub_close(fd)
        if spareFD >= 0 { _ = hub_close(spareFD); spareFD = -1 }
    }
}
