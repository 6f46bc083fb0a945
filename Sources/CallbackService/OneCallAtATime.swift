// Shared by the callback and action-link services.
import Synchronization

/// At most one engine call per key (a job, a group) at a time. The caller that leads makes the
/// call; others wait for it to finish and then decide afresh from what it recorded.
final class OneCallAtATime: Sendable {
    private let waiting = Mutex<[String: [@Sendable () -> Void]]>([:])

    /// True if the caller may make the call for `key` now (it must `finish` it); false if one is under way.
    func lead(_ key: String) -> Bool {
        waiting.withLock { calls in
            if calls[key] != nil { return false }
            calls[key] = []
            return true
        }
    }

    func finish(_ key: String) {
        let waiters = waiting.withLock { $0.removeValue(forKey: key) ?? [] }
        for w in waiters { w() }
    }

    /// Returns once the call under way for `key`, if any, has finished.
    func finished(_ key: String) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let queued = waiting.withLock { calls -> Bool in
                guard calls[key] != nil else { return false }
                calls[key]!.append { c.resume() }
                return true
            }
            if !queued { c.resume() }
        }
    }
}

