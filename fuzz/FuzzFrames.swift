// libFuzzer target: the WebSocket frame parser (server role, permessage-deflate on), fed whole
// and in input-chosen chunks; both must yield the same events.
import WebSocket

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 1 else { return 0 }
    let chunk = Int(data[0]) % 32 + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    var limits = WebSocketLimits()
    limits.maxFrameBytes = 64 * 1024
    limits.maxMessageBytes = 256 * 1024
    limits.maxFragments = 64
    func run(_ step: Int) -> [String] {
        var parser = WebSocketParser(role: .server, limits: limits, inflater: Inflater(resetPerMessage: true))
        var out: [String] = []
        var i = 0
        while i < bytes.count {
            let part = Array(bytes[i..<min(bytes.count, i + step)])
            i += step
            var offset = 0
            while true {
                let e = part.withUnsafeBytes { parser.next($0, offset: &offset) }
                switch e {
                case .needMore: break
                case .message(let k, let p): out.append("m\(k == .text ? "t" : "b")\(p.count)\(p.first ?? 0)")
                case .ping(let p): out.append("ping\(p.count)")
                case .pong(let p): out.append("pong\(p.count)")
                case .close(let c, let r): out.append("close\(c?.rawValue ?? 0)\(r.utf8.count)")
                case .violation(let c, _): out.append("v\(c.rawValue)"); return out
                }
                if case .needMore = e { break }
            }
        }
        return out
    }
    let a = run(bytes.count), b = run(chunk)
    if a != b { fatalError("split-dependent result: \(a) vs \(b)") }
    return 0
}
