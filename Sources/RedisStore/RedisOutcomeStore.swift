// The hub's shared store on Redis (`serve --redis`): every node publishes through the publish
// script and follows, over sharded pub/sub, the keys its own subscribers want. One connection
// per node, on a thread of its own; commands and pushes share it, so for each key the follow,
// the read of its retained outcomes and every later message arrive in the order Redis did them.
//
//   connect ─▶ HELLO 3 (+AUTH) ─▶ SELECT ─▶ SCRIPT LOAD ×2 ─▶ PING ─▶ ready
//        ─▶ every followed key: SSUBSCRIBE, then read after what the node has (catch-up)
//   lost ─▶ not ready (/readyz 503, publishes 503, sockets kept) ─▶ retry after 50 ms … 2 s
//   publish ─▶ EVALSHA publish [─▶ WAIT n] ─▶ stored: 201 │ refused: 429 │ no answer: 503
//   smessage ─▶ hub.sharedOutcomes │ read answer ─▶ hub.sharedSync
import Foundation
import HubBytes
import HubCore
import HTTPClient
import HubServer
import Logging
import RESP
import Reactor
import RedisClient
import Synchronization
import TLS

public struct RedisStoreConfig: Sendable {
    public var url: RedisURL
    /// Prefix of every Redis name the hub uses (several hubs may share one Redis).
    public var prefix = "affinity"
    /// A command unanswered this long ends the connection (it reconnects): bounds a slow Redis.
    public var commandTimeoutMs = 2_000
    /// Publishes waiting for Redis at most; past it a publish gets 503 at once (bounded memory).
    public var maxPendingPublishes = 10_000
    /// With N > 0 a publish is acknowledged only once N replicas have it (`WAIT`).
    public var waitReplicas = 0
    public var waitTimeoutMs = 1_000
    /// CA file for `rediss://` (nil: the system's trust store).
    public var tlsCAFile: String?

    public init(url: RedisURL) { self.url = url }
}

public final class RedisOutcomeStore: SharedStore, @unchecked Sendable {
    // @unchecked Sendable: every stored property but `loop`, `config`, `logger`, `reason` and
    // `thread` (immutable or a Mutex) is used only on `loop`'s thread: the public entry points
    // hop there with `loop.execute` before touching them.
    private let loop: EventLoop
    private let config: RedisStoreConfig
    private let logger: Logger
    private let address: String
    private let tls: (context: TLSContext, serverName: String)?
    private let reason = Mutex<String?>("connecting to Redis")
    private var thread: Thread?

    private weak var hub: Hub?
    private var connection: RedisConnection?
    private var ready = false
    private var stopped = false
    private var followed = Set<OutcomeKey>()
    private var pendingPublishes = 0
    private var retryMs = 50
    private var lastLoggedFailure: UInt64 = 0

    /// Resolves the host (blocking, once) and starts the store's thread; the connection is made
    /// when the hub attaches.
    public init(config: RedisStoreConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        address = try ClientSocket.resolve(config.url.host)
        tls = config.url.tls ? (try TLSContext(clientTrusting: config.tlsCAFile), config.url.host) : nil
        loop = try EventLoop(index: 3_000)
        let loop = loop
        let thread = Thread { loop.run() }
        thread.name = "redis-store"
        thread.start()
        self.thread = thread
    }

    public var unavailableReason: String? { reason.withLock { $0 } }

    public func attach(_ hub: Hub) {
        loop.execute { [self] in
            self.hub = hub
            connect()
        }
    }

    public func close() {
        loop.execute { [self] in
            stopped = true
            connection?.close(reason: "the hub is shutting down")
            connection = nil
            loop.stop()
        }
    }

    // MARK: publish

