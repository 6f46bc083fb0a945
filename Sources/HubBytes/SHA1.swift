// SHA-1 (FIPS 180-4), used only for the WebSocket handshake's Sec-WebSocket-Accept
// (RFC 6455 §4.2.2), where it is a fixed-format checksum, not a security boundary.
// Kept here so the pure codecs need no crypto library.

/// A one-shot SHA-1 digest.
public enum SHA1 {
    /// The 20-byte digest of `message`. The padded message and the schedule live on the stack:
    /// one allocation, the result (a handshake computes one per connection).
    public static func digest(_ message: [UInt8]) -> [UInt8] {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        let count = message.count
        // The message, 0x80, zeros, and the 64-bit length: a whole number of 64-byte blocks.
        let paddedCount = (count + 9 + 63) / 64 * 64
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: paddedCount) { bytes in
            message.withUnsafeBufferPointer { m in _ = UnsafeMutableBufferPointer(rebasing: bytes[0..<count]).initialize(from: m) }
            let i = count
            bytes[i] = 0x80
            for j in (i + 1)..<(paddedCount - 8) { bytes[j] = 0 }
            let bitLength = UInt64(count) &* 8
            for k in 0..<8 { bytes[paddedCount - 8 + k] = UInt8(truncatingIfNeeded: bitLength >> UInt64(56 - 8 * k)) }
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
                for chunk in stride(from: 0, to: paddedCount, by: 64) {
                    for i in 0..<16 {
                        let j = chunk + i * 4
                        w[i] = UInt32(bytes[j]) << 24 | UInt32(bytes[j + 1]) << 16 | UInt32(bytes[j + 2]) << 8 | UInt32(bytes[j + 3])
                    }
                    for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
                    var a = h.0, b = h.1, c = h.2, d = h.3, e = h.4
                    for i in 0..<80 {
                        let f: UInt32, k: UInt32
                        switch i {
                        case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
                        case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
                        case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
                        default: f = b ^ c ^ d; k = 0xCA62_C1D6
                        }
                        let t = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
                        e = d; d = c; c = rotl(b, 30); b = a; a = t
                    }
                    h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
                }
            }
        }
        return [UInt8](unsafeUninitializedCapacity: 20) { out, initialized in
            func put(_ word: UInt32, at n: Int) {
                out[n * 4] = UInt8(word >> 24); out[n * 4 + 1] = UInt8(truncatingIfNeeded: word >> 16)
                out[n * 4 + 2] = UInt8(truncatingIfNeeded: word >> 8); out[n * 4 + 3] = UInt8(truncatingIfNeeded: word)
            }
            put(h.0, at: 0); put(h.1, at: 1); put(h.2, at: 2); put(h.3, at: 3); put(h.4, at: 4)
            initialized = 20
        }
    }

    @inline(__always) private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }
}
