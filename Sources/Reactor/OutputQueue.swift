// A connection's pending output: shared immutable chunks plus how far the first one is written.
//
//   [chunk0 (offset k)] [chunk1] [chunk2] ...  ──writev (≤ 64 iovecs)──▶ socket
//
// Chunks are `OutboundBytes`, so fan-out queues the same bytes on many connections. The queue
// reports its size so the connection can apply its slow-consumer limit.
import CSystemShims
import Glibc
import HubBytes

/// Loop-confined output buffer of one connection.
public struct OutputQueue {
    private var chunks: [OutboundBytes] = []
    private var head = 0
    private var headOffset = 0
    /// Bytes queued and not yet written.
    public private(set) var queuedBytes = 0

    public init() {}

    public var isEmpty: Bool { queuedBytes == 0 }

    public mutating func append(_ bytes: OutboundBytes) {
        guard bytes.count > 0 else { return }
        chunks.append(bytes)
        queuedBytes += bytes.count
    }

    /// Marks `n` bytes as written.
    public mutating func consume(_ n: Int) {
        var left = n
        queuedBytes -= n
        while left > 0 {
            let available = chunks[head].count - headOffset
            if left >= available {
                left -= available
                head += 1
                headOffset = 0
            } else {
                headOffset += left
                left = 0
            }
        }
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: chunks.count <= 16)
            head = 0
        } else if head > 64 && head * 2 > chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }

    /// Fills `iov` with up to `max` unwritten regions; returns how many.
    public func fill(_ iov: UnsafeMutablePointer<iovec>, max: Int) -> Int {
        var n = 0
        var i = head
        while i < chunks.count && n < max {
            let skip = i == head ? headOffset : 0
            iov[n] = iovec(iov_base: chunks[i].base + skip, iov_len: chunks[i].count - skip)
            n += 1
            i += 1
        }
        return n
    }

    /// Copies up to `buffer.count` unwritten bytes into `buffer` (TLS coalesces small chunks into one record).
    public func copyPrefix(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var copied = 0
        var i = head
        while i < chunks.count && copied < buffer.count {
            let skip = i == head ? headOffset : 0
            let n = min(chunks[i].count - skip, buffer.count - copied)
            (buffer.baseAddress! + copied).copyMemory(from: chunks[i].base + skip, byteCount: n)
            copied += n
            i += 1
        }
        return copied
    }

    /// Drops everything (connection closed).
    public mutating func removeAll() {
        chunks = []
        head = 0
        headOffset = 0
        queuedBytes = 0
    }
}
