// What Redis Sentinel tells the store (pure: the store's Sentinel mode reads these, tests and the
// FuzzRedisMessages target drive them directly). A sentinel is a peer like any other: an answer
// that is not exactly the expected shape, or names a port out of range, is refused.
import RESP

enum SentinelAnswers {
    /// `SENTINEL GET-MASTER-ADDR-BY-NAME`: `[host, port]`; nil for a null (no such master) or
    /// anything else.
    static func master(_ answer: RESPValue) -> ClusterNode? {
        guard case .array(let parts) = answer, parts.count == 2, let host = parts[0].text, !host.isEmpty,
              let port = parts[1].text.flatMap({ Int($0) }), (1...65_535).contains(port) else { return nil }
        return ClusterNode(host: host, port: port)
    }

    /// A `+switch-master` message (`<name> <old ip> <old port> <new ip> <new port>`) about the
    /// master called `name`: its new address; nil for other pushes and other masters.
    static func switched(_ push: RESPValue, master name: String) -> ClusterNode? {
        guard case .push(let parts) = push, parts.count == 3, parts[0].text == "message", parts[1].text == "+switch-master",
              let fields = parts[2].text?.split(separator: " ", omittingEmptySubsequences: false), fields.count == 5,
              fields[0] == name, !fields[3].isEmpty, let port = Int(fields[4]), (1...65_535).contains(port) else { return nil }
        return ClusterNode(host: String(fields[3]), port: port)
    }
}
