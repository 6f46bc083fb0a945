// libFuzzer target: Sec-WebSocket-Extensions negotiation on arbitrary header text. An accepted
// offer must produce window sizes in range, and never compress with a window zlib cannot honor.
import WebSocket

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExtensions(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let p = DeflateNegotiation.negotiate([text], config: DeflateConfig()) {
        if !(8...15).contains(p.serverMaxWindowBits) || !(8...15).contains(p.clientMaxWindowBits)
            || p.compressesOutgoing != (p.serverMaxWindowBits >= 9) {
            fatalError("accepted unusable window bits: \(p)")
        }
    }
    return 0
}
