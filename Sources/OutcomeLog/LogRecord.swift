// The outcome log's record format and its recovery scan.
//
//   record: magic "AHL2" · u32 payload length (LE) · u32 CRC-32 of length bytes + payload (LE) · payload
//
//   scan ─▶ record valid? ─▶ keep, next
//        └▶ not valid ─▶ search forward for the next valid record (magic, sane length, CRC)
//              found     ─▶ the bytes between are damage: skipped, counted, the file kept aside
//              not found ─▶ a record cut short at the end (a crash mid-write) is a torn tail;
//                           anything else is damage too
//
// The magic lets recovery resynchronise after a corrupt byte instead of dropping everything
// behind it; the CRC covers the length, so a damaged length cannot make the scan skip intact
// records. Files written before the magic existed ("version 1": length · CRC · payload) are
// read in order up to their first bad record and rewritten in this format at start.
import CZlib
import HubBytes
import HubCore

enum LogRecord {
    static let magic: [UInt8] = Array("AHL2".utf8)
    static let headerBytes = 12
    /// Larger than any outcome the hub accepts (data is capped far below this).
    static let maxPayloadBytes = 64 << 20

    /// What one record holds.
    enum Entry: Equatable {
        case outcome(Outcome)
        case record(StoredRecord)
    }

    /// The record of one stored document: `{"r": id, "e": expiresAt, "b": body}`.
    static func encode(_ r: StoredRecord) -> [UInt8] {
        var payload = Array("{\"r\":".utf8)
        payload += Array(JSONText.quoted(r.id).utf8)
        payload += Array(",\"e\":\(r.expiresAt),\"b\":".utf8)
        payload += r.body
        payload.append(UInt8(ascii: "}"))
        return frame(payload)
    }

    /// The record of one outcome. The payload is JSON with short member names.
    static func encode(_ o: Outcome) -> [UInt8] {
        var payload = Array("{\"k\":\"\(o.key.value)\",\"s\":\(o.seq),\"i\":".utf8)
        payload += Array(JSONText.quoted(o.id).utf8)
        payload += Array(",\"st\":\"\(o.status.rawValue)\",\"p\":\(o.publishedAt),\"e\":\(o.expiresAt),\"ik\":".utf8)
        payload += Array((o.idempotencyKey.map { JSONText.quoted($0) } ?? "null").utf8)
        payload += Array(",\"d\":".utf8)
        payload += o.data
        payload.append(UInt8(ascii: "}"))
        return frame(payload)
    }

