/// Per-connection WebSocket limits. Each has a safe default and a reason.
public struct WebSocketLimits: Sendable {
    /// Largest single frame payload. 16 MiB admits any message the hub has reason to accept
    /// (outcomes are KiB-sized) while bounding what one frame can make us buffer. Larger → 1009.
    public var maxFrameBytes: Int = 16 * 1024 * 1024
    /// Largest reassembled message (after inflation for compressed ones). Larger → 1009.
    public var maxMessageBytes: Int = 16 * 1024 * 1024
    /// Most fragments in one message: stops a stream of empty continuation frames from
    /// spinning the parser forever without growing memory. More → 1009.
    public var maxFragments: Int = 100_000

    public init() {}
}
