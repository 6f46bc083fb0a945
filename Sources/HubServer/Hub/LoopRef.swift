import Reactor

/// A loop and its context, for posting work to that loop from anywhere.
public struct LoopRef: @unchecked Sendable {
    // @unchecked Sendable: `context` is only ever used inside `loop.execute` closures, which run
    // on that loop's own thread; other threads only carry the reference to the loop's queue.
    let loop: EventLoop
    let context: LoopContext

    /// Runs `body` on the loop's thread with its context.
    func execute(_ body: @escaping @Sendable (LoopContext) -> Void) {
        let handle = self
        loop.execute { body(handle.context) }
    }
}
