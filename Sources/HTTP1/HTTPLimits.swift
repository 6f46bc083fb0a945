/// Size limits the request parser enforces. Every limit has a safe default and a reason.
public struct HTTPLimits: Sendable {
    /// Longest request line (method, target, version). 8 KiB matches common proxies; longer → 414.
    public var maxRequestLineBytes: Int = 8 * 1024
    /// Whole header section, request line included. 16 KiB fits tokens and cookies; longer → 431.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Header fields per request. 100 is far above real clients; more → 431.
    public var maxHeaderCount: Int = 100
    /// Request body (decoded). 1 MiB: the hub's bodies are outcomes, not uploads; more → 413.
    public var maxBodyBytes: Int = 1024 * 1024
    /// One chunk-size line with extensions; 1 KiB is generous for hex digits plus extensions.
    public var maxChunkLineBytes: Int = 1024

    public init() {}
}
