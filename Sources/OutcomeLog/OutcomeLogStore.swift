// A durable outcome store: an append-only log with group commit.
//
//   append ─▶ pending list ─▶ writer queue: write every pending record, one fsync, complete them all
//   start  ─▶ read records, stop at the first torn or corrupt one (a crash mid-write), keep the
//             unexpired, rewrite the file compacted (tmp + fsync + rename + fsync dir)
//
// Record: u32 payload length (LE) · u32 CRC-32 of the payload (LE) · payload (JSON, see `Record`).
// A publish is acknowledged only after the fsync that covers its record, so an acknowledged
// outcome survives SIGKILL and power loss (as far as the disk honors fsync). Releases by ack are
// not logged: after a restart such outcomes are replayed until they expire (at-least-once).
import CZlib
import Dispatch
import Foundation
import HubBytes
import HubCore
import Synchronization

public final class OutcomeLogStore: OutcomeStore {
    public let path: String
    private let fd: Int32
    private let queue = DispatchQueue(label: "affinity.outcome-log")
    private struct Pending { var bytes: [UInt8]; var completion: @Sendable (Result<Void, HubError>) -> Void }
    private let pending = Mutex<(items: [Pending], flushScheduled: Bool)>(([], false))
    private let recoveredOutcomes: [Outcome]
    /// Bytes in the file; compaction runs when it doubles past the size after the last one.
    private let fileBytes = Atomic<Int>(0)
    private let compactAt = Atomic<Int>(64 << 20)
    /// Called after each fsync batch with its latency (metrics).
    public let onBatch: (@Sendable (_ records: Int, _ micros: Int) -> Void)?

    public var isDurable: Bool { true }

