// One connection to one Redis node (the only one, or a cluster master) and the keys the node
// follows through it. Sharded pub/sub lives on the connection: when it ends, its subscriptions end
// too, so `keys` is emptied and the store follows them again (after a reconnect or a new map).
import HubCore
import RedisClient

final class RedisLink {
    let node: ClusterNode
    var connection: RedisConnection?
    /// Connected, scripts loaded, answering.
    var ready = false
    /// Keys subscribed on this connection (a subset of the store's followed keys).
    var keys = Set<OutcomeKey>()
    var retryMs = 50
    var retryPending = false
    /// No longer a master in the cluster's map: closed, never reconnected.
    var retired = false

    init(node: ClusterNode) { self.node = node }
}
