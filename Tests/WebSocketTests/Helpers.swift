import WebSocket
import HubBytes

/// A masked client frame, as a browser would send it.
func clientFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv1: Bool = false, rsv2: Bool = false,
                 mask: UInt32 = 0x3712_5A0F) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (rsv2 ? 0x20 : 0) | opcode]
    let n = payload.count
    if n < 126 { out.append(0x80 | UInt8(n)) }
    else if n <= 0xFFFF { out += [0x80 | 126, UInt8(n >> 8), UInt8(n & 0xFF)] }
    else { out.append(0x80 | 127); for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: n >> s)) } }
    let key = [UInt8(mask >> 24), UInt8(truncatingIfNeeded: mask >> 16), UInt8(truncatingIfNeeded: mask >> 8), UInt8(truncatingIfNeeded: mask)]
    out += key
    for (i, b) in payload.enumerated() { out.append(b ^ key[i % 4]) }
    return out
}

/// A short text description of an event, for comparisons.
func describe(_ e: WebSocketEvent) -> String {
    switch e {
    case .needMore: "needMore"
    case .message(let k, let p): "\(k == .text ? "text" : "binary")(\(k == .text ? String(decoding: p, as: UTF8.self) : String(p.count)))"
    case .ping(let p): "ping(\(p.count))"
    case .pong(let p): "pong(\(p.count))"
    case .close(let c, let r): "close(\(c.map { String($0.rawValue) } ?? "none"),\(r))"
    case .violation(let c, _): "violation(\(c.rawValue))"
    }
}

/// Feeds `chunks` in order and returns every event until the parser needs more or fails.
func events(_ chunks: [[UInt8]], role: WebSocketRole = .server, limits: WebSocketLimits = WebSocketLimits(),
            inflater: Inflater? = nil) -> [String] {
    var parser = WebSocketParser(role: role, limits: limits, inflater: inflater)
    var out: [String] = []
    for chunk in chunks {
        var offset = 0
        while true {
            let e = chunk.withUnsafeBytes { parser.next($0, offset: &offset) }
            if case .needMore = e { break }
            out.append(describe(e))
            if case .violation = e { return out }
        }
    }
    return out
}

/// Events for `bytes` delivered whole, and checks that every two-way split gives the same events.
func eventsEverySplit(_ bytes: [UInt8], role: WebSocketRole = .server, limits: WebSocketLimits = WebSocketLimits(),
                      makeInflater: () -> Inflater? = { nil }) -> [String] {
    let whole = events([bytes], role: role, limits: limits, inflater: makeInflater())
    for split in 0...bytes.count {
        let parts = events([Array(bytes[..<split]), Array(bytes[split...])], role: role, limits: limits, inflater: makeInflater())
        if parts != whole { return ["split at \(split) differs: \(parts) vs \(whole)"] }
    }
    return whole
}