    public func publish(_ outcome: Outcome, limits: HubConfig, completion: @escaping @Sendable (Result<SharedPublish, HubError>) -> Void) {
        loop.execute { [self] in
            guard ready, let connection else {
                return completion(.failure(.storeFailed("Redis is unreachable (\(unavailableReason ?? "reconnecting")); nothing was stored")))
            }
            guard pendingPublishes < config.maxPendingPublishes else {
                return completion(.failure(.storeFailed("Redis is behind: \(pendingPublishes) publishes wait for it; retry")))
            }
            pendingPublishes += 1
            let names = StoredKeyNames(outcome.key, prefix: config.prefix)
            let cost = outcome.cost
            let arguments: [[UInt8]] = [
                names.channel, digits(HubClock.wallMilliseconds), Array(outcome.id.utf8), Array(outcome.status.rawValue.utf8), outcome.data,
                digits(outcome.publishedAt), digits(outcome.expiresAt), Array((outcome.idempotencyKey ?? "").utf8),
                digits(Int64(limits.maxOutcomesPerKey)), digits(Int64(limits.maxBytesPerKey)), digits(Int64(cost)),
                digits(outcome.expiresAt + limits.retentionMs),
            ]
            let key = outcome.key
            evaluate(RedisScripts.publish, sha: RedisScripts.publishSHA, keys: [names.stream, names.meta], arguments: arguments,
                     on: connection) { [self] answer in
                let decided = decide(answer, key: key, limits: limits)
                guard case .success(let stored) = decided, !stored.duplicate, config.waitReplicas > 0 else {
                    pendingPublishes -= 1
                    return completion(decided)
                }
                connection.send("WAIT", String(config.waitReplicas), String(config.waitTimeoutMs)) { [self] confirmed in
                    pendingPublishes -= 1
                    guard case .success(.integer(let replicas)) = confirmed, replicas >= config.waitReplicas else {
                        return completion(.failure(.storeFailed("stored on the Redis primary, but fewer than \(config.waitReplicas) replicas confirmed it in time; retry with the same idempotency key")))
                    }
                    completion(decided)
                }
            }
        }
    }

    /// What the publish script's answer means for the publisher.
    private func decide(_ answer: Result<RESPValue, RedisError>, key: OutcomeKey, limits: HubConfig) -> Result<SharedPublish, HubError> {
        switch answer {
        case .failure(.server(let message)) where message.hasPrefix("OOM"):
            return .failure(.storeFull("Redis is out of memory (maxmemory): \(message)"))
        case .failure(let error):
            // The script may or may not have run: not acknowledged. A retry with the same
            // idempotency key is answered with the original if it did.
            return .failure(.storeFailed("Redis did not confirm the publish (\(error)); retry with the same idempotency key"))
        case .success(.array(let parts)):
            switch (parts.first, parts.count > 1 ? parts[1] : nil) {
            case (.integer(1), .bulkString(let bytes)?):
                guard let outcome = StoredOutcome.decode(bytes, key: key) else { break }
                var nodes = 0
                if parts.count > 2, case .integer(let n) = parts[2] { nodes = Int(n) }
                return .success(SharedPublish(outcome: outcome, duplicate: false, followingNodes: nodes))
            case (.integer(0), .bulkString(let bytes)?):
                guard let outcome = StoredOutcome.decode(bytes, key: key) else { break }
                return .success(SharedPublish(outcome: outcome, duplicate: true, followingNodes: 0))
            case (.integer(-1), let what?):
                return .failure(.keyFull("key \(key) holds its maximum of \(limits.maxOutcomesPerKey) outcomes or \(limits.maxBytesPerKey) bytes (\(what.text ?? ""))"))
            default: break
            }
        default: break
        }
        return .failure(.storeFailed("Redis answered the publish with something unexpected; nothing was acknowledged"))
    }

    // MARK: follow

    public func follow(_ key: OutcomeKey) {
        loop.execute { [self] in
            followed.insert(key)
            if ready, let connection { subscribeAndRead(key, after: 0, on: connection) }
        }
    }

    public func unfollow(_ key: OutcomeKey) {
        loop.execute { [self] in
            followed.remove(key)
            if ready, let connection { connection.sendWithoutReply([Array("SUNSUBSCRIBE".utf8), StoredKeyNames(key, prefix: config.prefix).channel]) }
        }
    }

    public func fill(_ key: OutcomeKey, after seq: UInt64) {
        loop.execute { [self] in
            guard followed.contains(key), ready, let connection else { return }   // a reconnect reads it again anyway
            read(key, after: seq, on: connection)
        }
    }

    /// Subscribes first, then reads: an outcome published in between comes both ways, and the
    /// core keeps one. Read first and it could come neither way.
    private func subscribeAndRead(_ key: OutcomeKey, after seq: UInt64, on connection: RedisConnection) {
        connection.sendWithoutReply([Array("SSUBSCRIBE".utf8), StoredKeyNames(key, prefix: config.prefix).channel])
        read(key, after: seq, on: connection)
    }

