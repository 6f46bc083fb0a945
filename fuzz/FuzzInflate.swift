// libFuzzer target: raw inflate with an output cap (hostile compressed input), and a
// compress → inflate round trip of the same bytes.
import WebSocket

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInflate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let inflater = Inflater(resetPerMessage: true)
    switch inflater.inflateMessage(bytes, maxOutput: 1 << 20) {
    case .success(let out): if out.count > 1 << 20 { fatalError("cap exceeded") }
    case .failure: break
    }
    let compressed = Deflater(resetPerMessage: true).compressMessage(bytes)
    guard case .success(let back) = Inflater(resetPerMessage: true).inflateMessage(compressed, maxOutput: 1 << 20), back == bytes else {
        fatalError("round trip failed for \(size) bytes")
    }
    return 0
}
