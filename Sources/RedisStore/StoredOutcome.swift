// An outcome as the shared store holds and relays it: one byte string, the same in the key's
// stream entry and in the pub/sub message, so a node decodes both the same way. The Lua publish
// script writes it (RedisScripts.swift); fields are length-prefixed, `<decimal length>:<bytes>`,
// so any byte may appear in them:
//
//   seq  id  status  publishedAt  expiresAt  idempotencyKey ("" for none)  data
//
// The key is not inside: it is the stream's or channel's name. Pure: bytes in, outcome out.
import HubCore

public enum StoredOutcome {
    /// The stored form of `o`: its seq field, then `tail(o)`.
    public static func encode(_ o: Outcome) -> [UInt8] {
        var out: [UInt8] = []
        append(Array(String(o.seq).utf8), to: &out)
        return out + tail(o)
    }

    /// Everything after the seq, which the publishing node knows before Redis gives the seq: the
    /// script only puts the seq in front (less work in Redis, where every node's publishes queue).
    public static func tail(_ o: Outcome) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(o.data.count + o.id.utf8.count + 64)
        append(Array(o.id.utf8), to: &out)
        append(Array(o.status.rawValue.utf8), to: &out)
        append(Array(String(o.publishedAt).utf8), to: &out)
        append(Array(String(o.expiresAt).utf8), to: &out)
        append(Array((o.idempotencyKey ?? "").utf8), to: &out)
        append(o.data, to: &out)
        return out
    }

    private static func append(_ field: [UInt8], to out: inout [UInt8]) {
        out += Array(String(field.count).utf8)
        out.append(UInt8(ascii: ":"))
        out += field
    }

    /// Decodes a stored outcome of `key`; nil when the bytes are not one (a node that reads
    /// something else under the hub's names ignores it, never crashes).
    public static func decode(_ bytes: [UInt8], key: OutcomeKey) -> Outcome? {
        var at = 0
        func field() -> ArraySlice<UInt8>? {
            var length = 0
            var digits = 0
            while at < bytes.count, bytes[at] != UInt8(ascii: ":") {
                let byte = bytes[at]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 10 else { return nil }
                length = length * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                at += 1
            }
            guard digits > 0, at < bytes.count, bytes.count - at - 1 >= length else { return nil }
            at += 1
            defer { at += length }
            return bytes[at..<(at + length)]
        }
        func text() -> String? { field().flatMap { String(validating: $0, as: UTF8.self) } }
        guard let seq = text().flatMap(UInt64.init), seq > 0, let id = text(),
              let status = text().flatMap(OutcomeStatus.init(rawValue:)),
              let publishedAt = text().flatMap(Int64.init), let expiresAt = text().flatMap(Int64.init),
              let idempotency = text(), let data = field(), at == bytes.count else { return nil }
        return Outcome(key: key, seq: seq, id: id, status: status, data: Array(data), publishedAt: publishedAt,
                       expiresAt: expiresAt, idempotencyKey: idempotency.isEmpty ? nil : idempotency)
    }
}

/// The Redis names of a key's data. The `{…}` hash tag puts them in one cluster slot, so the
/// publish script may touch them all (keys never contain braces: OutcomeKey.swift).
public struct StoredKeyNames: Sendable {
    public let stream: [UInt8]
    public let meta: [UInt8]
    public let channel: [UInt8]

    public init(_ key: OutcomeKey, prefix: String) {
        channel = Array("\(prefix):{\(key.value)}".utf8)
        stream = channel + Array(":log".utf8)
        meta = channel + Array(":meta".utf8)
    }

    /// The key a channel name belongs to (pub/sub messages name their channel).
    public static func key(ofChannel channel: [UInt8], prefix: String) -> OutcomeKey? {
        let head = Array("\(prefix):{".utf8)
        guard channel.count > head.count + 1, channel.starts(with: head), channel.last == UInt8(ascii: "}") else { return nil }
        return try? OutcomeKey(validating: String(decoding: channel[head.count..<(channel.count - 1)], as: UTF8.self))
    }
}
