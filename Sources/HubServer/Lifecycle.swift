import Synchronization

/// Readiness and draining, visible to `/readyz` and to the thread that waits for shutdown.
public final class Lifecycle: Sendable {
    private let drainingFlag = Atomic<Bool>(false)
    private let loopsDrained = Atomic<Int>(0)

    public init() {}

    public var isDraining: Bool { drainingFlag.load(ordering: .acquiring) }
    func markDraining() { drainingFlag.store(true, ordering: .releasing) }
    func loopDrained() { loopsDrained.add(1, ordering: .acquiringAndReleasing) }
    var drainedLoops: Int { loopsDrained.load(ordering: .acquiring) }
}
