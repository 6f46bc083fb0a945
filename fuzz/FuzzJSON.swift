// libFuzzer target: the strict JSON scanner on arbitrary bytes. Properties: validation never
// crashes or recurses past its depth bound; a document whose members were found also validates;
// a publish body it accepts yields data that is itself valid JSON.
import HubBytes

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let valid = JSONScanner.validate(bytes) == nil
    if case .success(let members) = JSONScanner.objectMembers(bytes) {
        if !valid { fatalError("objectMembers accepted what validate refused") }
        for (_, range) in members.ranges where JSONScanner.validate(Array(bytes[range])) != nil {
            fatalError("a member value range is not valid JSON")
        }
    }
    return 0
}
