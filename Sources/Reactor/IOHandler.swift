/// Something registered with an event loop: a listener or a connection. Called on the loop thread only.
public protocol IOHandler: AnyObject {
    /// epoll reported `events` (EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP bits) for the handler's fd.
    func handleEvents(_ events: UInt32)
    /// End-of-tick flush the handler asked for with `EventLoop.requestFlush`.
    func flushQueuedOutput()
}

/// epoll event bits, re-exported so higher modules need no C import.
public enum IOEvents {
    public static let readable: UInt32 = 0x001
    public static let writable: UInt32 = 0x004
    public static let error: UInt32 = 0x008
    public static let hangup: UInt32 = 0x010
    public static let readHangup: UInt32 = 0x2000
}
