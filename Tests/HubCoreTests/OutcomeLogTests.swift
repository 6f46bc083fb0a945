import Dispatch
import Foundation
import Logging
import Synchronization
import Testing
import HubBytes
@testable import HubCore
@testable import OutcomeLog

/// A disk that fills up: writes go through until the file reaches `capacity` bytes (a partial
/// write, then ENOSPC, exactly as a full file system answers), and fsync or truncate fail on demand.
final class FaultyDisk: Sendable {
    struct Plan { var capacity: Int?; var failingFsyncs = 0; var truncateFails = false }
    let plan = Mutex(Plan())

    var files: LogFileSystem {
        LogFileSystem(
            write: { [self] fd, bytes in
                var st = stat()
                fstat(fd, &st)
                let room = self.plan.withLock { $0.capacity }.map { max(0, $0 - Int(st.st_size)) } ?? bytes.count
                if room == 0 { errno = ENOSPC; return -1 }
                return Glibc.write(fd, bytes.baseAddress, min(room, bytes.count))
            },
            fsync: { [self] fd in
                let fail = self.plan.withLock { p -> Bool in
                    guard p.failingFsyncs > 0 else { return false }
                    p.failingFsyncs -= 1
                    return true
                }
                if fail { errno = EIO; return -1 }
                return Glibc.fsync(fd)
            },
            truncate: { [self] fd, length in
                if self.plan.withLock({ $0.truncateFails }) { errno = EIO; return -1 }
                return ftruncate(fd, off_t(length))
            })
    }
}

/// The faults below are injected on purpose: their error lines would only alarm whoever reads
/// the test output (the integration tests check what the hub logs).
let quiet: Logger = {
    var logger = Logger(label: "test.outcome-log")
    logger.logLevel = .critical
    return logger
}()

func tempLogPath() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("outcome-log-\(UInt64.random(in: 0...UInt64.max))")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("outcomes.log").path
}

func outcome(_ k: String, _ seq: UInt64, data: String = "{\"n\":1}") -> Outcome {
    Outcome(key: key(k), seq: seq, id: "id-\(k)-\(seq)", status: .completed, data: Array(data.utf8), publishedAt: 1_000,
            expiresAt: 4_000_000_000_000, idempotencyKey: "idem-\(seq)")
}

/// Runs a store call and waits for its completion.
func waiting(_ call: (@escaping @Sendable (Result<Void, HubError>) -> Void) -> Void) -> Result<Void, HubError> {
    let answer = Mutex<Result<Void, HubError>?>(nil)
    let done = DispatchSemaphore(value: 0)
    call { r in answer.withLock { $0 = r }; done.signal() }
    done.wait()
    return answer.withLock { $0! }
}

func appendWaiting(_ store: OutcomeLogStore, _ o: Outcome) -> Result<Void, HubError> { waiting { store.append(o, completion: $0) } }

func fileBytes(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }

func asideFiles(_ path: String) -> [String] {
    let dir = (path as NSString).deletingLastPathComponent
    return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".damaged-") }
}

@Suite struct OutcomeLogFaults {
    @Test func aWriteCutShortByAFullDiskIsRemovedSoLaterOutcomesFollowTheLastGoodRecord() throws {
        let path = tempLogPath(), disk = FaultyDisk()
        let store = try OutcomeLogStore(path: path, nowMs: 0, files: disk.files, logger: quiet)
        #expect(throws: Never.self) { try appendWaiting(store, outcome("a", 1)).get() }
        disk.plan.withLock { $0.capacity = fileBytes(path).count + 20 }   // room for 20 bytes of the next record
        #expect(throws: HubError.self) { try appendWaiting(store, outcome("a", 2)).get() }
        #expect(fileBytes(path) == LogRecord.encode(outcome("a", 1)))
        disk.plan.withLock { $0.capacity = nil }                          // space freed
        #expect(throws: Never.self) { try appendWaiting(store, outcome("a", 3)).get() }
        store.close()
        #expect(fileBytes(path) == LogRecord.encode(outcome("a", 1)) + LogRecord.encode(outcome("a", 3)))
        let reopened = try OutcomeLogStore(path: path, nowMs: 0, logger: quiet)
        #expect(reopened.recovered() == [outcome("a", 1), outcome("a", 3)])
        #expect(asideFiles(path).isEmpty)
    }

