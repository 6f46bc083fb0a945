// The event loop the clients run on when the caller has none: one thread, started on first use.
// Inside the hub, the outcome worker passes one of the server's loops instead.
import Foundation
import Reactor

/// The shared client event loop.
public enum ClientLoop {
    public static let shared: EventLoop = {
        let loop = try! EventLoop(index: 1_000)
        let thread = Thread { loop.run() }
        thread.name = "client-loop"
        thread.start()
        return loop
    }()
}
