import ArgumentParser
import Logging
import RedisStore

/// Scale-out: the nodes' shared store (docs/scale-out.md).
struct RedisOptions: ParsableArguments {
    @Option(help: "Share outcomes with other hub nodes through Redis: redis://[user:password@]host[:port][/db] or rediss://… (TLS); repeat it (or separate with commas) to name seed nodes of a Redis Cluster. Default: none (one node).")
    var redis: [String] = []
    @Option(help: "Prefix of the hub's Redis keys and channels (several hubs on one Redis). Default affinity.") var redisPrefix: String?
    @Option(help: "Acknowledge a publish only once this many Redis replicas hold it (WAIT). Default 0.") var redisWaitReplicas: Int?
    @Option(help: "Milliseconds Redis may take to answer before the connection is dropped and remade. Default 2000.") var redisTimeout: Int?
    @Option(help: "PEM CA certificates to trust for rediss:// (default: the system's trust store).") var redisCaFile: String?
    @Option(help: "Redis Sentinel: the --redis URLs name sentinels, and the hub uses the master they call this name, following their failovers (credentials, database and TLS of the first URL apply to the master). Default: none.")
    var redisSentinelMaster: String?
    @Option(help: "The sentinels' own password (requirepass in sentinel.conf), if they have one.") var redisSentinelPassword: String?

    /// The store's settings, or nil when no Redis is configured.
    func configuration(_ s: Settings) throws -> RedisStoreConfig? {
        let texts = s.list("redis", flag: redis)
        guard !texts.isEmpty else { return nil }
        var urls: [RedisURL] = []
        for text in texts {
            do { urls.append(try RedisURL(parsing: text)) } catch { throw ValidationError("--redis: \(error)") }
        }
        var c = RedisStoreConfig(urls: urls)
        c.prefix = s.string("redis-prefix", flag: redisPrefix, default: c.prefix)!
        guard !c.prefix.isEmpty, !c.prefix.contains(where: { $0 == "{" || $0 == "}" || $0 == " " }) else {
            throw ValidationError("--redis-prefix is a non-empty name without braces or spaces")
        }
        c.waitReplicas = max(0, try s.int("redis-wait-replicas", flag: redisWaitReplicas, default: 0))
        c.commandTimeoutMs = max(100, try s.int("redis-timeout", flag: redisTimeout, default: c.commandTimeoutMs))
        c.waitTimeoutMs = c.commandTimeoutMs / 2
        c.tlsCAFile = s.string("redis-ca-file", flag: redisCaFile, default: nil)
        c.sentinelMaster = s.string("redis-sentinel-master", flag: redisSentinelMaster, default: nil)
        c.sentinelPassword = s.string("redis-sentinel-password", flag: redisSentinelPassword, default: nil)
        if let name = c.sentinelMaster, name.isEmpty || name.contains(where: { $0 == " " || $0.isNewline }) {
            throw ValidationError("--redis-sentinel-master is a master name without spaces")
        }
        return c
    }
}
