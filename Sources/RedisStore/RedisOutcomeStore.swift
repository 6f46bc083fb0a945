// The hub's shared store on Redis (`serve --redis`): every node publishes through the publish
// script and follows, over sharded pub/sub, the keys its own subscribers want. One connection
// per Redis node (one in all, or one per cluster master; with Sentinel, one to the master the
// sentinels name: RedisOutcomeStore+Sentinel.swift), on the server's first loop. A key's
// commands and pushes share its node's connection, so its follow, the read of its retained
// outcomes and every later message arrive in the order Redis did them.
//
//   connect ─▶ HELLO 3 (+AUTH) ─▶ SELECT ─▶ SCRIPT LOAD ×3 ─▶ PING [─▶ ROLE, with Sentinel] ─▶ ready
//        ─▶ first node: CLUSTER SLOTS ─▶ standalone │ cluster: a link per master, slot map
//        ─▶ every followed key routed here: SSUBSCRIBE, then read after what the node has
//   lost ─▶ not ready (/readyz 503, publishes 503, sockets kept) ─▶ retry after 50 ms … 2 s;
//        cluster: the map is read again (each second while a slot has no ready master)
//   publish ─▶ EVALSHA publish [─▶ WAIT n] ─▶ stored: 201 │ refused: 429 │ no answer: 503
//        MOVED ─▶ new map entry, sent there once │ ASK ─▶ ASKING + EVALSHA there once
//   smessage ─▶ hub.sharedOutcomes │ read answer ─▶ hub.sharedSync
//   session ack ─▶ coalesced per tick ─▶ EVALSHA ack │ session resume ─▶ HGET meta a:<session>
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
    /// Where to connect: one server, or seed nodes of a cluster (credentials, database and TLS
    /// come from the first).
    public var urls: [RedisURL]
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
    /// Sentinel mode: `urls` name Redis Sentinels, and the store uses the master they call this.
    public var sentinelMaster: String?
    /// The sentinels' own password (`requirepass` in sentinel.conf), if they have one.
    public var sentinelPassword: String?

    public init(urls: [RedisURL]) { self.urls = urls }
    public var url: RedisURL { urls[0] }
}

/// Counters for /metrics (written on the store's loop, read by the exporter).
public final class RedisStoreStats: Sendable {
    public let connects = Atomic<Int>(0)
    public let connectionsLost = Atomic<Int>(0)
    public let redirections = Atomic<Int>(0)
    public let mapReads = Atomic<Int>(0)
    public let follows = Atomic<Int>(0)
    public let fills = Atomic<Int>(0)
    public let followedKeys = Atomic<Int>(0)
    public let pendingPublishes = Atomic<Int>(0)
    public init() {}

    public func samples() -> [ExportedMetrics.Sample] {
        [
            .counter("affinity_redis_connects_total", connects.load(ordering: .relaxed)),
            .counter("affinity_redis_connections_lost_total", connectionsLost.load(ordering: .relaxed)),
            .counter("affinity_redis_redirections_total", redirections.load(ordering: .relaxed)),
            .counter("affinity_redis_map_reads_total", mapReads.load(ordering: .relaxed)),
            .counter("affinity_redis_follows_total", follows.load(ordering: .relaxed)),
            .counter("affinity_redis_fills_total", fills.load(ordering: .relaxed)),
            .gauge("affinity_redis_followed_keys", followedKeys.load(ordering: .relaxed)),
            .gauge("affinity_redis_pending_publishes", pendingPublishes.load(ordering: .relaxed)),
        ]
    }
}

public final class RedisOutcomeStore: SharedStore, SharedRecords, @unchecked Sendable {
    // @unchecked Sendable: `config`, `logger`, `seeds` and `tls` are immutable, `loopRef` and
    // `reason` are Mutexes, `stats` atomics; every other stored property is used only on `loop`'s thread (the
    // public entry points hop there with `onLoop` before touching them).
    let config: RedisStoreConfig
    let logger: Logger
    let seeds: [ClusterNode]
    let tls: (context: TLSContext, serverName: String)?
    let reason = Mutex<String?>("connecting to Redis")
    private let loopRef = Mutex<EventLoop?>(nil)
    public let stats = RedisStoreStats()

