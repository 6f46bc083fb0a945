// Carries an exchange across threads for one later answer: the dev engine decides on its
// upkeep queue or another connection's loop, the answer is written on the exchange's own loop.
import HTTP1
import HubServer
import Reactor
import Synchronization

final class ExchangeBox: @unchecked Sendable {
    // @unchecked Sendable: `exchange` is read and answered only inside `loop.execute` closures,
    // i.e. on the loop that owns it; `onCancel` is set on that loop before the box is shared.
    // Other threads touch only `cancelled` (atomic) and `loop.execute` (thread-safe).
    private let exchange: Exchange
    private let loop: EventLoop
    private let cancelled = Atomic<Bool>(false)

    /// Call on the exchange's loop.
    init?(_ exchange: Exchange) {
        guard let loop = exchange.loopContext?.loop else { return nil }
        self.exchange = exchange
        self.loop = loop
        exchange.onCancel = { [weak self] in self?.cancelled.store(true, ordering: .relaxed) }
    }

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    /// Answers on the exchange's loop; `ifGone` runs there if the client left first.
    func respond(_ response: HTTPResponse, ifGone: (@Sendable () -> Void)? = nil) {
        loop.execute { [self] in
            if self.exchange.isFinished || self.isCancelled { ifGone?() } else { self.exchange.respond(response) }
        }
    }
}

struct ActivationWaiter: Sendable {
    let box: ExchangeBox
    let type: String
    let worker: String
    let timeoutMs: Int64
    let max: Int
    let fetchVariables: [String]?
    let deadlineMs: Int64
}

struct CompletionWaiter: Sendable {
    let box: ExchangeBox
    let fetchVariables: [String]?
    let deadlineMs: Int64
}
