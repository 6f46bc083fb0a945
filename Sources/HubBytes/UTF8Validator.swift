// Incremental UTF-8 validation (RFC 3629), for WebSocket text messages that arrive in pieces.
//
//   bytes ──▶ [ASCII fast path: 8 bytes at a time] ──▶ [per-byte state machine] ──▶ valid / invalid
//
// State survives between calls, so a code point split across frames or reads validates, and the
// first invalid byte is reported at once (RFC 6455 §8.1: fail fast, even mid-fragment).
// Rejects overlongs, surrogates (U+D800–DFFF) and code points above U+10FFFF.

/// Streaming UTF-8 validator. `isComplete` says whether the bytes so far end on a code point boundary.
public struct UTF8Validator: Sendable {
    /// Continuation bytes still expected for the current code point.
    private var remaining: UInt8 = 0
    /// Allowed range for the next continuation byte (narrowed after E0, ED, F0, F4 leads).
    private var low: UInt8 = 0x80
    private var high: UInt8 = 0xBF

    public init() {}

    /// True when no code point is open.
    public var isComplete: Bool { remaining == 0 }

    /// Validates `bytes` as the continuation of everything fed before; false at the first invalid byte.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        while i < count {
            if remaining == 0 {
                // ASCII fast path: skip 8 bytes whose high bits are all clear.
                while i + 8 <= count {
                    let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    if word & 0x8080_8080_8080_8080 != 0 { break }
                    i += 8
                }
                if i >= count { break }
            }
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            i += 1
            if remaining == 0 {
                switch b {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: remaining = 1; low = 0x80; high = 0xBF
                case 0xE0: remaining = 2; low = 0xA0; high = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF: remaining = 2; low = 0x80; high = 0xBF
                case 0xED: remaining = 2; low = 0x80; high = 0x9F
                case 0xF0: remaining = 3; low = 0x90; high = 0xBF
                case 0xF1...0xF3: remaining = 3; low = 0x80; high = 0xBF
                case 0xF4: remaining = 3; low = 0x80; high = 0x8F
                default: return false
                }
            } else {
                guard b >= low && b <= high else { return false }
                remaining -= 1
                low = 0x80; high = 0xBF
            }
        }
        return true
    }

    /// Convenience for arrays.
    public mutating func feed(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { feed($0) } }

    /// Whether `bytes` is complete, valid UTF-8.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var v = UTF8Validator()
        return v.feed(bytes) && v.isComplete
    }

    public static func isValid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { isValid($0) } }
}