    @Test func aFailedFsyncFailsTheBatchAndCutsTheLogBack() throws {
        let path = tempLogPath(), disk = FaultyDisk()
        let store = try OutcomeLogStore(path: path, nowMs: 0, files: disk.files, logger: quiet)
        _ = appendWaiting(store, outcome("a", 1))
        disk.plan.withLock { $0.failingFsyncs = 1 }
        #expect(throws: HubError.self) { try appendWaiting(store, outcome("a", 2)).get() }
        #expect(store.unavailableReason?.contains("Input/output error") == true)
        #expect(fileBytes(path) == LogRecord.encode(outcome("a", 1)))
        #expect(throws: Never.self) { try appendWaiting(store, outcome("a", 3)).get() }
        #expect(store.unavailableReason == nil)
    }

    @Test func aLogThatCannotBeCutBackRefusesEveryWriteUntilItCan() throws {
        let path = tempLogPath(), disk = FaultyDisk()
        let store = try OutcomeLogStore(path: path, nowMs: 0, files: disk.files, logger: quiet)
        _ = appendWaiting(store, outcome("a", 1))
        disk.plan.withLock { $0.capacity = fileBytes(path).count + 5; $0.truncateFails = true }
        #expect(throws: HubError.self) { try appendWaiting(store, outcome("a", 2)).get() }
        disk.plan.withLock { $0.capacity = nil }
        // Space is back, but the torn bytes are still there: nothing may go behind them.
        #expect(throws: HubError.self) { try appendWaiting(store, outcome("a", 3)).get() }
        #expect(store.unavailableReason != nil)
        disk.plan.withLock { $0.truncateFails = false }
        #expect(throws: Never.self) { try appendWaiting(store, outcome("a", 4)).get() }
        store.close()
        #expect(try OutcomeLogStore(path: path, nowMs: 0, logger: quiet).recovered() == [outcome("a", 1), outcome("a", 4)])
    }

    @Test func aRefusingStoreProbesAndReportsReadyAgainWithoutAnyPublish() async throws {
        let path = tempLogPath(), disk = FaultyDisk()
        let store = try OutcomeLogStore(path: path, nowMs: 0, files: disk.files, logger: quiet)
        disk.plan.withLock { $0.capacity = 0 }
        #expect(throws: HubError.self) { try appendWaiting(store, outcome("a", 1)).get() }
        #expect(store.unavailableReason?.contains("No space left on device") == true)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(store.unavailableReason != nil, "still full: the probe must fail")
        disk.plan.withLock { $0.capacity = nil }
        for _ in 0..<40 where store.unavailableReason != nil { try await Task.sleep(for: .milliseconds(100)) }
        #expect(store.unavailableReason == nil)
        #expect(fileBytes(path).isEmpty, "the probe cuts its bytes off again")
    }
}

@Suite struct OutcomeLogRecovery {
    let records = (1...5).map { outcome("k", UInt64($0), data: "{\"n\":\($0),\"pad\":\"\(String(repeating: "x", count: $0 * 7))\"}") }

    func logBytes() -> [UInt8] { records.flatMap { LogRecord.encode($0) } }

    @Test func aCorruptByteAnywhereLosesOnlyItsOwnRecordAndTheOriginalIsKeptAside() throws {
        let bytes = logBytes()
        let ends = records.map { LogRecord.encode($0).count }.reduce(into: [0]) { $0.append($0.last! + $1) }
        for offset in stride(from: 0, to: bytes.count, by: 1) {
            let damagedRecord = ends.firstIndex { $0 > offset }! - 1
            // Every offset of a middle record; a sample of the others (the run stays short).
            guard damagedRecord == 2 || offset % 5 == 0 else { continue }
            var damaged = bytes
            damaged[offset] ^= 0xA5
            let path = tempLogPath()
            _ = FileManager.default.createFile(atPath: path, contents: Data(damaged))
            let store = try OutcomeLogStore(path: path, nowMs: 0, logger: quiet)
            var expected = records
            expected.remove(at: damagedRecord)
            #expect(store.recovered() == expected, "byte \(offset) in record \(damagedRecord + 1)")
            if damagedRecord < records.count - 1 {
                let aside = asideFiles(path)
                #expect(aside.count == 1, "byte \(offset): the damaged original is kept")
                let dir = (path as NSString).deletingLastPathComponent
                #expect(aside.first.map { fileBytes(dir + "/" + $0) } == damaged)
            }
            // The rewrite holds exactly the intact records.
            #expect(fileBytes(path) == expected.flatMap { LogRecord.encode($0) })
        }
    }

