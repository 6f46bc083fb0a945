// libFuzzer target: what a Redis server sends the scale-out store, past the RESP parser: stored
// outcomes (in pub/sub messages and stream reads), CLUSTER SLOTS maps, MOVED/ASK errors and
// Sentinel's answers and +switch-master messages. Properties: nothing crashes; a decoded outcome
// encodes to bytes that decode to the same outcome; a map, a Sentinel answer or a switch names
// only slots 0..16383 and ports 1..65535.
import HubCore
import RESP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRedisMessages(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let key = try! OutcomeKey(validating: "k")
    check(bytes, key: key)
    var limits = RESPLimits()
    limits.maxBulkBytes = 1 << 16
    limits.maxElements = 1 << 12
    var parser = RESPParser(limits: limits)
    parser.feed(bytes[...])
    while let value = try? parser.next() { visit(value, key: key, depth: 0) }
    return 0
}

func check(_ bytes: [UInt8], key: OutcomeKey) {
    guard let outcome = StoredOutcome.decode(bytes, key: key) else { return }
    guard StoredOutcome.decode(StoredOutcome.encode(outcome), key: key) == outcome else {
        fatalError("a decoded outcome does not survive its own encoding")
    }
}

func visit(_ value: RESPValue, key: OutcomeKey, depth: Int) {
    guard depth < 8 else { return }
    if let map = ClusterSlots.masters(from: value, asked: ClusterNode(host: "127.0.0.1", port: 7000)) {
        guard map.count == ClusterSlots.count, map.allSatisfy({ $0 == nil || (1...65_535).contains($0!.port) }) else {
            fatalError("a cluster map out of range")
        }
    }
    for node in [SentinelAnswers.master(value), SentinelAnswers.switched(value, master: "mymaster")].compactMap({ $0 })
    where node.host.isEmpty || !(1...65_535).contains(node.port) {
        fatalError("a Sentinel answer out of range: \(node)")
    }
    switch value {
    case .bulkString(let b): check(b, key: key)
    case .error(let text), .simpleString(let text), .bulkError(let text):
        if let r = ClusterSlots.redirection(text), r.slot < 0 || r.node.port < 0 { fatalError("a redirection out of range") }
    case .array(let items), .push(let items), .set(let items): for item in items { visit(item, key: key, depth: depth + 1) }
    default: break
    }
}
