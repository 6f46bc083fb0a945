// A durable outcome store: an append-only log with group commit. It also keeps the hub's other
// documents (callback and action-link records, latest version per id) in the same file.
//
//   append ─▶ pending list ─▶ writer queue: write every pending record, one fsync, complete them all
//             write or fsync failed ─▶ truncate back to the last good offset, fail the batch,
//             refuse-and-probe: /readyz 503 until a probe write succeeds (every second)
//             truncate failed too   ─▶ broken: every append refused until a truncate succeeds
//   start  ─▶ read every record (LogRecord.scan resynchronises past damage) ─▶ damage? keep the
//             file aside ─▶ rewrite compacted (tmp + fsync + rename + fsync dir)
//
// A publish is acknowledged only after the fsync that covers its record, so an acknowledged
// outcome survives SIGKILL and power loss (as far as the disk honors fsync). After a failed
// write the file is cut back to its last good record before anything else is appended, so a
// torn record never sits in front of later acknowledged ones. Releases by ack are not logged:
// after a restart such outcomes are replayed until they expire (at-least-once).
import Dispatch
import Foundation
import HubCore
import Logging
import Synchronization

public final class OutcomeLogStore: OutcomeStore {
    public let path: String
    private let fd: Int32
    private let files: LogFileSystem
    private let logger: Logger
    private let queue = DispatchQueue(label: "affinity.outcome-log")
    private struct Pending { var bytes: [UInt8]; var completion: @Sendable (Result<Void, HubError>) -> Void }
    private let pending = Mutex<(items: [Pending], flushScheduled: Bool)>(([], false))
    private let recoveredOutcomes: [Outcome]
    private let recoveredDocuments: [StoredRecord]

    /// The writer's state. Touched only on `queue` (the Mutex is uncontended; it makes the
    /// class's Sendable conformance checkable instead of asserted).
    private struct Writer {
        /// End of the last batch that was written and fsynced: the file is cut back to it after a failure.
        var goodOffset: Int
        /// Compaction runs when the file doubles past its size after the last one.
        var compactAt: Int
        /// A failed write could not be cut back: nothing may be appended behind the torn bytes.
        var broken = false
        var probeScheduled = false
        var lastErrorLogMs: Int64 = 0
        var suppressedErrors = 0
    }
    private let writer: Mutex<Writer>
    private let refusal = Mutex<String?>(nil)

    /// Called after each fsync batch with its latency (metrics).
    public let onBatch: (@Sendable (_ records: Int, _ micros: Int) -> Void)?

    public var isDurable: Bool { true }
    public var unavailableReason: String? { refusal.withLock { $0 } }

