import Testing
import RESP
@testable import RedisStore

/// Redis Cluster's key-to-slot map and the answers that carry it.
@Suite struct ClusterSlotMap {
    @Test func slotsAreTheSpecificationsCRC16OfTheHashTag() {
        // The cluster specification's test vector, and slots `redis-cli CLUSTER KEYSLOT` gives.
        #expect(ClusterSlots.crc16(Array("123456789".utf8)[...]) == 0x31C3)
        #expect(ClusterSlots.slot(of: Array("foo".utf8)) == 12182)
        #expect(ClusterSlots.slot(of: Array("{user1000}.following".utf8)) == ClusterSlots.slot(of: Array("user1000".utf8)))
        // An empty tag does not count: the whole name is hashed.
        #expect(ClusterSlots.slot(of: Array("{}foo".utf8)) == Int(ClusterSlots.crc16(Array("{}foo".utf8)[...]) % 16384))
        // The hub's three names of one key share its slot.
        let names = StoredKeyNames(try! .init(validating: "order-42"), prefix: "affinity")
        #expect(Set([names.stream, names.meta, names.channel].map { ClusterSlots.slot(of: $0) }).count == 1)
    }

    @Test func theMapIsReadFromClusterSlotsWithEmptyHostsMeaningTheNodeAsked() throws {
        let asked = ClusterNode(host: "127.0.0.1", port: 7000)
        func node(_ host: String, _ port: Int64) -> RESPValue { .array([.bulkString(Array(host.utf8)), .integer(port), .bulkString(Array("id".utf8))]) }
        let answer = RESPValue.array([
            .array([.integer(0), .integer(5460), node("10.0.0.1", 7000), node("10.0.0.4", 7003)]),
            .array([.integer(5461), .integer(16383), node("", 7001)]),
        ])
        let map = try #require(ClusterSlots.masters(from: answer, asked: asked))
        #expect(map[0] == ClusterNode(host: "10.0.0.1", port: 7000) && map[5460] == ClusterNode(host: "10.0.0.1", port: 7000))
        #expect(map[5461] == ClusterNode(host: "127.0.0.1", port: 7001) && map[16383] == ClusterNode(host: "127.0.0.1", port: 7001))
        // A map with holes is a map (those slots have no master: not ready); nonsense is refused.
        #expect(ClusterSlots.masters(from: .array([.array([.integer(0), .integer(10), node("h", 1)])]), asked: asked)?[11] == nil)
        for bad: RESPValue in [.integer(1), .array([.array([.integer(10), .integer(5), node("h", 1)])]),
                               .array([.array([.integer(0), .integer(16384), node("h", 1)])]),
                               .array([.array([.integer(0), .integer(1), node("h", 0)])]), .array([.array([.integer(0)])])] {
            #expect(ClusterSlots.masters(from: bad, asked: asked) == nil, "\(bad)")
        }
    }

    @Test func redirectionsNameTheSlotAndTheNode() {
        let moved = ClusterSlots.redirection("MOVED 3999 127.0.0.1:6381")
        #expect(moved?.ask == false && moved?.slot == 3999 && moved?.node == ClusterNode(host: "127.0.0.1", port: 6381))
        #expect(ClusterSlots.redirection("ASK 3999 10.0.0.2:6380")?.ask == true)
        #expect(ClusterSlots.redirection("MOVED 3999 :6380")?.node.host == "127.0.0.1")
        for other in ["ERR unknown", "MOVED x h:1", "MOVED 1 h", "MOVED 1 h:p", "NOSCRIPT No matching script",
                      "ASK -1 :7002", "MOVED 16384 h:1", "MOVED 1 h:0", "MOVED 1 h:65536"] {
            #expect(ClusterSlots.redirection(other) == nil, "\(other)")
        }
    }
}
