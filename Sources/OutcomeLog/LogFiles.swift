// File operations of the outcome log. The three calls on the append descriptor go through
// `LogFileSystem`, a seam where tests inject ENOSPC and EIO: a real disk cannot be made to fail
// on demand inside a unit test. Errors name the file and say the OS error in words.
import Foundation

/// The system calls the log makes on its append descriptor.
public struct LogFileSystem: Sendable {
    /// Writes some of the bytes; returns how many, or -1 with `errno` set.
    public var write: @Sendable (_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int
    public var fsync: @Sendable (_ fd: Int32) -> Int32
    public var truncate: @Sendable (_ fd: Int32, _ length: Int) -> Int32

    public init(write: @escaping @Sendable (Int32, UnsafeRawBufferPointer) -> Int,
                fsync: @escaping @Sendable (Int32) -> Int32,
                truncate: @escaping @Sendable (Int32, Int) -> Int32) {
        self.write = write; self.fsync = fsync; self.truncate = truncate
    }

    public static let system = LogFileSystem(
        write: { fd, bytes in Glibc.write(fd, bytes.baseAddress, bytes.count) },
        fsync: { Glibc.fsync($0) },
        truncate: { Glibc.ftruncate($0, off_t($1)) })

    /// Writes every byte (retrying short writes and EINTR); on failure returns errno.
    func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, UnsafeRawBufferPointer(rebasing: $0[written...])) }
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            written += n
        }
        return nil
    }
}

/// Why the log cannot be opened or written, in words an operator can act on.
public struct StoreError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
    init(_ what: String, _ path: String, errno code: Int32) { description = "\(what) \(path): \(osError(code))" }
}

/// `strerror` text with the symbolic number, e.g. "No space left on device (errno 28)".
func osError(_ code: Int32) -> String { "\(String(cString: strerror(code))) (errno \(code))" }

enum LogFiles {
    /// The whole file, or nil if it does not exist. A file that exists but cannot be opened for
    /// writing is an error: the log must never be replaced by a fresh one behind the operator's back.
    static func readExisting(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw StoreError("cannot open the outcome log for writing:", path, errno: errno)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError("cannot read the outcome log", path, errno: errno)
            }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
    }

    /// Writes `bytes` to a new file at `path` and fsyncs it.
    static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError("cannot create", path, errno: errno) }
        defer { close(fd) }
        if let e = LogFileSystem.system.writeAll(fd, bytes) { throw StoreError("cannot write", path, errno: e) }
        guard fsync(fd) == 0 else { throw StoreError("cannot fsync", path, errno: errno) }
    }

    /// Replaces `path` with `bytes` atomically: tmp file, fsync, rename, fsync of the directory.
    static func replaceDurably(_ path: String, with bytes: [UInt8]) throws {
        let tmp = path + ".tmp"
        try writeDurably(bytes, to: tmp)
        guard rename(tmp, path) == 0 else { throw StoreError("cannot rename \(tmp) to", path, errno: errno) }
        syncDirectory(of: path)
    }

    /// Keeps the damaged file under a new name (a hard link, or a copy where links fail), so
    /// the rewrite that follows never destroys the only copy of what recovery could not read.
    static func keepAside(_ path: String, bytes: [UInt8], nowMs: Int64) throws -> String {
        let aside = "\(path).damaged-\(nowMs)"
        if link(path, aside) != 0 { try writeDurably(bytes, to: aside) }
        syncDirectory(of: path)
        return aside
    }

    static func syncDirectory(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
