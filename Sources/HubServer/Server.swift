// The server: event loops on their threads, listeners on each loop (SO_REUSEPORT), and graceful
// shutdown.
//
//   start ─▶ N × (EventLoop + LoopContext + listeners) ─▶ N threads running loop.run()
//   shutdown(code) ─▶ readyz fails ─▶ every loop: close listeners, close WebSockets with code,
//                     finish HTTP exchanges ─▶ wait ≤ drainTimeout ─▶ abort the rest ─▶ stop loops
import Foundation
import HTTP1
import Logging
import Reactor
import TLS
import WebSocket

public final class Server: Sendable {
    public let shared: ServerShared
    private let contexts: [LoopHandle]
    /// Bound ports (useful with port 0).
    public let port: Int?
    public let tlsPort: Int?
    private let finished: [DispatchSemaphore]
    private let logger: Logger

    /// A loop and its context; the context is only touched on the loop's thread.
    private struct LoopHandle: @unchecked Sendable {
        // @unchecked Sendable: `context` is created before its loop's thread starts and afterwards
        // only used inside `loop.execute` closures, i.e. on that loop's thread.
        let loop: EventLoop
        let context: LoopContext
    }

    /// Binds every listener and starts the loops. Throws if any address cannot be bound.
    private let hub: Hub?

    public init(config: ServerConfig, router: Router, stats: ServerStats = ServerStats(), lifecycle: Lifecycle = Lifecycle(),
                hub: Hub? = nil, logger: Logger = Logger(label: "affinity-hub")) throws {
        self.hub = hub
        self.logger = logger
        var tls: TLSContext?
        if let cert = config.tlsCertificateFile, let key = config.tlsPrivateKeyFile {
            tls = try TLSContext(certificateChainFile: cert, privateKeyFile: key, tls12Ciphers: config.tlsCiphers)
        }
        let shared = ServerShared(config: config, router: router, stats: stats, lifecycle: lifecycle, tls: tls)
        self.shared = shared
        Process.raiseFileLimit()

        var handles: [LoopHandle] = []
        var plainPort = config.port
        var securePort = tls == nil ? nil : (config.tlsPort ?? 8443)
        let loopCount = max(1, config.loops)
        for i in 0..<loopCount {
            let loop = try EventLoop(index: i)
            let context = LoopContext(loop: loop, shared: shared)
            let reuse = loopCount > 1
            if let p = plainPort {
                let l = try Listener(loop: loop, host: config.host, port: p, reusePort: reuse) { [unowned context] fd, peer in
                    context.accept(fd: fd, peer: peer, tls: false)
                }
                plainPort = l.port
                context.listeners.append(l)
            }
            if let p = securePort {
                let l = try Listener(loop: loop, host: config.host, port: p, reusePort: reuse) { [unowned context] fd, peer in
                    context.accept(fd: fd, peer: peer, tls: true)
                }
                securePort = l.port
                context.listeners.append(l)
            }
            handles.append(LoopHandle(loop: loop, context: context))
        }
        contexts = handles
        if let hub, let first = handles.first {
            hub.attach(handles.map { LoopRef(loop: $0.loop, context: $0.context) })
            // Expiry runs on loop 0 once a second; the wheel makes each run O(what expires).
            func upkeep() {
                _ = first.loop.scheduleTimer(afterMilliseconds: 1000) {
                    hub.expire()
                    upkeep()
                }
            }
            upkeep()
        }
        port = plainPort
        tlsPort = securePort

        var semaphores: [DispatchSemaphore] = []
        for handle in handles {
            let done = DispatchSemaphore(value: 0)
            semaphores.append(done)
            let thread = Thread {
                handle.loop.run()
                done.signal()
            }
            thread.name = "loop-\(handle.loop.index)"
            thread.start()
        }
        finished = semaphores
    }

    public var stats: ServerStats { shared.stats }
    public var isDraining: Bool { shared.lifecycle.isDraining }

    /// Graceful shutdown: `/readyz` answers 503 and new subscriptions are refused for `graceMs`
    /// (the listeners stay open so load balancers see the 503 first); then stop accepting, close
    /// WebSockets with `code` (1001 going away, or 1012 on restart), let HTTP exchanges finish,
    /// wait up to the drain timeout, and stop the loops.
    public func shutdown(code: CloseCode = .goingAway, graceMs: Int = 0) {
        shared.lifecycle.markDraining()
        if graceMs > 0 { usleep(useconds_t(min(graceMs, 3_600_000)) * 1000) }
        for handle in contexts {
            handle.loop.execute { handle.context.beginDrain(code: code) }
        }
        let deadline = Date().addingTimeInterval(Double(shared.config.drainTimeoutMs) / 1000)
        while shared.lifecycle.drainedLoops < contexts.count && Date() < deadline {
            usleep(20_000)
        }
        if shared.lifecycle.drainedLoops < contexts.count {
            logger.warning("drain timeout: closing remaining connections", metadata: ["open": "\(stats.connectionsOpen.load(ordering: .relaxed))"])
            for handle in contexts { handle.loop.execute { handle.context.abortAll() } }
        }
        for handle in contexts { handle.loop.stop() }
        for done in finished { done.wait() }
        hub?.store.close()
    }
}
