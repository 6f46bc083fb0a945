// Sentinel mode (`--redis-sentinel-master NAME`): the `--redis` URLs name Redis Sentinels, and
// the store talks to the master they call NAME, as to a single Redis.
//
//   a sentinel: HELLO 3 ─▶ SUBSCRIBE +switch-master ─▶ SENTINEL GET-MASTER-ADDR-BY-NAME ─▶ use(master)
//   use(node) ─▶ connect ─▶ ROLE is master? ─▶ ready │ not yet (failover under way) ─▶ retry, ask again
//   +switch-master NAME … ─▶ use(the new master): the old link retired, followed keys read again
//   master connection lost │ READONLY (a demoted master) ─▶ ask the sentinel again, reconnect
//   sentinel lost or not knowing NAME ─▶ the next sentinel, after 50 ms … 2 s
//
// Subscribing before asking means a switch between the two is not missed. What a failover costs
// is what it costs in Redis: an acknowledged write the old master had not yet replicated, unless
// `--redis-wait-replicas` makes publishes wait for a replica (docs/scale-out.md).
import HTTPClient
import RESP
import RedisClient

extension RedisOutcomeStore {
    /// Connects to the next sentinel, watches it for switches and asks it for the master.
    func askSentinel() {
        guard !stopped, sentinel == nil, let name = config.sentinelMaster else { return }
        let node = seeds[sentinelIndex % seeds.count]
        let made: RedisConnection
        do {
            made = try RedisConnection(loop: loop, host: node.host, port: node.port, password: config.sentinelPassword, tls: tls,
                                       commandTimeoutMs: config.commandTimeoutMs)
        } catch {
            return sentinelLost("cannot connect to the sentinel \(node): \(error)")
        }
        sentinel = made
        made.onPush = { [weak self] push in self?.sentinelSaid(push, master: name) }
        made.onClosed = { [weak self, weak made] why in
            guard let self, let made, sentinel === made else { return }
            sentinelLost("the sentinel \(node) ended the connection: \(why)")
        }
        made.sendWithoutReply([Array("SUBSCRIBE".utf8), Array("+switch-master".utf8)])
        queryMaster()
    }

    /// Asks the current sentinel which node is the master (and uses it).
    func queryMaster() {
        guard let made = sentinel, let name = config.sentinelMaster else { return askSentinel() }
        made.send("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name) { [weak self, weak made] answer in
            guard let self, let made, sentinel === made else { return }
            guard case .success(let value) = answer, let master = SentinelAnswers.master(value) else {
                // This sentinel does not know the master (yet): another one may.
                return made.close(reason: "the sentinel names no master called \(name) (\(answer))")
            }
            sentinelRetryMs = 50
            use(host: master.host, port: master.port)
        }
    }

    /// A push on the sentinel connection: `+switch-master <name> <old ip> <old port> <new ip> <new port>`.
    private func sentinelSaid(_ push: RESPValue, master name: String) {
        guard let master = SentinelAnswers.switched(push, master: name) else { return }
        logger.notice("Sentinel switched the Redis master", metadata: ["master": "\(name)", "to": "\(master)"])
        use(host: master.host, port: master.port)
    }

    /// Takes `host:port` as the master: connects there and leaves the previous master.
    private func use(host: String, port: Int) {
        // Sentinels announce IPs unless configured to announce hostnames (resolved here, blocking).
        guard let ip = try? ClientSocket.resolve(host) else {
            logger.error("the master a sentinel named does not resolve", metadata: ["host": "\(host)"])
            return
        }
        let node = ClusterNode(host: ip, port: port)
        if node == primary, links[node] != nil { return }
        if let old = primary, old != node, let link = links[old] {
            retire(link, "Sentinel names another master")
        }
        primary = node
        _ = link(to: node)
        updateReadiness()
    }

    private func sentinelLost(_ why: String) {
        sentinel = nil
        sentinelIndex += 1
        if primary == nil {
            reason.withLock { $0 = why }
            updateReadiness()
        }
        logger.warning("Redis Sentinel unavailable; trying the next one", metadata: ["reason": "\(why)"])
        guard !stopped else { return }
        let delay = sentinelRetryMs + Int.random(in: 0...(sentinelRetryMs / 2))
        sentinelRetryMs = min(sentinelRetryMs * 2, 2_000)
        _ = loop.scheduleTimer(afterMilliseconds: delay) { [weak self] in self?.askSentinel() }
    }
}