    private func read(_ key: OutcomeKey, after seq: UInt64, on connection: RedisConnection) {
        let names = StoredKeyNames(key, prefix: config.prefix)
        evaluate(RedisScripts.read, sha: RedisScripts.readSHA, keys: [names.stream, names.meta], arguments: [Array(String(seq).utf8)],
                 on: connection) { [self] answer in
            guard case .success(.array(let parts)) = answer, case .integer(let next)? = parts.first, next > 0 else {
                // The connection failed (a reconnect reads again) or Redis answered oddly: say so.
                if case .success(let odd) = answer { logger.error("unexpected answer to a read of \(key): \(odd)") }
                return
            }
            let outcomes = parts.dropFirst().compactMap { part -> Outcome? in
                guard case .bulkString(let bytes) = part else { return nil }
                return StoredOutcome.decode(bytes, key: key)
            }
            guard followed.contains(key) else { return }
            hub?.sharedSync(key, outcomes: outcomes, storeNextSeq: UInt64(next))
        }
    }

    private func received(_ push: RESPValue) {
        guard case .push(let parts) = push, parts.count == 3, case .bulkString(let kind) = parts[0],
              kind == Array("smessage".utf8), case .bulkString(let channel) = parts[1], case .bulkString(let bytes) = parts[2],
              let key = StoredKeyNames.key(ofChannel: channel, prefix: config.prefix) else { return }
        guard followed.contains(key), let outcome = StoredOutcome.decode(bytes, key: key) else { return }
        hub?.sharedOutcomes([outcome], of: key)
    }

    // MARK: connection

    private func connect() {
        guard !stopped else { return }
        let url = config.url
        let made: RedisConnection
        do {
            made = try RedisConnection(loop: loop, host: address, port: url.port, user: url.user, password: url.password, tls: tls,
                                       commandTimeoutMs: config.commandTimeoutMs)
        } catch {
            return lost("cannot connect to \(url.redacted): \(error)")
        }
        connection = made
        made.onPush = { [weak self] push in self?.received(push) }
        made.onClosed = { [weak self, weak made] why in
            guard let self, let made, connection === made else { return }
            lost("the Redis connection ended: \(why)")
        }
        if url.database != 0 {
            made.send("SELECT", String(url.database)) { [weak made] answer in
                if case .failure(let error) = answer { made?.close(reason: "SELECT \(url.database) failed: \(error)") }
            }
        }
        made.send("SCRIPT", "LOAD", RedisScripts.publish) { _ in }
        made.send("SCRIPT", "LOAD", RedisScripts.read) { _ in }
        made.send("PING") { [weak self, weak made] answer in
            guard let self, let made, connection === made else { return }
            switch answer {
            case .success: becameReady(made)
            // Redis answers -LOADING while it reads its AOF after a restart: try again shortly.
            case .failure(let error): made.close(reason: "Redis is not ready: \(error)")
            }
        }
    }

    private func becameReady(_ connection: RedisConnection) {
        ready = true
        retryMs = 50
        reason.withLock { $0 = nil }
        logger.notice("connected to Redis", metadata: ["redis": "\(config.url.redacted)", "following": "\(followed.count)"])
        // Catch up: anything published while this node was away is read after what it has.
        for key in followed { subscribeAndRead(key, after: hub?.sharedKnownSeq(of: key) ?? 0, on: connection) }
    }

    private func lost(_ why: String) {
        let wasReady = ready
        ready = false
        connection = nil
        reason.withLock { $0 = why }
        if wasReady || loop.now - lastLoggedFailure > 5_000_000_000 {
            lastLoggedFailure = loop.now
            logger.error("Redis unavailable; publishes get 503 until it is back", metadata: ["reason": "\(why)"])
        }
        guard !stopped else { return }
        let delay = retryMs + Int.random(in: 0...(retryMs / 2))
        retryMs = min(retryMs * 2, 2_000)
        _ = loop.scheduleTimer(afterMilliseconds: delay) { [weak self] in self?.connect() }
    }

    /// EVALSHA, and EVAL when Redis lost its script cache (SCRIPT FLUSH, a failover to a replica
    /// that never loaded it).
    private func evaluate(_ script: String, sha: String, keys: [[UInt8]], arguments: [[UInt8]], on connection: RedisConnection,
                          reply: @escaping (Result<RESPValue, RedisError>) -> Void) {
        let tail = [Array(String(keys.count).utf8)] + keys + arguments
        connection.send([Array("EVALSHA".utf8), Array(sha.utf8)] + tail) { answer in
            if case .failure(.server(let message)) = answer, message.hasPrefix("NOSCRIPT") {
                connection.send([Array("EVAL".utf8), Array(script.utf8)] + tail, reply: reply)
            } else {
                reply(answer)
            }
        }
    }

    private func digits(_ value: Int64) -> [UInt8] { Array(String(value).utf8) }
}
