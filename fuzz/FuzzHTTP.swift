// libFuzzer target: the HTTP/1.1 request parser, fed in chunks whose size the input chooses.
// Property checked besides "no crash": the same bytes split differently give the same requests.
import HTTP1

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 1 else { return 0 }
    let chunk = Int(data[0]) % 64 + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    var limits = HTTPLimits()
    limits.maxHeaderBytes = 2048
    limits.maxBodyBytes = 4096
    limits.maxRequestLineBytes = 512
    func run(_ step: Int) -> [String] {
        var parser = RequestParser(limits: limits)
        var out: [String] = []
        var i = 0
        while i < bytes.count {
            parser.feed(Array(bytes[i..<min(bytes.count, i + step)]))
            i += step
            loop: while true {
                switch parser.next() {
                case .needMore: break loop
                case .sendContinue: continue
                case .request(let r): out.append("\(r.method) \(r.target) \(r.headers.count) \(r.body.count)")
                case .failure(let e): out.append("E\(e.status)"); return out
                }
            }
        }
        return out
    }
    let a = run(bytes.count), b = run(chunk)
    if a != b { fatalError("split-dependent result: \(a) vs \(b)") }
    return 0
}
