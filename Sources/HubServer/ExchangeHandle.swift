// Carries an exchange across threads for one later answer: work decided on another thread
// (an async task, the dev engine's upkeep) is answered on the exchange's own loop.
import HTTP1
import Reactor
import Synchronization

/// A Sendable handle to answer an exchange once, from any thread.
public final class ExchangeHandle: @unchecked Sendable {
    // @unchecked Sendable: `exchange` is read and answered only inside `loop.execute` closures,
    // i.e. on the loop that owns it; `onCancel` is set on that loop before the box is shared.
    // Other threads touch only `cancelled` (atomic) and `loop.execute` (thread-safe).
    private let exchange: Exchange
    private let loop: EventLoop
    private let cancelled = Atomic<Bool>(false)

    /// Call on the exchange's loop.
    public init?(_ exchange: Exchange) {
        guard let loop = exchange.loopContext?.loop else { return nil }
        self.exchange = exchange
        self.loop = loop
        exchange.onCancel = { [weak self] in self?.cancelled.store(true, ordering: .relaxed) }
    }

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    /// Answers on the exchange's loop; `ifGone` runs there if the client left first.
    public func respond(_ response: HTTPResponse, ifGone: (@Sendable () -> Void)? = nil) {
        loop.execute { [self] in
            if self.exchange.isFinished || self.isCancelled { ifGone?() } else { self.exchange.respond(response) }
        }
    }
}

