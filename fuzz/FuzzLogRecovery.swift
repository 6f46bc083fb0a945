// libFuzzer target: the outcome log's recovery scan (LogRecord.swift, compiled into this target).
// Properties: the scan never crashes on arbitrary bytes; and a valid log with a stretch of
// damage spliced in or written over at any place keeps every record the damage did not touch,
// in order, and counts exactly the bytes it skipped.
//
// Input: byte 0 picks how many records (1–8), byte 1 where the damage goes, byte 2 whether it is
// inserted or overwrites; the rest is the damage. Damage bytes equal to the magic's first byte
// are replaced: a record forged inside the damage (magic, length and CRC chosen to swallow the
// next record) is a property of any checksummed format, not a recovery bug.
import HubBytes
import HubCore

func sampleOutcome(_ i: Int) -> Outcome {
    let key = try! OutcomeKey(validating: "fuzz-\(i % 3)")
    let padding = String(repeating: "v", count: i * 5)
    let data: [UInt8] = Array("{\"n\":\(i),\"s\":\"\(padding)\"}".utf8)
    let status: OutcomeStatus = i == 8 ? .completed : .progress
    let idempotencyKey: String? = i % 2 == 0 ? "idem-\(i)" : nil
    return Outcome(key: key, seq: UInt64(i), id: "id-\(i)", status: status, data: data, publishedAt: 1_000, expiresAt: 9_000,
                   idempotencyKey: idempotencyKey)
}
let sample: [Outcome] = (1...8).map(sampleOutcome)
let encoded = sample.map { LogRecord.encode($0) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogRecovery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = LogRecord.scan(bytes)
    guard bytes.count >= 4 else { return 0 }

    let count = Int(bytes[0] % 8) + 1
    let records = Array(encoded.prefix(count))
    let damage = bytes[3...].map { $0 == LogRecord.magic[0] ? 0x20 : $0 }
    let at = Int(bytes[1]) % (count + 1)          // damage before record `at`
    var log = records[..<at].flatMap { $0 }
    var expected = Array(sample[..<at])
    if bytes[2] % 2 == 0 || at == count {
        // Spliced in between records.
        log += damage
        log += records[at...].flatMap { $0 }
        expected += sample[at..<count]
    } else {
        // Written over the start of record `at` (and maybe beyond): what it covers is lost.
        var rest = records[at...].flatMap { $0 }
        let covered = min(damage.count, rest.count)
        rest.replaceSubrange(0..<covered, with: damage[0..<covered])
        log += rest
        var offset = 0
        for (i, r) in records[at...].enumerated() {
            if offset >= covered { expected.append(sample[at + i]) }
            offset += r.count
        }
    }
    let found = LogRecord.scan(log)
    if found.outcomes != expected {
        fatalError("recovered \(found.outcomes.map(\.seq)), expected \(expected.map(\.seq))")
    }
    return 0
}