    /// Set once by `attach`, before the loop runs.
    var loop: EventLoop!
    private weak var hub: Hub?
    var links: [ClusterNode: RedisLink] = [:]
    /// nil until the first node answered `CLUSTER SLOTS` (false from the start with Sentinel).
    var clustered: Bool?
    /// Not a cluster: the node that takes every command (the URL's; with Sentinel, the master
    /// the sentinels name, nil until one did).
    var primary: ClusterNode?
    /// Sentinel mode: the connection to a sentinel that watches for `+switch-master`.
    var sentinel: RedisConnection?
    var sentinelIndex = 0
    var sentinelRetryMs = 50
    /// Cluster: the master of each slot, as last read.
    private var masters: [ClusterNode?] = []
    private var mapStale = false
    private var readingMap = false
    var stopped = false
    private var followed = Set<OutcomeKey>()
    private var pendingPublishes = 0
    /// Session acks not yet sent: the highest seq per key and session, written once per tick.
    private var pendingAcks: [SessionOfKey: UInt64] = [:]
    private var lastLoggedFailure: UInt64 = 0

    /// Resolves the seed hosts (blocking, once); the connections are made on the loop the hub
    /// attaches this store to.
    public init(config: RedisStoreConfig, logger: Logger) throws {
        precondition(!config.urls.isEmpty, "at least one Redis URL")
        self.config = config
        self.logger = logger
        seeds = try config.urls.map { ClusterNode(host: try ClientSocket.resolve($0.host), port: $0.port) }
        tls = config.url.tls ? (try TLSContext(clientTrusting: config.tlsCAFile), config.url.host) : nil
        if config.sentinelMaster == nil { primary = seeds[0] }
    }

