// libFuzzer target: the RESP3 parser on arbitrary bytes. Properties: it never crashes or recurses
// past its depth bound; fed whole or split at any offset it gives the same values and the same
// refusal; every value it returns encodes to bytes that parse back to the same encoding.
import RESP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var limits = RESPLimits()
    limits.maxBulkBytes = 1 << 16
    limits.maxElements = 1 << 12
    let whole = parseAll([bytes[...]], limits: limits)
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    let split = parseAll([bytes[..<cut], bytes[cut...]], limits: limits)
    if whole.encodings != split.encodings || whole.refusal != split.refusal {
        fatalError("split at \(cut) changed the result")
    }
    for encoding in whole.encodings {
        var again = RESPParser(limits: limits)
        again.feed(encoding)
        guard let value = try? again.next(), RESPEncoder.encode(value) == encoding else {
            fatalError("an encoded value does not parse back to itself")
        }
    }
    return 0
}

func parseAll(_ pieces: [ArraySlice<UInt8>], limits: RESPLimits) -> (encodings: [[UInt8]], refusal: RESPError?) {
    var parser = RESPParser(limits: limits)
    var encodings: [[UInt8]] = []
    do {
        for piece in pieces {
            parser.feed(piece)
            while let value = try parser.next() { encodings.append(RESPEncoder.encode(value)) }
        }
        return (encodings, nil)
    } catch {
        return (encodings, error)
    }
}
