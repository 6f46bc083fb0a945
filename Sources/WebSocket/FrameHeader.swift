/// A decoded frame header. `length` fits in Int after validation (MSB of 64-bit lengths is refused).
public struct FrameHeader: Sendable, Equatable {
    public var fin: Bool
    public var rsv1: Bool
    public var rsv2: Bool
    public var rsv3: Bool
    public var opcode: UInt8
    public var mask: UInt32?
    public var length: Int

    public init(fin: Bool, rsv1: Bool = false, rsv2: Bool = false, rsv3: Bool = false, opcode: UInt8, mask: UInt32?, length: Int) {
        self.fin = fin; self.rsv1 = rsv1; self.rsv2 = rsv2; self.rsv3 = rsv3
        self.opcode = opcode; self.mask = mask; self.length = length
    }

    /// Decodes a header from the start of `bytes`.
    /// - Returns: `.needMore` when `bytes` is shorter than the header, `.violation` for
    ///   non-minimal or oversized lengths (RFC 6455 §5.2), else the header and its length.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> HeaderDecode {
        guard bytes.count >= 2 else { return .needMore }
        let b0 = bytes[0], b1 = bytes[1]
        let masked = b1 & 0x80 != 0
        let len7 = Int(b1 & 0x7F)
        var n = 2
        var length = len7
        if len7 == 126 {
            guard bytes.count >= 4 else { return .needMore }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            n = 4
            if length < 126 { return .violation("non-minimal 16-bit payload length") }
        } else if len7 == 127 {
            guard bytes.count >= 10 else { return .needMore }
            var v: UInt64 = 0
            for i in 2..<10 { v = v << 8 | UInt64(bytes[i]) }
            n = 10
            if v & (1 << 63) != 0 { return .violation("64-bit payload length with the most significant bit set") }
            if v <= 0xFFFF { return .violation("non-minimal 64-bit payload length") }
            // Anything this large fails the size limits; clamp so Int arithmetic stays safe.
            length = v > UInt64(Int.max / 2) ? Int.max / 2 : Int(v)
        }
        var mask: UInt32?
        if masked {
            guard bytes.count >= n + 4 else { return .needMore }
            mask = UInt32(bytes[n]) << 24 | UInt32(bytes[n + 1]) << 16 | UInt32(bytes[n + 2]) << 8 | UInt32(bytes[n + 3])
            n += 4
        }
        let header = FrameHeader(fin: b0 & 0x80 != 0, rsv1: b0 & 0x40 != 0, rsv2: b0 & 0x20 != 0, rsv3: b0 & 0x10 != 0,
                                 opcode: b0 & 0x0F, mask: mask, length: length)
        return .header(header, consumed: n)
    }

    enum HeaderDecode {
        case needMore
        case header(FrameHeader, consumed: Int)
        case violation(String)
    }
}
