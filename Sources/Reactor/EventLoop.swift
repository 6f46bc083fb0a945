// One epoll event loop, owned by one thread (Redis's ae.c is the model: small and candid).
//
//   loop ─▶ epoll_wait(timeout = next timer) ─▶ dispatch ready fds ─▶ run posted tasks
//        ─▶ fire due timers ─▶ flush every connection that queued output this tick (writev once)
//
// Everything a loop owns (handlers, timers, buffers, connections) is touched only on its thread.
// The one door in from other threads is `execute`: a Mutex-guarded task list plus an eventfd wake.
import CSystemShims
import Glibc
import HubBytes
import Synchronization

public final class EventLoop: @unchecked Sendable {
    // @unchecked Sendable: a loop is handed to other threads only so they can call `execute` and
    // `stop`, which touch nothing but the Mutex-guarded `posted` list, the atomic `stopping` flag
    // and the eventfd. Every other member is used on the loop's own thread (checked by
    // `assertInLoop` in debug builds).
    public let index: Int
    private let epfd: Int32
    private let wakeFD: Int32
    private let posted = Mutex<[@Sendable () -> Void]>([])
    private let stopping = Atomic<Bool>(false)
    private var thread: pthread_t?

    private var handlers: [IOHandler?] = []
    private var timers = TimerQueue()
    private var flushList: [IOHandler] = []
    private let events: UnsafeMutablePointer<hub_event>
    private static let maxEvents: Int32 = 256

    /// Reused by every read on this loop: connections parse straight out of it.
    public let receiveBuffer: UnsafeMutableRawBufferPointer
    /// Reused by every write on this loop.
    public let writeScratch = WriteScratch()
    /// Monotonic time at the start of this tick (ns).
    public private(set) var now: UInt64 = hub_monotonic_ns()

    /// - Parameter receiveBufferSize: one read's worth; 64 KiB drains a socket in few syscalls.
    public init(index: Int, receiveBufferSize: Int = 64 * 1024) throws(ReactorError) {
        self.index = index
        epfd = hub_epoll_create()
        guard epfd >= 0 else { throw .system("epoll_create1", hub_errno()) }
        wakeFD = hub_eventfd()
        guard wakeFD >= 0 else { throw .system("eventfd", hub_errno()) }
        events = .allocate(capacity: Int(Self.maxEvents))
        receiveBuffer = .allocate(byteCount: receiveBufferSize, alignment: 16)
        _ = hub_epoll_ctl(epfd, 1, wakeFD, IOEvents.readable)
    }

    deinit {
        _ = hub_close(epfd)
        _ = hub_close(wakeFD)
        events.deallocate()
        receiveBuffer.deallocate()
    }

    // MARK: thread-safe

    /// Runs `task` on the loop thread, soon. Safe from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        let wasEmpty = posted.withLock { list in
            list.append(task)
            return list.count == 1
        }
        // A loop posting to itself runs the task later in this same tick: no wake-up needed.
        if wasEmpty && !inLoop { _ = hub_eventfd_signal(wakeFD) }
    }

    /// Makes `run` return after the current tick. Safe from any thread.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        _ = hub_eventfd_signal(wakeFD)
    }

    // MARK: loop thread only

    public var inLoop: Bool { thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }

    @inline(__always)
    public func assertInLoop() { assert(thread == nil || inLoop, "event loop \(index) used off its thread") }

    /// Registers `fd` for `events` (level-triggered).
    public func register(_ fd: Int32, _ handler: IOHandler, events: UInt32) throws(ReactorError) {
        assertInLoop()
        let i = Int(fd)
        if i >= handlers.count { handlers.append(contentsOf: repeatElement(nil, count: max(i + 1 - handlers.count, handlers.count))) }
        handlers[i] = handler
        guard hub_epoll_ctl(epfd, 1, fd, events) == 0 else {
            handlers[i] = nil
            throw .system("epoll_ctl(ADD)", hub_errno())
        }
    }

    public func modify(_ fd: Int32, events: UInt32) {
        assertInLoop()
        _ = hub_epoll_ctl(epfd, 3, fd, events)
    }

    /// Removes `fd` (call before closing it).
    public func deregister(_ fd: Int32) {
        assertInLoop()
        _ = hub_epoll_ctl(epfd, 2, fd, 0)
        if Int(fd) < handlers.count { handlers[Int(fd)] = nil }
    }

    /// Asks for `handler.flushQueuedOutput()` at the end of this tick (corking: many sends, one writev).
    /// The handler keeps its own "already requested" flag so it is listed once.
    public func requestFlush(_ handler: IOHandler) {
        flushList.append(handler)
    }

    public func scheduleTimer(at deadline: UInt64, _ action: @escaping () -> Void) -> TimerQueue.TimerID {
        timers.schedule(at: deadline, action)
    }

    public func scheduleTimer(afterMilliseconds ms: Int, _ action: @escaping () -> Void) -> TimerQueue.TimerID {
        timers.schedule(at: now + UInt64(max(0, ms)) * 1_000_000, action)
    }

    public func cancelTimer(_ id: TimerQueue.TimerID) { timers.cancel(id) }

    /// Runs the loop on the calling thread until `stop`.
    public func run() {
        thread = pthread_self()
        while !stopping.load(ordering: .acquiring) {
            now = hub_monotonic_ns()
            var timeout: Int32 = -1
            if !flushList.isEmpty || !posted.withLock({ $0.isEmpty }) {
                timeout = 0
            } else if let deadline = timers.nextDeadline() {
                timeout = deadline <= now ? 0 : Int32(min((deadline - now + 999_999) / 1_000_000, 60_000))
            }
            let n = hub_epoll_wait(epfd, events, Self.maxEvents, timeout)
            now = hub_monotonic_ns()
            if n > 0 {
                for i in 0..<Int(n) {
                    let fd = events[i].fd
                    if fd == wakeFD { _ = hub_eventfd_drain(wakeFD); continue }
                    // A handler closed earlier in this batch leaves nil; a reused fd number gets the new handler,
                    // which just sees a spurious readiness and reads EAGAIN.
                    if Int(fd) < handlers.count, let handler = handlers[Int(fd)] {
                        handler.handleEvents(events[i].events)
                    }
                }
            }
            runPosted()
            for action in timers.takeDue(now: now) { action() }
            flush()
        }
        runPosted()
        flush()
    }

    private func runPosted() {
        let tasks = posted.withLock { list -> [@Sendable () -> Void] in
            let taken = list
            list.removeAll(keepingCapacity: true)
            return taken
        }
        for task in tasks { task() }
    }

    private func flush() {
        // A flush can queue more flushes (a close after a write); loop until quiet.
        var rounds = 0
        while !flushList.isEmpty && rounds < 4 {
            let list = flushList
            flushList.removeAll(keepingCapacity: true)
            for handler in list { handler.flushQueuedOutput() }
            rounds += 1
        }
    }

    /// Number of registered handlers (listeners and connections), for diagnostics.
    public var registeredCount: Int { handlers.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }
}

/// Reactor setup failures (not per-connection I/O, which uses `IOResult`).
public enum ReactorError: Error, Sendable, CustomStringConvertible {
    case system(String, Int32)
    case invalidAddress(String)

    public var description: String {
        switch self {
        case .system(let call, let err): "\(call) failed: \(String(cString: strerror(err)))"
        case .invalidAddress(let a): "invalid listen address \(a)"
        }
    }
}
