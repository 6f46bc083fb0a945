// Redis Cluster's map from keys to nodes, pure: the hash slot of a name (CRC16/XMODEM of its
// `{hash tag}`, mod 16384) and the `CLUSTER SLOTS` answer read into slot ranges and masters.
import RESP

public struct ClusterNode: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) { self.host = host; self.port = port }
    public var description: String { "\(host):\(port)" }
}

public enum ClusterSlots {
    public static let count = 16_384

    /// The slot Redis Cluster puts `name` in: only the part inside the first `{…}` counts when
    /// that part is not empty (the hub's names all carry the outcome key as that tag).
    public static func slot(of name: some Collection<UInt8>) -> Int {
        let bytes = Array(name)
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
           let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
            return Int(crc16(bytes[(open + 1)..<close]) % UInt16(count))
        }
        return Int(crc16(bytes[...]) % UInt16(count))
    }

    /// CRC16/XMODEM (polynomial 0x1021, initial 0), as the cluster specification defines it.
    public static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }

    /// The master of every slot from a `CLUSTER SLOTS` answer (nil: the answer is not one). A
    /// master listed without a host (empty or "?") is the node that answered, `asked`.
    public static func masters(from answer: RESPValue, asked: ClusterNode) -> [ClusterNode?]? {
        guard case .array(let ranges) = answer else { return nil }
        var map = [ClusterNode?](repeating: nil, count: count)
        for range in ranges {
            guard case .array(let fields) = range, fields.count >= 3, case .integer(let first) = fields[0],
                  case .integer(let last) = fields[1], first >= 0, first <= last, last < count,
                  case .array(let master) = fields[2], master.count >= 2, case .integer(let port) = master[1],
                  (1...65_535).contains(port) else { return nil }
            let named = master[0].text ?? ""
            let host = named.isEmpty || named == "?" ? asked.host : named
            for slot in Int(first)...Int(last) { map[slot] = ClusterNode(host: host, port: Int(port)) }
        }
        return map
    }

    /// The node a `MOVED`/`ASK` error names: `MOVED 3999 127.0.0.1:6381`.
    public static func redirection(_ message: String) -> (ask: Bool, slot: Int, node: ClusterNode)? {
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]), (0..<count).contains(slot),
              let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...]),
              (1...65_535).contains(port) else { return nil }
        let host = String(parts[2][..<colon])
        return (parts[0] == "ASK", slot, ClusterNode(host: host.isEmpty ? "127.0.0.1" : host, port: port))
    }
}
