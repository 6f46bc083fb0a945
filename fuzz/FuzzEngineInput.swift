// libFuzzer target: what the dev engine reads from clients. Properties: the XML reader, the BPMN
// parser and the FEEL parser never crash or recurse without bound on arbitrary bytes; an expression
// that parses evaluates without crashing; a JSON value that parses serializes to text that parses
// back to the same value.
import DevEngine
import HubBytes

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEngineInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = BPMNParser.parse(bytes, resourceName: "fuzz.bpmn")
    let text = String(decoding: bytes, as: UTF8.self)
    if case .success(let e) = Expression.parse("=" + text) {
        _ = e.evaluate(["x": 5, "status": "ok", "order": ["total": 10], "flag": true])
    }
    if case .success(let v) = JSONValue.parse(bytes) {
        guard case .success(let back) = JSONValue.parse(v.serialized()), back == v else { fatalError("JSON round trip changed the value") }
    }
    return 0
}