    @Test func aRecordCutShortAtTheEndIsATornTailNotDamage() throws {
        let bytes = logBytes()
        let lastStart = bytes.count - LogRecord.encode(records[4]).count
        for cut in lastStart..<bytes.count {
            let path = tempLogPath()
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes[0..<cut]))
            #expect(try OutcomeLogStore(path: path, nowMs: 0, logger: quiet).recovered() == Array(records[0..<4]), "cut at \(cut)")
            #expect(asideFiles(path).isEmpty)
        }
        let zeros = LogRecord.scan(logBytes() + [UInt8](repeating: 0, count: 4096))
        #expect(zeros.outcomes == records && zeros.tornTailBytes == 4096 && zeros.damagedRegions == 0)
    }

    @Test func expiredRecordsAreDroppedAtStart() throws {
        let path = tempLogPath()
        var old = outcome("k", 1)
        old.expiresAt = 500
        _ = FileManager.default.createFile(atPath: path, contents: Data(LogRecord.encode(old) + LogRecord.encode(outcome("k", 2))))
        #expect(try OutcomeLogStore(path: path, nowMs: 1_000, logger: quiet).recovered() == [outcome("k", 2)])
    }

    @Test func aVersionOneLogIsReadAndRewrittenInTheCurrentFormat() throws {
        var legacy: [UInt8] = []
        for r in records {
            let payload = Array(LogRecord.encode(r).dropFirst(LogRecord.headerBytes))
            legacy += le32(UInt32(payload.count)) + le32(crc32(payload)) + payload
        }
        let path = tempLogPath()
        _ = FileManager.default.createFile(atPath: path, contents: Data(legacy))
        #expect(try OutcomeLogStore(path: path, nowMs: 0, logger: quiet).recovered() == records)
        #expect(fileBytes(path) == logBytes())
    }

    @Test func aLogThatExistsButCannotBeOpenedIsAnErrorNamingItNeverAFreshLog() throws {
        let path = tempLogPath()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        #expect {
            _ = try OutcomeLogStore(path: path, nowMs: 0, logger: quiet)
        } throws: { error in
            "\(error)".contains(path) && "\(error)".contains("Is a directory")
        }
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue)
    }
}

func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }

/// CRC-32 (IEEE), bit by bit: an independent check of the legacy format's checksum.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

@Suite struct StoredRecords {
    func putWaiting(_ store: OutcomeLogStore, _ r: StoredRecord) -> Result<Void, HubError> { waiting { store.put(r, completion: $0) } }

    @Test func recordsSurviveARestartLatestVersionFirstWrittenOrderExpiredDropped() throws {
        let path = tempLogPath()
        let store = try OutcomeLogStore(path: path, nowMs: 0, logger: quiet)
        let a1 = StoredRecord(id: "callback:1", body: Array("{\"state\":\"open\"}".utf8), expiresAt: 10_000)
        let b = StoredRecord(id: "callback:2", body: Array("{\"state\":\"open\"}".utf8), expiresAt: 10_000)
        let old = StoredRecord(id: "callback:3", body: Array("{}".utf8), expiresAt: 500)
        let a2 = StoredRecord(id: "callback:1", body: Array("{\"state\":\"answered\",\"data\":{\"x\":[1,2]}}".utf8), expiresAt: 20_000)
        for r in [a1, b, old] { #expect(throws: Never.self) { try putWaiting(store, r).get() } }
        _ = appendWaiting(store, outcome("k", 1))
        #expect(throws: Never.self) { try putWaiting(store, a2).get() }
        store.close()
        let reopened = try OutcomeLogStore(path: path, nowMs: 1_000, logger: quiet)
        #expect(reopened.recoveredRecords() == [a2, b])
        #expect(reopened.recovered() == [outcome("k", 1)])
        // The rewrite keeps exactly the live versions.
        #expect(try OutcomeLogStore(path: path, nowMs: 1_000, logger: quiet).recoveredRecords() == [a2, b])
    }

    @Test func aRecordRefusedByAFullDiskIsNotKept() throws {
        let path = tempLogPath(), disk = FaultyDisk()
        let store = try OutcomeLogStore(path: path, nowMs: 0, files: disk.files, logger: quiet)
        disk.plan.withLock { $0.capacity = 10 }
        #expect(throws: HubError.self) { try putWaiting(store, StoredRecord(id: "x", body: Array("{}".utf8), expiresAt: 9_000)).get() }
        store.close()
        #expect(try OutcomeLogStore(path: path, nowMs: 0, logger: quiet).recoveredRecords().isEmpty)
    }
}
