// libFuzzer target: the client's response parser and multipart codec on arbitrary bytes.
// Properties: never crashes; the same bytes give the same answer whether they arrive whole or
// split at any point (the first byte chooses where); a parsed multipart body re-encodes to parts
// that parse back equal.
import HTTP1

func describe(_ step: ResponseParser.Step) -> String {
    switch step {
    case .needMore: return "more"
    case .response(let r): return "\(r.status) \(r.headers.fields.map { "\($0.name)=\($0.value)" }) \(r.body) \(r.keepAlive)"
    case .failure(let e): return "fail \(e.status)"
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    var whole = ResponseParser(maxBodyBytes: 1 << 16)
    whole.feed(bytes)
    let a = describe(whole.next())
    var split = ResponseParser(maxBodyBytes: 1 << 16)
    let cut = Int(first) % (bytes.count + 1)
    split.feed(bytes[..<cut])
    var b = describe(split.next())
    if b == "more" {
        split.feed(bytes[cut...])
        b = describe(split.next())
    }
    // A split can only show an error earlier (a limit seen on a prefix), never a different response.
    if a != b && !(a.hasPrefix("fail") && b.hasPrefix("fail")) && !b.hasPrefix("fail") { fatalError("split changed the answer: \(a) vs \(b)") }
    _ = whole.finishAtClose()

    if case .success(let parts) = MultipartForm.parse(bytes, boundary: "b0und") {
        let clean = parts.filter { p in
            !(p.name + (p.filename ?? "")).contains { $0 == "\"" || $0 == "\r" || $0 == "\n" } && !p.body.containsBoundary
        }
        let again = MultipartForm.parse(MultipartForm.encode(clean, boundary: "b0und"), boundary: "b0und")
        guard case .success(let back) = again, back.map(\.body) == clean.map(\.body), back.map(\.name) == clean.map(\.name) else {
            fatalError("multipart round trip failed")
        }
    }
    return 0
}

extension Array where Element == UInt8 {
    var containsBoundary: Bool { MultipartForm.find(Array("--b0und".utf8), in: self, from: 0) != nil }
}