    /// Opens (or creates) the log at `path`, recovering every intact unexpired record. Throws,
    /// naming the file and the OS error, when the log cannot be read or written.
    public init(path: String, nowMs: Int64, files: LogFileSystem = .system, logger: Logger = Logger(label: "affinity.outcome-log"),
                onBatch: (@Sendable (Int, Int) -> Void)? = nil) throws {
        self.path = path
        self.files = files
        self.logger = logger
        self.onBatch = onBatch
        let existing = try LogFiles.readExisting(path)
        let found = LogRecord.scan(existing ?? [])
        if found.damagedRegions > 0, let existing {
            let aside = try LogFiles.keepAside(path, bytes: existing, nowMs: nowMs)
            logger.error("outcome log damaged: skipped unreadable bytes and kept every intact record after them", metadata: [
                "path": "\(path)", "damaged_regions": "\(found.damagedRegions)", "skipped_bytes": "\(found.damagedBytes)",
                "records_recovered": "\(found.outcomes.count)", "original_kept_at": "\(aside)",
            ])
        }
        if found.tornTailBytes > 0 {
            logger.warning("outcome log ends in a record cut short (an append interrupted by a crash; never acknowledged): dropped it",
                           metadata: ["path": "\(path)", "bytes": "\(found.tornTailBytes)"])
        }
        let live = found.outcomes.filter { $0.expiresAt > nowMs }
        recoveredOutcomes = live
        recoveredDocuments = LogRecord.latest(found.records, nowMs: nowMs)
        // Rewrite compacted before appending, so nothing unreadable sits in front of new records.
        var compacted: [UInt8] = []
        for outcome in live { compacted += LogRecord.encode(outcome) }
        for record in recoveredDocuments { compacted += LogRecord.encode(record) }
        try LogFiles.replaceDurably(path, with: compacted)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError("cannot open the outcome log for appending:", path, errno: errno) }
        writer = Mutex(Writer(goodOffset: compacted.count, compactAt: max(64 << 20, compacted.count * 2)))
    }

    deinit { Glibc.close(fd) }

    public func recovered() -> [Outcome] { recoveredOutcomes }
    public func recoveredRecords() -> [StoredRecord] { recoveredDocuments }

    public func put(_ record: StoredRecord, completion: @escaping @Sendable (Result<Void, HubError>) -> Void) {
        enqueue(Pending(bytes: LogRecord.encode(record), completion: completion))
    }

    public func append(_ outcome: Outcome, completion: @escaping @Sendable (Result<Void, HubError>) -> Void) {
        enqueue(Pending(bytes: LogRecord.encode(outcome), completion: completion))
    }

    public func afterPendingWrites(_ completion: @escaping @Sendable (Result<Void, HubError>) -> Void) {
        // An empty record: completes with the batch that carries everything queued before it.
        enqueue(Pending(bytes: [], completion: completion))
    }

    private func enqueue(_ item: Pending) {
        let schedule = pending.withLock { state -> Bool in
            state.items.append(item)
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
        let result = write(buffer)
        onBatch?(batch.count, Int((DispatchTime.now().uptimeNanoseconds - started) / 1000))
        for p in batch { p.completion(result) }
    }

    /// Writes and fsyncs `buffer` at the end of the log, or leaves the log at its last good offset.
    private func write(_ buffer: [UInt8]) -> Result<Void, HubError> {
        // A batch of only `afterPendingWrites` markers: everything before it is already settled.
        if buffer.isEmpty { return .success(()) }
        if writer.withLock({ $0.broken }) && !cutBackToGoodOffset() {
            return .failure(.storeFailed("the outcome log could not be cut back to its last good record; writes are refused until it can"))
        }
        let failed: (what: String, errno: Int32)?
        if let e = files.writeAll(fd, buffer) { failed = ("writing", e) }
        else if files.fsync(fd) != 0 { failed = ("fsync of", errno) }
        else { failed = nil }
        guard let failed else {
            writer.withLock { $0.goodOffset += buffer.count }
            markAvailable()
            return .success(())
        }
        let repaired = cutBackToGoodOffset()
        let reason = "\(failed.what) the outcome log failed: \(osError(failed.errno))"
        refuse(reason + (repaired ? "" : "; cutting it back to its last good record failed too"))
        return .failure(.storeFailed(reason))
    }

    /// Truncates the file to the end of its last good batch and fsyncs, so torn bytes from a
    /// failed write never precede later records. Returns false (and marks the log broken) if it
    /// cannot.
    private func cutBackToGoodOffset() -> Bool {
        let good = writer.withLock { $0.goodOffset }
        let ok = files.truncate(fd, good) == 0 && files.fsync(fd) == 0
        writer.withLock { $0.broken = !ok }
        return ok
    }

    // MARK: refusing and probing

    /// Records why writes fail (for /readyz), logs it at most every 5 s, and starts probing.
    private func refuse(_ reason: String) {
        refusal.withLock { $0 = reason }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let (log, suppressed, probe) = writer.withLock { w -> (Bool, Int, Bool) in
            let probe = !w.probeScheduled
            w.probeScheduled = true
            guard now - w.lastErrorLogMs >= 5000 else { w.suppressedErrors += 1; return (false, 0, probe) }
            defer { w.lastErrorLogMs = now; w.suppressedErrors = 0 }
            return (true, w.suppressedErrors, probe)
        }
        if log {
            logger.error("outcome store refuses writes", metadata: ["path": "\(path)", "reason": "\(reason)",
                                                                    "similar_errors_not_logged": "\(suppressed)"])
        }
        if probe { queue.asyncAfter(deadline: .now() + 1) { self.probe() } }
    }

    private func markAvailable() {
        let was = refusal.withLock { r -> String? in defer { r = nil }; return r }
        if was != nil { logger.notice("outcome store accepts writes again", metadata: ["path": "\(path)"]) }
    }

    /// While writes are refused and no publish arrives to try again (a load balancer stopped
    /// sending them), a probe writes 4 KiB at the end, fsyncs, and cuts it off again.
    private func probe() {
        writer.withLock { $0.probeScheduled = false }
        guard refusal.withLock({ $0 }) != nil else { return }
        let zeros = [UInt8](repeating: 0, count: 4096)
        let canWrite = (!writer.withLock { $0.broken } || cutBackToGoodOffset())
            && files.writeAll(fd, zeros) == nil && files.fsync(fd) == 0
        // Cut back either way; trailing zeros left by a crash right here are read as a torn tail.
        if cutBackToGoodOffset() && canWrite { markAvailable() } else {
            writer.withLock { $0.probeScheduled = true }
            queue.asyncAfter(deadline: .now() + 1) { self.probe() }
        }
    }

    // MARK: compaction

    public func expired(count: Int) {
        guard writer.withLock({ $0.goodOffset > $0.compactAt }) else { return }
        queue.async { self.compact() }
    }

    /// Rewrites the log without expired records (on the writer queue, so no append interleaves).
    private func compact() {
        guard refusal.withLock({ $0 }) == nil, let bytes = try? LogFiles.readExisting(path) else { return }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let found = LogRecord.scan(bytes)
        var compacted: [UInt8] = []
        for outcome in found.outcomes where outcome.expiresAt > now { compacted += LogRecord.encode(outcome) }
        for record in LogRecord.latest(found.records, nowMs: now) { compacted += LogRecord.encode(record) }
        let tmp = path + ".tmp"
        guard (try? LogFiles.writeDurably(compacted, to: tmp)) != nil else { return }
        // Appends go to `fd`, which still names the old file after the rename: reopen by dup2.
        let newFD = open(tmp, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard newFD >= 0, rename(tmp, path) == 0 else { if newFD >= 0 { Glibc.close(newFD) }; return }
        LogFiles.syncDirectory(of: path)
        dup2(newFD, fd)
        Glibc.close(newFD)
        writer.withLock {
            $0.goodOffset = compacted.count
            $0.compactAt = max(64 << 20, compacted.count * 2)
        }
    }

    public func close() {
        queue.sync { self.flush() }
    }
}
