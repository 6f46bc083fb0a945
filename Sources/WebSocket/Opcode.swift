/// Frame opcodes (RFC 6455 §5.2). Values 3–7 and 11–15 are reserved and fail the connection.
public enum Opcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    /// Control frames (close, ping, pong): at most 125 bytes, never fragmented.
    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// A complete data message's kind.
public enum MessageKind: Sendable, Equatable {
    case text
    case binary

    public var opcode: Opcode { self == .text ? .text : .binary }
}
