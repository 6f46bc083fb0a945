// A server's connection to the hub: one multiplexed WebSocket (`/v1/ws`, `affinity.v1`) that
// carries every key this process awaits, kept open for the life of the process.
//
//   outcome(for: key) / onOutcome(key) ─▶ watch(key) ─▶ subscribe {key, after: lastSeq}
//   socket lost ─▶ jittered back-off (0.1 s … 10 s) ─▶ reconnect ─▶ resubscribe every key from its lastSeq
//   outcome frame ─▶ seq ≤ lastSeq? drop (duplicate after a resume) : deliver to waiters and callbacks
//   every 15 s: {"type":"ping"}; nothing heard for 45 s ─▶ the socket is presumed dead and replaced
//
// Delivery to a waiter is exactly once per seq; across reconnects the hub replays from lastSeq,
// so nothing published meanwhile (and still retained) is lost.
import Foundation
import HTTPClient
import HubBytes
import Metrics
import Reactor
import Synchronization

/// A process's connection to the hub: one multiplexed WebSocket carrying every awaited key, resumed
/// after drops from each key's last sequence number. Create one per process and share it.
public final class HubConnection: Sendable {
    public struct Options: Sendable {
        /// Subscription token (HS256) sent with each subscribe; nil when the hub needs none.
        public var token: String?
        /// Publisher key, sent as a bearer credential on the socket (lets it publish).
        public var publisherKey: String?
        public var pingInterval: Duration = .seconds(15)
        /// Silence after which the socket is replaced.
        public var deadAfter: Duration = .seconds(45)
        public var maxBackOff: Duration = .seconds(10)
        /// PEM certificates to trust for an https/wss hub; nil: the system's trust store.
        public var caFile: String?
        public init(token: String? = nil, publisherKey: String? = nil, caFile: String? = nil) {
            self.token = token; self.publisherKey = publisherKey; self.caFile = caFile
        }
    }

    public let url: ClientURL
    public let options: Options
    private let state = Mutex(State())
    private let runner = Mutex<Task<Void, Never>?>(nil)
    /// Connections made so far (1 + reconnects), for tests and metrics.
    public var connectCount: Int { state.withLock { $0.connects } }
    public var isConnected: Bool { state.withLock { $0.socket != nil } }

    struct Watch {
        var lastSeq: UInt64 = 0
        var subscribed = false
        var waiters: [UInt64: CheckedContinuation<HubOutcome, Error>] = [:]
        var callbacks: [UInt64: @Sendable (HubOutcome) -> Void] = [:]
        var subscribedWaiters: [CheckedContinuation<Void, Never>] = []
        /// The terminal outcome, once seen: later waiters get it at once.
        var terminal: HubOutcome?
    }

    struct State {
        var watches: [String: Watch] = [:]
        var socket: WebSocketClient?
        var nextID: UInt64 = 1
        var connects = 0
        var closed = false
    }

    /// `hubURL` is the hub's HTTP address (`http://127.0.0.1:8080`).
    public init(hubURL: String, options: Options = Options()) throws {
        guard let u = ClientURL(hubURL) else { throw HTTPClientError.invalidURL(hubURL) }
        url = u
        self.options = options
    }

    /// Starts connecting in the background (also done by the first `outcome`/`onOutcome`).
    public func start() {
        runner.withLock { r in
            guard r == nil else { return }
            r = Task { await self.run() }
        }
    }

    /// Closes the socket and fails every waiter with `.closed`.
    public func close() {
        let (socket, waiters) = state.withLock { s -> (WebSocketClient?, [CheckedContinuation<HubOutcome, Error>]) in
            s.closed = true
            let w = s.watches.values.flatMap { $0.waiters.values }
            for k in s.watches.keys { s.watches[k]!.waiters = [:] }
            return (s.socket, w)
        }
        runner.withLock { $0?.cancel() }
        socket?.close(code: 1000, reason: "client closing")
        for w in waiters { w.resume(throwing: HubClientError.closed) }
    }

    // MARK: awaiting

