// Frame encoding (RFC 6455 §5.2): the server's frames are unmasked; the client's (tests, the
// client library) are masked with a caller-supplied key.
//
//   0                   1                   2                   3
//   |F|R|R|R| opcode|M| len(7) | extended len (0/16/64) | mask key (0/32) | payload ...
import HubBytes

public enum FrameEncoder {
    /// Header length for a payload of `count` bytes.
    @inline(__always)
    public static func headerLength(payloadCount count: Int, masked: Bool) -> Int {
        (count < 126 ? 2 : count <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0)
    }

    /// Writes a frame header into `out`; returns its length.
    @discardableResult
    public static func writeHeader(into out: UnsafeMutableRawPointer, opcode: Opcode, fin: Bool, rsv1: Bool,
                                   payloadCount count: Int, mask: UInt32?) -> Int {
        out.storeBytes(of: (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode.rawValue, as: UInt8.self)
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        var n: Int
        if count < 126 {
            out.storeBytes(of: maskBit | UInt8(count), toByteOffset: 1, as: UInt8.self)
            n = 2
        } else if count <= 0xFFFF {
            out.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt16(count).bigEndian, toByteOffset: 2, as: UInt16.self)
            n = 4
        } else {
            out.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt64(count).bigEndian, toByteOffset: 2, as: UInt64.self)
            n = 10
        }
        if let mask {
            out.storeBytes(of: mask.bigEndian, toByteOffset: n, as: UInt32.self)
            n += 4
        }
        return n
    }

    /// One complete frame, ready to queue. With `mask` the payload is masked (client side).
    public static func frame(_ opcode: Opcode, payload: UnsafeRawBufferPointer, fin: Bool = true,
                             rsv1: Bool = false, mask: UInt32? = nil) -> OutboundBytes {
        let header = headerLength(payloadCount: payload.count, masked: mask != nil)
        let total = header + payload.count
        return OutboundBytes(capacity: total) { out in
            let h = writeHeader(into: out.baseAddress!, opcode: opcode, fin: fin, rsv1: rsv1, payloadCount: payload.count, mask: mask)
            if payload.count > 0 {
                (out.baseAddress! + h).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
                if let mask {
                    Masking.apply(UnsafeMutableRawBufferPointer(rebasing: out[h..<total]), key: mask, offset: 0)
                }
            }
            return total
        }
    }

    public static func frame(_ opcode: Opcode, payload: [UInt8], fin: Bool = true, rsv1: Bool = false, mask: UInt32? = nil) -> OutboundBytes {
        payload.withUnsafeBytes { frame(opcode, payload: $0, fin: fin, rsv1: rsv1, mask: mask) }
    }

    /// A close frame with `code` and a reason cut to fit the 125-byte control limit at a
    /// UTF-8 boundary.
    public static func close(_ code: CloseCode?, reason: String = "", mask: UInt32? = nil) -> OutboundBytes {
        guard let code else { return frame(.close, payload: [], mask: mask) }
        var payload: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        var reasonBytes = Array(reason.utf8)
        if reasonBytes.count > 123 {
            var cut = 123
            while cut > 0 && reasonBytes[cut] & 0xC0 == 0x80 { cut -= 1 }
            reasonBytes = Array(reasonBytes[..<cut])
        }
        payload += reasonBytes
        return frame(.close, payload: payload, mask: mask)
    }
}

/// XOR masking (RFC 6455 §5.3), eight bytes at a time.
public enum Masking {
    /// Masks or unmasks `bytes` in place; `offset` is the payload position of `bytes[0]`.
    @inline(__always)
    public static func apply(_ bytes: UnsafeMutableRawBufferPointer, key: UInt32, offset: Int) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let n = bytes.count
        // Key bytes in wire order, rotated so index 0 lines up with `offset`.
        let k0 = key.bigEndian
        let rotated = rotate(k0, by: offset & 3)
        let wide = UInt64(rotated) | UInt64(rotated) << 32
        var i = 0
        while i + 8 <= n {
            let v = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            base.storeBytes(of: v ^ wide, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n {
            let kb = UInt8(truncatingIfNeeded: rotated >> (UInt32(i & 3) * 8))
            base.storeBytes(of: base.load(fromByteOffset: i, as: UInt8.self) ^ kb, toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }

    /// `k` holds the key bytes in memory order (little-endian load); rotating by `by` bytes makes
    /// memory byte 0 the key byte at index `by`.
    @inline(__always)
    private static func rotate(_ k: UInt32, by: Int) -> UInt32 {
        by == 0 ? k : (k >> UInt32(by * 8)) | (k << UInt32(32 - by * 8))
    }
}