    public init(path: String, nowMs: Int64, onBatch: (@Sendable (Int, Int) -> Void)? = nil) throws {
        self.path = path
        self.onBatch = onBatch
        let existing = (try? Data(contentsOf: URL(fileURLWithPath: path))).map { [UInt8]($0) } ?? []
        let live = Self.decode(existing).filter { $0.expiresAt > nowMs }
        recoveredOutcomes = live
        // Rewrite compacted before appending, so a torn tail never sits in front of new records.
        let tmp = path + ".tmp"
        var compacted: [UInt8] = []
        for outcome in live { compacted += Self.record(outcome) }
        try Self.writeDurably(compacted, to: tmp)
        guard rename(tmp, path) == 0 else { throw StoreError("rename \(tmp): errno \(errno)") }
        Self.syncDirectory(of: path)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError("open \(path): errno \(errno)") }
        fileBytes.store(compacted.count, ordering: .relaxed)
        compactAt.store(max(64 << 20, compacted.count * 2), ordering: .relaxed)
    }

    deinit { Glibc.close(fd) }

    public func recovered() -> [Outcome] { recoveredOutcomes }

    public func append(_ outcome: Outcome, completion: @escaping @Sendable (Result<Void, HubError>) -> Void) {
        let bytes = Self.record(outcome)
        let schedule = pending.withLock { state -> Bool in
            state.items.append(Pending(bytes: bytes, completion: completion))
            if state.flushScheduled { return false }
            state.flushScheduled = true
            return true
        }
        if schedule { queue.async { self.flush() } }
    }

    public func afterPendingWrites(_ completion: @escaping @Sendable (Result<Void, HubError>) -> Void) {
        // An empty record: completes with the batch that carries everything queued before it.
        let schedule = pending.withLock { state -> Bool in
            state.items.append(Pending(bytes: [], completion: completion))
            if state.flushScheduled { return false }
            state.flushScheduled = true
            return true
        }
        if schedule { queue.async { self.flush() } }
    }

    /// One batch: everything pending now, one write, one fsync. Appends arriving meanwhile form
    /// the next batch — the longer a fsync takes, the more it covers.
    private func flush() {
        let batch = pending.withLock { state -> [Pending] in
            let items = state.items
            state.items = []
            state.flushScheduled = false
            return items
        }
        guard !batch.isEmpty else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        var buffer: [UInt8] = []
        for p in batch { buffer += p.bytes }
        var result: Result<Void, HubError> = .success(())
        if !Self.writeAll(fd, buffer) || fsync(fd) != 0 {
            result = .failure(.storeFailed("writing the outcome log failed: errno \(errno)"))
        } else {
            fileBytes.add(buffer.count, ordering: .relaxed)
        }
        onBatch?(batch.count, Int((DispatchTime.now().uptimeNanoseconds - started) / 1000))
        for p in batch { p.completion(result) }
    }

    public func expired(count: Int) {
        guard fileBytes.load(ordering: .relaxed) > compactAt.load(ordering: .relaxed) else { return }
        queue.async { self.compact() }
    }

    /// Rewrites the log without expired records (on the writer queue, so no append interleaves).
    private func compact() {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { return }
        var compacted: [UInt8] = []
        for outcome in Self.decode([UInt8](data)) where outcome.expiresAt > now { compacted += Self.record(outcome) }
        let tmp = path + ".tmp"
        guard (try? Self.writeDurably(compacted, to: tmp)) != nil else { return }
        // Appends go to `fd`, which still names the old file after the rename: reopen by dup2.
        let newFD = open(tmp, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard newFD >= 0, rename(tmp, path) == 0 else { if newFD >= 0 { Glibc.close(newFD) }; return }
        Self.syncDirectory(of: path)
        dup2(newFD, fd)
        Glibc.close(newFD)
        fileBytes.store(compacted.count, ordering: .relaxed)
        compactAt.store(max(64 << 20, compacted.count * 2), ordering: .relaxed)
    }

    public func close() {
        queue.sync { self.flush() }
    }

    // MARK: encoding

    /// The record of one outcome. The payload is JSON with short member names.
    static func record(_ o: Outcome) -> [UInt8] {
        var payload = Array("{\"k\":\"\(o.key.value)\",\"s\":\(o.seq),\"i\":".utf8)
        payload += Array(JSONText.quoted(o.id).utf8)
        payload += Array(",\"st\":\"\(o.status.rawValue)\",\"p\":\(o.publishedAt),\"e\":\(o.expiresAt),\"ik\":".utf8)
        payload += Array((o.idempotencyKey.map { JSONText.quoted($0) } ?? "null").utf8)
        payload += Array(",\"d\":".utf8)
        payload += o.data
        payload.append(UInt8(ascii: "}"))
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 8)
        appendLE(UInt32(payload.count), to: &out)
        appendLE(crc(payload), to: &out)
        out += payload
        return out
    }

    /// Every intact record, in order, up to the first torn or corrupt one.
    static func decode(_ bytes: [UInt8]) -> [Outcome] {
        var out: [Outcome] = []
        var i = 0
        while i + 8 <= bytes.count {
            let length = Int(readLE(bytes, i)), sum = readLE(bytes, i + 4)
            guard length > 0, length <= 64 << 20, i + 8 + length <= bytes.count else { break }
            let payload = Array(bytes[(i + 8)..<(i + 8 + length)])
            guard crc(payload) == sum, let outcome = parse(payload) else { break }
            out.append(outcome)
            i += 8 + length
        }
        return out
    }

    private static func parse(_ payload: [UInt8]) -> Outcome? {
        guard case .success(let m) = JSONScanner.objectMembers(payload),
              let k = m.range(of: "k").flatMap({ JSONScanner.stringValue(payload, $0) }), let key = try? OutcomeKey(validating: k),
              let seq = m.range(of: "s").flatMap({ UInt64(String(decoding: payload[$0], as: UTF8.self)) }),
              let id = m.range(of: "i").flatMap({ JSONScanner.stringValue(payload, $0) }),
              let st = m.range(of: "st").flatMap({ JSONScanner.stringValue(payload, $0) }), let status = OutcomeStatus(rawValue: st),
              let p = m.range(of: "p").flatMap({ Int64(String(decoding: payload[$0], as: UTF8.self)) }),
              let e = m.range(of: "e").flatMap({ Int64(String(decoding: payload[$0], as: UTF8.self)) }),
              let d = m.range(of: "d") else { return nil }
        let idem = m.range(of: "ik").flatMap { JSONScanner.stringValue(payload, $0) }
        return Outcome(key: key, seq: seq, id: id, status: status, data: Array(payload[d]), publishedAt: p, expiresAt: e, idempotencyKey: idem)
    }

    private static func crc(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
    }

    private static func appendLE(_ v: UInt32, to out: inout [UInt8]) {
        out += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)]
    }

    private static func readLE(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    // MARK: files

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 { if errno == EINTR { continue }; return false }
            written += n
        }
        return true
    }

    private static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError("open \(path): errno \(errno)") }
        defer { Glibc.close(fd) }
        guard bytes.isEmpty || writeAll(fd, bytes), fsync(fd) == 0 else { throw StoreError("write \(path): errno \(errno)") }
    }

    private static func syncDirectory(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); Glibc.close(fd) }
    }
}

public struct StoreError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
