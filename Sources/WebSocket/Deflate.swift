// permessage-deflate's compression (RFC 7692 §7.2) over the system zlib.
//
//   send:    payload ─▶ deflate(Z_SYNC_FLUSH) ─▶ strip trailing 00 00 FF FF ─▶ frame with RSV1
//   receive: payload ─▶ append 00 00 FF FF ─▶ inflate, output capped inside the loop ─▶ message
//
// Memory per stream (zlib's own formulas): deflate uses (1 << (windowBits + 2)) + (1 << (memLevel + 9))
// bytes — 256 KiB at windowBits 15, memLevel 8; inflate uses about (1 << windowBits) + 7 KiB — 39 KiB
// at 15. That is why the hub negotiates no context takeover by default and keeps one shared
// deflater and one shared inflater per event loop, reset per message, instead of two streams per
// connection: idle connections then cost no zlib memory at all.
import CZlib

/// Why inflation stopped.
public enum InflateError: Error, Sendable, Equatable {
    /// The output would exceed the cap (a decompression bomb or an oversized message).
    case tooLarge
    case corrupt(String)
}

/// A raw-deflate decompressor. Heap-pinned z_stream (zlib keeps pointers into it), freed in deinit.
/// Not thread-safe: owned by one event loop.
public final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    /// Reset before each message: the peer agreed not to reuse its window (client_no_context_takeover).
    public let resetPerMessage: Bool

    /// - Parameter windowBits: the peer's window (9...15; 8 is inflated with 9, which zlib requires for raw streams).
    public init(windowBits: Int = 15, resetPerMessage: Bool) {
        self.resetPerMessage = resetPerMessage
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = hub_inflate_init_raw(stream, Int32(max(9, min(15, windowBits))))
        precondition(rc == Z_OK, "inflateInit2 failed: \(rc)")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates one message's payload (without the stripped tail), stopping past `maxOutput` bytes.
    public func inflateMessage(_ payload: [UInt8], maxOutput: Int) -> Result<[UInt8], InflateError> {
        if resetPerMessage { inflateReset(stream) }
        var input = payload
        input.append(contentsOf: [0x00, 0x00, 0xFF, 0xFF])
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let result: Result<[UInt8], InflateError> = input.withUnsafeMutableBytes { inBuf in
            stream.pointee.next_in = inBuf.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = uInt(inBuf.count)
            defer { stream.pointee.next_in = nil; stream.pointee.avail_in = 0 }
            while true {
                let (rc, produced) = chunk.withUnsafeMutableBytes { outBuf -> (Int32, Int) in
                    stream.pointee.next_out = outBuf.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(outBuf.count)
                    let rc = inflate(stream, Z_SYNC_FLUSH)
                    let produced = outBuf.count - Int(stream.pointee.avail_out)
                    stream.pointee.next_out = nil
                    return (rc, produced)
                }
                if rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END {
                    let why = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                    inflateReset(stream)
                    return .failure(.corrupt(why))
                }
                // The cap is checked here, inside the loop, before the output can grow further.
                if output.count + produced > maxOutput {
                    inflateReset(stream)
                    return .failure(.tooLarge)
                }
                output.append(contentsOf: chunk[0..<produced])
                if rc == Z_STREAM_END {
                    // A final block ended the stream: later messages need a fresh one.
                    inflateReset(stream)
                    return .success(output)
                }
                if stream.pointee.avail_in == 0 && produced < chunk.count { return .success(output) }
                if rc == Z_BUF_ERROR && produced == 0 { return .success(output) }
            }
        }
        return result
    }
}

/// A raw-deflate compressor, reset per message when context takeover is off. One event loop owns it.
public final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    public let resetPerMessage: Bool
    public let windowBits: Int

    /// - Parameters:
    ///   - windowBits: 9...15 (zlib cannot produce raw streams with an 8-bit window).
    ///   - memLevel: 1...9; 8 is zlib's default (128 KiB of hash and buffer memory).
    public init(windowBits: Int = 15, memLevel: Int = 8, level: Int = 6, resetPerMessage: Bool) {
        self.resetPerMessage = resetPerMessage
        self.windowBits = max(9, min(15, windowBits))
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = hub_deflate_init_raw(stream, Int32(level), Int32(self.windowBits), Int32(memLevel))
        precondition(rc == Z_OK, "deflateInit2 failed: \(rc)")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses one message; the result has its trailing 00 00 FF FF removed (RFC 7692 §7.2.1).
    public func compressMessage(_ payload: UnsafeRawBufferPointer) -> [UInt8] {
        if resetPerMessage { deflateReset(stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(payload.count))) + 16)
        var written = 0
        stream.pointee.next_in = UnsafeMutablePointer(mutating: payload.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(payload.count)
        while true {
            if written == output.count { output.append(contentsOf: repeatElement(0, count: 1024)) }
            let rc = output.withUnsafeMutableBytes { outBuf -> Int32 in
                stream.pointee.next_out = (outBuf.baseAddress! + written).assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(outBuf.count - written)
                let rc = deflate(stream, Z_SYNC_FLUSH)
                written = outBuf.count - Int(stream.pointee.avail_out)
                return rc
            }
            precondition(rc == Z_OK || rc == Z_BUF_ERROR, "deflate failed: \(rc)")
            if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { break }
        }
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        output.removeSubrange(written...)
        if output.count >= 4 && Array(output[(output.count - 4)...]) == [0, 0, 0xFF, 0xFF] { output.removeLast(4) }
        // An empty message compresses to an empty block; RFC 7692 §7.2.3.6 sends it as a single 0x00.
        if output.isEmpty { output = [0x00] }
        return output
    }

    public func compressMessage(_ payload: [UInt8]) -> [UInt8] { payload.withUnsafeBytes { compressMessage($0) } }
}
