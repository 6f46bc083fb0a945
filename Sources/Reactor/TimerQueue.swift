// Timers for one event loop: a binary min-heap of (deadline, id) with lazy cancellation.
//
// Connections keep at most one timer each and move their deadline by storing a number; when the
// timer fires they re-arm it if the deadline moved (the approach of nginx's and libuv's idle
// timers), so a busy connection costs no heap work per read. Schedule and fire are O(log n).

/// Loop-confined timers. Not thread-safe.
public struct TimerQueue {
    public typealias TimerID = UInt64

    private struct Entry { var deadline: UInt64; var id: TimerID }
    private var heap: [Entry] = []
    private var actions: [TimerID: () -> Void] = [:]
    private var nextID: TimerID = 1

    public init() {}

    public var count: Int { actions.count }

    /// Runs `action` at or after `deadline` (monotonic ns).
    public mutating func schedule(at deadline: UInt64, _ action: @escaping () -> Void) -> TimerID {
        let id = nextID
        nextID += 1
        actions[id] = action
        heap.append(Entry(deadline: deadline, id: id))
        siftUp(heap.count - 1)
        return id
    }

    public mutating func cancel(_ id: TimerID) { actions[id] = nil }

    /// The earliest live deadline, dropping cancelled entries on the way.
    public mutating func nextDeadline() -> UInt64? {
        while let top = heap.first {
            if actions[top.id] != nil { return top.deadline }
            popTop()
        }
        return nil
    }

    /// Removes and returns the actions due at `now`, earliest first.
    public mutating func takeDue(now: UInt64) -> [() -> Void] {
        var due: [() -> Void] = []
        while let top = heap.first, top.deadline <= now {
            popTop()
            if let action = actions.removeValue(forKey: top.id) { due.append(action) }
        }
        return due
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        if !heap.isEmpty { heap[0] = last; siftDown(0) }
    }

    private mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[parent].deadline <= heap[i].deadline { break }
            heap.swapAt(parent, i)
            i = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var i = index
        let n = heap.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < n && heap[l].deadline < heap[smallest].deadline { smallest = l }
            if r < n && heap[r].deadline < heap[smallest].deadline { smallest = r }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