    /// Runs `body` on the store's loop (dropped before `attach`: nothing is served then).
    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        loopRef.withLock { $0 }?.execute(body)
    }

    public var unavailableReason: String? { reason.withLock { $0 } }

    public func attach(_ hub: Hub, loop: EventLoop) {
        self.loop = loop
        loopRef.withLock { $0 = loop }
        onLoop { [self] in
            self.hub = hub
            if config.sentinelMaster != nil {
                clustered = false
                askSentinel()
            } else {
                connect(link(to: seeds[0]))
            }
        }
    }

    public func close() {
        onLoop { [self] in
            stopped = true
            sentinel?.close(reason: "the hub is shutting down")
            sentinel = nil
            for link in links.values { link.connection?.close(reason: "the hub is shutting down") }
            links = [:]
        }
    }

    // MARK: publish

    public func publish(_ outcome: Outcome, limits: HubConfig, completion: @escaping @Sendable (Result<SharedPublish, HubError>) -> Void) {
        onLoop { [self] in
            guard pendingPublishes < config.maxPendingPublishes else {
                return completion(.failure(.storeFailed("Redis is behind: \(pendingPublishes) publishes wait for it; retry")))
            }
            let names = StoredKeyNames(outcome.key, prefix: config.prefix)
            let arguments: [[UInt8]] = [
                names.channel, digits(HubClock.wallMilliseconds), Array((outcome.idempotencyKey ?? "").utf8),
                digits(Int64(limits.maxOutcomesPerKey)), digits(Int64(limits.maxBytesPerKey)), digits(Int64(outcome.cost)),
                digits(outcome.expiresAt), digits(outcome.expiresAt + limits.retentionMs), StoredOutcome.tail(outcome),
            ]
            pendingPublishes += 1
            stats.pendingPublishes.store(pendingPublishes, ordering: .relaxed)
            publish(outcome.key, names: names, arguments: arguments, limits: limits, on: route(outcome.key), asking: false, redirects: 0) { [self] result in
                pendingPublishes -= 1
                stats.pendingPublishes.store(pendingPublishes, ordering: .relaxed)
                completion(result)
            }
        }
    }

    private func publish(_ key: OutcomeKey, names: StoredKeyNames, arguments: [[UInt8]], limits: HubConfig, on target: RedisLink?,
                         asking: Bool, redirects: Int, completion: @escaping (Result<SharedPublish, HubError>) -> Void) {
        guard let target, target.ready, let connection = target.connection else {
            return completion(.failure(.storeFailed("Redis is unreachable (\(unavailableReason ?? "reconnecting")); nothing was stored")))
        }
        if asking { connection.send("ASKING") { _ in } }
        evaluate(RedisScripts.publish, sha: RedisScripts.publishSHA, keys: [names.stream, names.meta], arguments: arguments,
                 on: connection) { [self] answer in
            if case .failure(.server(let message)) = answer, let moved = ClusterSlots.redirection(message), redirects < 2 {
                // The slot is elsewhere (resharding, failover): the script did not run here.
                stats.redirections.add(1, ordering: .relaxed)
                if !moved.ask { learn(moved.slot, isServedBy: moved.node) }
                return publish(key, names: names, arguments: arguments, limits: limits, on: link(to: moved.node), asking: moved.ask,
                               redirects: redirects + 1, completion: completion)
            }
            if case .failure(.server(let message)) = answer, message.hasPrefix("READONLY") {
                // The node became a replica (a failover): find the master again.
                connection.close(reason: "\(target.node) is a replica now: \(message)")
            }
            let decided = decide(answer, key: key, limits: limits)
            guard case .success(let stored) = decided, !stored.duplicate, config.waitReplicas > 0 else { return completion(decided) }
            connection.send("WAIT", String(config.waitReplicas), String(config.waitTimeoutMs)) { [self] confirmed in
                guard case .success(.integer(let replicas)) = confirmed, replicas >= config.waitReplicas else {
                    return completion(.failure(.storeFailed("stored on the Redis primary, but fewer than \(config.waitReplicas) replicas confirmed it in time; retry with the same idempotency key")))
                }
                completion(decided)
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
        onLoop { [self] in
            followed.insert(key)
            stats.followedKeys.store(followed.count, ordering: .relaxed)
            if let link = route(key), link.ready { subscribeAndRead(key, after: 0, on: link) }
        }
    }

    public func unfollow(_ key: OutcomeKey) {
        onLoop { [self] in
            followed.remove(key)
            stats.followedKeys.store(followed.count, ordering: .relaxed)
            for link in links.values where link.keys.contains(key) { unsubscribe(key, on: link) }
        }
    }

    public func fill(_ key: OutcomeKey, after seq: UInt64) {
        onLoop { [self] in
            // Not followed, or its node not ready: the re-follow after a reconnect reads it anyway.
            guard followed.contains(key), let link = route(key), link.ready, link.keys.contains(key) else { return }
            stats.fills.add(1, ordering: .relaxed)
            read(key, after: seq, on: link)
        }
    }

    /// Subscribes first, then reads: an outcome published in between comes both ways, and the
    /// core keeps one. Read first and it could come neither way.
    private func subscribeAndRead(_ key: OutcomeKey, after seq: UInt64, on link: RedisLink) {
        guard let connection = link.connection else { return }
        link.keys.insert(key)
        stats.follows.add(1, ordering: .relaxed)
        connection.sendWithoutReply([Array("SSUBSCRIBE".utf8), StoredKeyNames(key, prefix: config.prefix).channel])
        read(key, after: seq, on: link)
    }

    private func unsubscribe(_ key: OutcomeKey, on link: RedisLink) {
        link.keys.remove(key)
        link.connection?.sendWithoutReply([Array("SUNSUBSCRIBE".utf8), StoredKeyNames(key, prefix: config.prefix).channel])
    }

    private func read(_ key: OutcomeKey, after seq: UInt64, on link: RedisLink) {
        guard let connection = link.connection else { return }
        let names = StoredKeyNames(key, prefix: config.prefix)
        evaluate(RedisScripts.read, sha: RedisScripts.readSHA, keys: [names.stream, names.meta], arguments: [Array(String(seq).utf8)],
                 on: connection) { [self] answer in
            guard case .success(.array(let parts)) = answer, case .integer(let next)? = parts.first, next > 0 else {
                if case .failure(.server(let message)) = answer, let moved = ClusterSlots.redirection(message) {
                    learn(moved.slot, isServedBy: moved.node)
                } else if case .success(let odd) = answer {
                    logger.error("unexpected answer to a read of \(key): \(odd)")
                }
                return   // the connection failed (the reconnect reads again) or the key moved (so does the new map)
            }
            // Only the key's current node speaks for it: an answer from a node it moved away from is stale.
            guard followed.contains(key), link.keys.contains(key), route(key) === link else { return }
            let outcomes = parts.dropFirst().compactMap { part -> Outcome? in
                guard case .bulkString(let bytes) = part else { return nil }
                return StoredOutcome.decode(bytes, key: key)
            }
            hub?.sharedSync(key, outcomes: outcomes, storeNextSeq: UInt64(next))
        }
    }

    private func received(_ push: RESPValue, on link: RedisLink) {
        guard case .push(let parts) = push, parts.count >= 2, case .bulkString(let kind) = parts[0],
              case .bulkString(let channel) = parts[1], let key = StoredKeyNames.key(ofChannel: channel, prefix: config.prefix) else { return }
        if kind == Array("smessage".utf8), parts.count == 3, case .bulkString(let bytes) = parts[2] {
            guard followed.contains(key), link.keys.contains(key), let outcome = StoredOutcome.decode(bytes, key: key) else { return }
            hub?.sharedOutcomes([outcome], of: key)
        } else if kind == Array("sunsubscribe".utf8), followed.contains(key), link.keys.contains(key) {
            // Redis ended the subscription itself: the slot moved. Follow it where it went.
            link.keys.remove(key)
            mapStale = true
            readMap()
        }
    }

    // MARK: session acks

    public func ack(_ key: OutcomeKey, session: String, seq: UInt64) {
        onLoop { [self] in
            let id = SessionOfKey(key: key, session: session)
            // A client acks each outcome; those of one tick go to Redis as one write per key.
            if pendingAcks.isEmpty { loop.execute { [self] in flushAcks() } }
            pendingAcks[id] = max(pendingAcks[id] ?? 0, seq)
        }
    }

    private func flushAcks() {
        let acks = pendingAcks
        pendingAcks = [:]
        for (id, seq) in acks {
            // Best effort: a lost ack costs the session duplicates on a resume, never an outcome.
            let names = StoredKeyNames(id.key, prefix: config.prefix)
            runScript(RedisScripts.ack, sha: RedisScripts.ackSHA, keys: [names.meta], arguments: [Array(id.session.utf8), digits(Int64(seq))],
                      name: id.key.value.utf8) { _ in }
        }
    }

    public func sessionAck(of key: OutcomeKey, session: String, completion: @escaping @Sendable (UInt64?) -> Void) {
        onLoop { [self] in
            // An ack of this node still on its way is part of the answer.
            let queued = pendingAcks[SessionOfKey(key: key, session: session)]
            let names = StoredKeyNames(key, prefix: config.prefix)
            run([Array("HGET".utf8), names.meta, Array("a:\(session)".utf8)], name: Array(key.value.utf8), redirects: 0) { answer in
                switch answer {
                case .success(.null): completion(queued ?? 0)
                case .success(.bulkString(let bytes)):
                    guard let acked = UInt64(String(decoding: bytes, as: UTF8.self)) else { return completion(queued) }
                    completion(max(acked, queued ?? 0))
                default: completion(queued)
                }
            }
        }
    }

    // MARK: records

    /// `<prefix>:{rec:<id>}` holds `<expiresAt>:<body>`; its lease is the same name + `:lease`.
    private func recordName(_ id: String) -> [UInt8] { Array("\(config.prefix):{rec:\(id)}".utf8) }

    public func put(_ record: StoredRecord, completion: @escaping @Sendable (Result<Void, HubError>) -> Void) {
        onLoop { [self] in
            let name = recordName(record.id)
            let value = Array("\(record.expiresAt):".utf8) + record.body
            let command: [[UInt8]] = record.expiresAt > HubClock.wallMilliseconds
                ? [Array("SET".utf8), name, value, Array("PXAT".utf8), digits(record.expiresAt)]
                : [Array("DEL".utf8), name]
            run(command, name: name, redirects: 0) { answer in
                switch answer {
                case .success: completion(.success(()))
                case .failure(let error): completion(.failure(.storeFailed("Redis did not store the record: \(error)")))
                }
            }
        }
    }

    public func get(_ id: String, completion: @escaping @Sendable (Result<StoredRecord?, HubError>) -> Void) {
        onLoop { [self] in
            let name = recordName(id)
            run([Array("GET".utf8), name], name: name, redirects: 0) { answer in
                switch answer {
                case .success(.bulkString(let value)):
                    guard let colon = value.firstIndex(of: UInt8(ascii: ":")),
                          let expiresAt = Int64(String(decoding: value[..<colon], as: UTF8.self)) else {
                        return completion(.failure(.storeFailed("the record \(id) in Redis is not one the hub wrote")))
                    }
                    completion(.success(StoredRecord(id: id, body: Array(value[(colon + 1)...]), expiresAt: expiresAt)))
                case .success(.null): completion(.success(nil))
                case .success(let odd): completion(.failure(.storeFailed("Redis answered GET with \(odd)")))
                case .failure(let error): completion(.failure(.storeFailed("Redis did not answer: \(error)")))
                }
            }
        }
    }

    public func lease(_ id: String, ms: Int, completion: @escaping @Sendable (Result<Bool, HubError>) -> Void) {
        onLoop { [self] in
            let name = recordName(id) + Array(":lease".utf8)
            run([Array("SET".utf8), name, Array("1".utf8), Array("NX".utf8), Array("PX".utf8), digits(Int64(ms))], name: name,
                redirects: 0) { answer in
                switch answer {
                case .success(.null): completion(.success(false))
                case .success: completion(.success(true))
                case .failure(let error): completion(.failure(.storeFailed("Redis did not answer: \(error)")))
                }
            }
        }
    }

    public func release(_ id: String) {
        onLoop { [self] in
            let name = recordName(id) + Array(":lease".utf8)
            run([Array("DEL".utf8), name], name: name, redirects: 0) { _ in }
        }
    }

    /// `run` for a script: EVALSHA, and EVAL when Redis lost its script cache.
    private func runScript(_ script: String, sha: String, keys: [[UInt8]], arguments: [[UInt8]], name: some Collection<UInt8>,
                           reply: @escaping (Result<RESPValue, RedisError>) -> Void) {
        let tail = [Array(String(keys.count).utf8)] + keys + arguments
        let name = Array(name)
        run([Array("EVALSHA".utf8), Array(sha.utf8)] + tail, name: name, redirects: 0) { [self] answer in
            if case .failure(.server(let message)) = answer, message.hasPrefix("NOSCRIPT") {
                run([Array("EVAL".utf8), Array(script.utf8)] + tail, name: name, redirects: 0, reply: reply)
            } else {
                reply(answer)
            }
        }
    }

    /// Sends a one-key command to the node that serves `name`, following one redirection.
    private func run(_ command: [[UInt8]], name: [UInt8], redirects: Int, asking: Bool = false, on target: RedisLink? = nil,
                     reply: @escaping (Result<RESPValue, RedisError>) -> Void) {
        guard let node = target ?? route(name: name), node.ready, let connection = node.connection else {
            return reply(.failure(.connectionClosed(unavailableReason ?? "Redis is unreachable")))
        }
        if asking { connection.send("ASKING") { _ in } }
        connection.send(command) { [self] answer in
            if case .failure(.server(let message)) = answer, let moved = ClusterSlots.redirection(message), redirects < 2 {
                stats.redirections.add(1, ordering: .relaxed)
                if !moved.ask { learn(moved.slot, isServedBy: moved.node) }
                return run(command, name: name, redirects: redirects + 1, asking: moved.ask, on: link(to: moved.node), reply: reply)
            }
            reply(answer)
        }
    }

    // MARK: nodes and the cluster's map

    /// The link that serves `key` now (nil while the cluster's map has no master for its slot).
    private func route(_ key: OutcomeKey) -> RedisLink? { route(name: key.value.utf8) }

    /// The link that serves the Redis name (or hash tag) `name`.
    private func route(name: some Collection<UInt8>) -> RedisLink? {
        guard clustered == true else { return primary.flatMap { links[$0] } }
        guard let node = masters[ClusterSlots.slot(of: name)] else { return nil }
        return link(to: node)
    }

    /// The link to `node`, made (and connecting) if new.
    func link(to node: ClusterNode) -> RedisLink {
        if let existing = links[node] { return existing }
        let made = RedisLink(node: node)
        links[node] = made
        if hub != nil { connect(made) }
        return made
    }

    /// A `MOVED` answer: the slot's master changed. Note it, and read the whole map again.
    private func learn(_ slot: Int, isServedBy node: ClusterNode) {
        guard clustered == true, slot >= 0, slot < masters.count else { return }
        masters[slot] = node
        _ = link(to: node)
        mapStale = true
        readMap()
    }

    private func readMap() {
        guard clustered == true, !readingMap, let asked = links.values.first(where: { $0.ready && !$0.retired }),
              let connection = asked.connection else { return }
        readingMap = true
        stats.mapReads.add(1, ordering: .relaxed)
        connection.send("CLUSTER", "SLOTS") { [self] answer in
            readingMap = false
            guard case .success(let value) = answer, let map = ClusterSlots.masters(from: value, asked: asked.node) else { return }
            mapStale = false
            apply(map)
        }
    }

    /// A new map: links to new masters, old ones retired, and every followed key on its master.
    private func apply(_ map: [ClusterNode?]) {
        masters = map
        let current = Set(map.compactMap { $0 })
        for node in current { _ = link(to: node) }
        for (_, link) in links where !current.contains(link.node) { retire(link, "no longer a master in the cluster's map") }
        for key in followed {
            let target = route(key)
            for link in links.values where link !== target && link.keys.contains(key) { unsubscribe(key, on: link) }
            if let target, target.ready, !target.keys.contains(key) {
                subscribeAndRead(key, after: hub?.sharedKnownSeq(of: key) ?? 0, on: target)
            }
        }
        updateReadiness()
    }

    /// Cluster: while a slot has no ready master, read the map each second (a failover shows there).
    private func watchMap() {
        _ = loop.scheduleTimer(afterMilliseconds: 1_000) { [weak self] in
            guard let self, !stopped else { return }
            if mapStale || unavailableReason != nil { readMap() }
            watchMap()
        }
    }

    /// Stops using `link` for good: closed, never reconnected.
    func retire(_ link: RedisLink, _ why: String) {
        link.retired = true
        link.connection?.close(reason: why)
        link.connection = nil
        link.ready = false
        link.keys = []
        links[link.node] = nil
    }

    func updateReadiness() {
        let why: String?
        if clustered == true {
            let down = Set(masters.enumerated().compactMap { slot, node -> ClusterNode? in
                guard let node, links[node]?.ready == true else { return node ?? ClusterNode(host: "no master", port: slot) }
                return nil
            })
            why = down.isEmpty ? nil : "Redis cluster: no ready master for some slots (\(down.prefix(3).map(\.description).joined(separator: ", ")))"
        } else {
            why = primary.flatMap { links[$0] }?.ready == true ? nil : reason.withLock { $0 } ?? "connecting to Redis"
        }
        reason.withLock { $0 = why }
    }

    // MARK: connections

    private func connect(_ link: RedisLink) {
        guard !stopped, !link.retired else { return }
        let url = config.url
        let made: RedisConnection
        do {
            made = try RedisConnection(loop: loop, host: link.node.host, port: link.node.port, user: url.user, password: url.password,
                                       tls: tls, commandTimeoutMs: config.commandTimeoutMs)
        } catch {
            return lost(link, "cannot connect to \(link.node): \(error)")
        }
        link.connection = made
        made.onPush = { [weak self, weak link] push in
            guard let self, let link else { return }
            received(push, on: link)
        }
        made.onClosed = { [weak self, weak made, weak link] why in
            guard let self, let made, let link, link.connection === made else { return }
            lost(link, "the Redis connection to \(link.node) ended: \(why)")
        }
        if url.database != 0 {
            made.send("SELECT", String(url.database)) { [weak made] answer in
                if case .failure(let error) = answer { made?.close(reason: "SELECT \(url.database) failed: \(error)") }
            }
        }
        made.send("SCRIPT", "LOAD", RedisScripts.publish) { _ in }
        made.send("SCRIPT", "LOAD", RedisScripts.read) { _ in }
        made.send("SCRIPT", "LOAD", RedisScripts.ack) { _ in }
        made.send("PING") { [weak self, weak made, weak link] answer in
            guard let self, let made, let link, link.connection === made else { return }
            switch answer {
            case .success where config.sentinelMaster != nil:
                // What a sentinel named may be a demoted master still (its failover under way).
                made.send("ROLE") { [weak self, weak made] role in
                    guard let self, let made, link.connection === made else { return }
                    guard case .success(.array(let parts)) = role, parts.first?.text == "master" else {
                        return made.close(reason: "\(link.node) is not a master (a failover is under way)")
                    }
                    stats.connects.add(1, ordering: .relaxed)
                    becameReady(link)
                }
            case .success:
                stats.connects.add(1, ordering: .relaxed)
                becameReady(link)
            // Redis answers -LOADING while it reads its AOF after a restart: try again shortly.
            case .failure(let error): made.close(reason: "Redis is not ready: \(error)")
            }
        }
    }

    private func becameReady(_ link: RedisLink) {
        guard let connection = link.connection else { return }
        guard clustered != nil else {
            // The first node says whether this is a cluster.
            connection.send("CLUSTER", "SLOTS") { [self] answer in
                switch answer {
                case .failure(.server(let message)) where message.contains("cluster support disabled"):
                    clustered = false
                    becameReady(link)
                case .success(let value):
                    guard let map = ClusterSlots.masters(from: value, asked: link.node) else { return connection.close(reason: "CLUSTER SLOTS unreadable") }
                    clustered = true
                    link.ready = true
                    link.retryMs = 50
                    logger.notice("connected to a Redis cluster", metadata: ["masters": "\(Set(map.compactMap { $0 }).count)"])
                    watchMap()
                    apply(map)
                case .failure(let error):
                    connection.close(reason: "CLUSTER SLOTS failed: \(error)")
                }
            }
            return
        }
        link.ready = true
        link.retryMs = 50
        if clustered == false {
            logger.notice("connected to Redis", metadata: ["redis": "\(config.url.redacted)", "following": "\(followed.count)"])
        }
        // Catch up: anything published while this node was away is read after what it has.
        for key in followed where route(key) === link && !link.keys.contains(key) {
            subscribeAndRead(key, after: hub?.sharedKnownSeq(of: key) ?? 0, on: link)
        }
        if mapStale { readMap() }
        updateReadiness()
    }

    private func lost(_ link: RedisLink, _ why: String) {
        let wasReady = link.ready
        if wasReady { stats.connectionsLost.add(1, ordering: .relaxed) }
        link.ready = false
        link.connection = nil
        link.keys = []          // its subscriptions ended with it
        if clustered == true { mapStale = true } else { reason.withLock { $0 = why } }
        updateReadiness()
        if wasReady || loop.now - lastLoggedFailure > 5_000_000_000 {
            lastLoggedFailure = loop.now
            logger.error("Redis unavailable; publishes to its keys get 503 until it is back", metadata: ["reason": "\(why)"])
        }
        guard !stopped, !link.retired, !link.retryPending else { return }
        // With Sentinel, ask again who the master is: a failover shows there first.
        if config.sentinelMaster != nil { queryMaster() }
        link.retryPending = true
        let delay = link.retryMs + Int.random(in: 0...(link.retryMs / 2))
        link.retryMs = min(link.retryMs * 2, 2_000)
        _ = loop.scheduleTimer(afterMilliseconds: delay) { [weak self, weak link] in
            guard let self, let link else { return }
            link.retryPending = false
            connect(link)
        }
        if clustered == true { readMap() }
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

/// A session's acks of one key (the unit the store writes them in).
private struct SessionOfKey: Hashable {
    let key: OutcomeKey
    let session: String
}