    private static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + headerBytes)
        out += magic
        let length = le(UInt32(payload.count))
        out += length
        out += le(checksum(length[...], payload[...]))
        out += payload
        return out
    }

    /// What a scan found.
    struct Recovery {
        var outcomes: [Outcome] = []
        /// Stored documents, in the order written (a later one replaces an earlier one's id).
        var records: [StoredRecord] = []
        /// Stretches of unreadable bytes followed by intact records (or unreadable to the end).
        var damagedRegions = 0
        var damagedBytes = 0
        /// Bytes of a record cut short at the end of the file: an interrupted append.
        var tornTailBytes = 0
        var isLegacyFormat = false
    }

    static func scan(_ bytes: [UInt8]) -> Recovery {
        // A version 1 file starts with a valid version 1 record; a current file whose first
        // bytes are damaged does not, and is resynchronised like any other damage.
        if !startsWithMagic(bytes, 0), let legacy = scanLegacy(bytes) { return legacy }
        var found = Recovery()
        var i = 0
        while i < bytes.count {
            if let (entry, next) = record(in: bytes, at: i) {
                switch entry {
                case .outcome(let o): found.outcomes.append(o)
                case .record(let r): found.records.append(r)
                }
                i = next
                continue
            }
            guard let resume = nextRecordStart(in: bytes, after: i) else {
                if isCutShort(bytes, at: i) { found.tornTailBytes = bytes.count - i } else {
                    found.damagedRegions += 1
                    found.damagedBytes += bytes.count - i
                }
                break
            }
            found.damagedRegions += 1
            found.damagedBytes += resume - i
            i = resume
        }
        return found
    }

    /// The valid record at `i` and where the next one starts, or nil.
    private static func record(in bytes: [UInt8], at i: Int) -> (Entry, Int)? {
        guard startsWithMagic(bytes, i), i + headerBytes <= bytes.count else { return nil }
        let length = Int(readLE(bytes, i + 4))
        guard length > 0, length <= maxPayloadBytes, i + headerBytes + length <= bytes.count else { return nil }
        let payload = bytes[(i + headerBytes)..<(i + headerBytes + length)]
        guard checksum(bytes[(i + 4)..<(i + 8)], payload) == readLE(bytes, i + 8),
              let entry = parse(Array(payload)) else { return nil }
        return (entry, i + headerBytes + length)
    }

    private static func nextRecordStart(in bytes: [UInt8], after i: Int) -> Int? {
        var j = i + 1
        while j + headerBytes <= bytes.count {
            if bytes[j] == magic[0], record(in: bytes, at: j) != nil { return j }
            j += 1
        }
        return nil
    }

    /// A record header whose payload runs past the end, or a header itself cut short: what an
    /// append interrupted by a crash leaves.
    /// Zeros to the end are space a file system allocated but never got written (and what a
    /// crash during the store's write probe leaves): a torn tail as well.
    private static func isCutShort(_ bytes: [UInt8], at i: Int) -> Bool {
        if bytes[i...].allSatisfy({ $0 == 0 }) { return true }
        let rest = bytes.count - i
        if rest < headerBytes { return rest < 4 ? startsWithMagicPrefix(bytes, i) : startsWithMagic(bytes, i) }
        guard startsWithMagic(bytes, i) else { return false }
        let length = Int(readLE(bytes, i + 4))
        return length > 0 && length <= maxPayloadBytes && i + headerBytes + length > bytes.count
    }

    private static func startsWithMagicPrefix(_ bytes: [UInt8], _ i: Int) -> Bool {
        zip(bytes[i...], magic).allSatisfy { $0 == $1 }
    }

    private static func startsWithMagic(_ bytes: [UInt8], _ i: Int) -> Bool {
        i + 4 <= bytes.count && bytes[i] == magic[0] && bytes[i + 1] == magic[1] && bytes[i + 2] == magic[2] && bytes[i + 3] == magic[3]
    }

    /// Version 1 files: length · CRC of the payload · payload, read up to the first bad record.
    /// Nil when the first record is not a valid version 1 record.
    private static func scanLegacy(_ bytes: [UInt8]) -> Recovery? {
        var found = Recovery(isLegacyFormat: true)
        var i = 0
        while i + 8 <= bytes.count {
            let length = Int(readLE(bytes, i)), sum = readLE(bytes, i + 4)
            guard length > 0, length <= maxPayloadBytes, i + 8 + length <= bytes.count else { break }
            let payload = Array(bytes[(i + 8)..<(i + 8 + length)])
            guard checksum([UInt8]()[...], payload[...]) == sum, case .outcome(let outcome)? = parse(payload) else { break }
            found.outcomes.append(outcome)
            i += 8 + length
        }
        if found.outcomes.isEmpty { return nil }
        if i < bytes.count { found.damagedRegions = 1; found.damagedBytes = bytes.count - i }
        return found
    }

    private static func parse(_ payload: [UInt8]) -> Entry? {
        guard case .success(let m) = JSONScanner.objectMembers(payload) else { return nil }
        if let r = m.range(of: "r") {
            guard let id = JSONScanner.stringValue(payload, r),
                  let e = m.range(of: "e").flatMap({ Int64(String(decoding: payload[$0], as: UTF8.self)) }),
                  let b = m.range(of: "b") else { return nil }
            return .record(StoredRecord(id: id, body: Array(payload[b]), expiresAt: e))
        }
        guard let k = m.range(of: "k").flatMap({ JSONScanner.stringValue(payload, $0) }), let key = try? OutcomeKey(validating: k),
              let seq = m.range(of: "s").flatMap({ UInt64(String(decoding: payload[$0], as: UTF8.self)) }),
              let id = m.range(of: "i").flatMap({ JSONScanner.stringValue(payload, $0) }),
              let st = m.range(of: "st").flatMap({ JSONScanner.stringValue(payload, $0) }), let status = OutcomeStatus(rawValue: st),
              let p = m.range(of: "p").flatMap({ Int64(String(decoding: payload[$0], as: UTF8.self)) }),
              let e = m.range(of: "e").flatMap({ Int64(String(decoding: payload[$0], as: UTF8.self)) }),
              let d = m.range(of: "d") else { return nil }
        let idem = m.range(of: "ik").flatMap { JSONScanner.stringValue(payload, $0) }
        return .outcome(Outcome(key: key, seq: seq, id: id, status: status, data: Array(payload[d]), publishedAt: p, expiresAt: e, idempotencyKey: idem))
    }

    /// The latest version of each record id, in first-written order, dropping those expired by `nowMs`.
    static func latest(_ records: [StoredRecord], nowMs: Int64) -> [StoredRecord] {
        var index: [String: Int] = [:]
        var out: [StoredRecord] = []
        for r in records {
            if let i = index[r.id] { out[i] = r } else { index[r.id] = out.count; out.append(r) }
        }
        return out.filter { $0.expiresAt > nowMs }
    }

    private static func checksum(_ prefix: ArraySlice<UInt8>, _ payload: ArraySlice<UInt8>) -> UInt32 {
        var sum = prefix.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        sum = payload.withUnsafeBufferPointer { crc32(sum, $0.baseAddress, uInt($0.count)) }
        return UInt32(sum)
    }

    private static func le(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)]
    }

    private static func readLE(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}