    /// Waits for `key`'s terminal outcome (`completed` or `failed`), at most `timeout`.
    public func outcome(for key: String, timeout: Duration) async throws -> HubOutcome {
        start()
        let id = state.withLock { s -> UInt64 in
            defer { s.nextID += 1 }
            return s.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<HubOutcome, Error>) in
                let ready: HubOutcome? = state.withLock { s in
                    if let t = s.watches[key]?.terminal { return t }
                    s.watches[key, default: Watch()].waiters[id] = c
                    return nil
                }
                if let ready { c.resume(returning: ready); return }
                subscribeIfConnected(key)
                Task {
                    try? await Task.sleep(for: timeout)
                    self.removeWaiter(key, id, with: .timedOut(key: key))
                }
            }
        } onCancel: {
            self.removeWaiter(key, id, with: nil)
        }
    }

    /// Calls `callback` for every outcome of `key` (progress and terminal), from any thread,
    /// until the registration is cancelled.
    @discardableResult
    public func onOutcome(_ key: String, _ callback: @escaping @Sendable (HubOutcome) -> Void) -> Registration {
        start()
        let id = state.withLock { s -> UInt64 in
            let id = s.nextID
            s.nextID += 1
            s.watches[key, default: Watch()].callbacks[id] = callback
            return id
        }
        subscribeIfConnected(key)
        return Registration { [weak self] in
            self?.state.withLock { s in _ = s.watches[key]?.callbacks.removeValue(forKey: id) }
            self?.forgetIfIdle(key)
        }
    }

    /// Subscribes to `key` now and returns once the hub confirmed (or after `timeout`): a caller
    /// that starts a workflow after this cannot miss its outcome, whatever the retention.
    public func watch(_ key: String, timeout: Duration = .seconds(5)) async {
        start()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let already = state.withLock { s -> Bool in
                if s.watches[key]?.subscribed == true { return true }
                s.watches[key, default: Watch()].subscribedWaiters.append(c)
                return false
            }
            if already { c.resume(); return }
            subscribeIfConnected(key)
            Task {
                try? await Task.sleep(for: timeout)
                let pending = self.state.withLock { s -> [CheckedContinuation<Void, Never>] in
                    let p = s.watches[key]?.subscribedWaiters ?? []
                    s.watches[key]?.subscribedWaiters = []
                    return p
                }
                for p in pending { p.resume() }
            }
        }
    }

    private func removeWaiter(_ key: String, _ id: UInt64, with error: HubClientError?) {
        let c = state.withLock { s in s.watches[key]?.waiters.removeValue(forKey: id) }
        c?.resume(throwing: error ?? CancellationError())
        if c != nil { forgetIfIdle(key) }
    }

    /// Unsubscribes from a key nobody waits for any more.
    private func forgetIfIdle(_ key: String) {
        let socket = state.withLock { s -> WebSocketClient? in
            guard let w = s.watches[key], w.waiters.isEmpty, w.callbacks.isEmpty, w.subscribedWaiters.isEmpty else { return nil }
            s.watches[key] = nil
            return s.socket
        }
        socket?.send(text: JSONValue.object(["type": "unsubscribe", "key": .string(key)]).serialized())
    }

    private func subscribeIfConnected(_ key: String) {
        let (socket, after) = state.withLock { s -> (WebSocketClient?, UInt64) in (s.socket, s.watches[key]?.lastSeq ?? 0) }
        socket?.send(text: subscribeMessage(key, after: after))
    }

    private func subscribeMessage(_ key: String, after: UInt64) -> String {
        var m: [String: JSONValue] = ["type": "subscribe", "key": .string(key), "ref": .string(key)]
        if after > 0 { m["after"] = JSONValue(Int(after)) }
        if let token = options.token { m["token"] = .string(token) }
        return JSONValue.object(m).serialized()
    }

    // MARK: the socket

    private func run() async {
        var failures = 0
        while !Task.isCancelled && !state.withLock({ $0.closed }) {
            do {
                var headers: [(String, String)] = []
                if let key = options.publisherKey { headers.append(("Authorization", "Bearer \(key)")) }
                var wsURL = url.appending("/v1/ws")
                wsURL.scheme = url.isSecure ? "wss" : "ws"
                let socket = try await WebSocketClient.connect(wsURL, subprotocols: ["affinity.v1"], headers: headers, caFile: options.caFile)
                failures = 0
                let keys = state.withLock { s -> [(String, UInt64)] in
                    s.socket = socket
                    s.connects += 1
                    Counter(label: "affinity_client_connects_total").increment()
                    for k in s.watches.keys { s.watches[k]!.subscribed = false }
                    return s.watches.map { ($0.key, $0.value.lastSeq) }
                }
                for (k, after) in keys { socket.send(text: subscribeMessage(k, after: after)) }
                await pump(socket)
                state.withLock { s in if s.socket === socket { s.socket = nil } }
            } catch {
                failures += 1
            }
            if Task.isCancelled || state.withLock({ $0.closed }) { return }
            // Full jitter so a hub restart is not met by every client at the same instant.
            let ceiling = min(Double(options.maxBackOff.wholeMilliseconds), 100 * pow(2, Double(min(failures, 10))))
            try? await Task.sleep(for: .milliseconds(Int.random(in: 50...max(51, Int(ceiling)))))
        }
    }

    /// Reads the socket until it ends; pings on the side and replaces a silent socket.
    private func pump(_ socket: WebSocketClient) async {
        let heard = Atomic<Int64>(Int64(HubClock.monotonicNanoseconds / 1_000_000))
        let pinger = Task { [options] in
            while !Task.isCancelled {
                try? await Task.sleep(for: options.pingInterval)
                if Task.isCancelled { return }
                let silentMs = Int64(HubClock.monotonicNanoseconds / 1_000_000) - heard.load(ordering: .relaxed)
                if silentMs > Int64(options.deadAfter.wholeMilliseconds) { socket.close(code: 1001, reason: "no answer to pings"); return }
                socket.send(text: #"{"type":"ping"}"#)
            }
        }
        defer { pinger.cancel() }
        for await event in socket.events {
            heard.store(Int64(HubClock.monotonicNanoseconds / 1_000_000), ordering: .relaxed)
            guard case .text(let text) = event, case .success(let json) = JSONValue.parse(text) else { continue }
            switch json["type"]?.stringValue {
            case "outcome":
                if let o = HubOutcome(json) { dispatch(o) }
            case "subscribed":
                if let key = json["key"]?.stringValue {
                    let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                        s.watches[key]?.subscribed = true
                        let r = s.watches[key]?.subscribedWaiters ?? []
                        s.watches[key]?.subscribedWaiters = []
                        return r
                    }
                    for r in ready { r.resume() }
                }
            case "error":
                if let key = json["key"]?.stringValue ?? json["ref"]?.stringValue {
                    let code = json["code"]?.stringValue ?? "error", message = json["message"]?.stringValue ?? ""
                    let (waiters, subs) = state.withLock { s -> ([CheckedContinuation<HubOutcome, Error>], [CheckedContinuation<Void, Never>]) in
                        let w = Array(s.watches[key]?.waiters.values ?? [:].values)
                        let sw = s.watches[key]?.subscribedWaiters ?? []
                        s.watches[key]?.waiters = [:]
                        s.watches[key]?.subscribedWaiters = []
                        return (w, sw)
                    }
                    for w in waiters { w.resume(throwing: HubClientError.refused(key: key, code: code, message: message)) }
                    for s in subs { s.resume() }
                }
            default: break
            }
        }
    }

    private func dispatch(_ o: HubOutcome) {
        let (waiters, callbacks) = state.withLock { s -> ([CheckedContinuation<HubOutcome, Error>], [@Sendable (HubOutcome) -> Void]) in
            guard var w = s.watches[o.key], o.seq > w.lastSeq else { return ([], []) }  // a replayed duplicate
            w.lastSeq = o.seq
            var ready: [CheckedContinuation<HubOutcome, Error>] = []
            if o.isTerminal {
                w.terminal = o
                ready = Array(w.waiters.values)
                w.waiters = [:]
            }
            s.watches[o.key] = w
            return (ready, Array(w.callbacks.values))
        }
        for c in waiters { c.resume(returning: o) }
        for cb in callbacks { cb(o) }
        if o.isTerminal { forgetIfIdle(o.key) }
    }
}

/// Ends an `onOutcome` registration.
public final class Registration: Sendable {
    private let action: Mutex<(@Sendable () -> Void)?>
    init(_ action: @escaping @Sendable () -> Void) { self.action = Mutex(action) }
    public func cancel() {
        let a = action.withLock { a -> (@Sendable () -> Void)? in
            defer { a = nil }
            return a
        }
        a?()
    }
}
