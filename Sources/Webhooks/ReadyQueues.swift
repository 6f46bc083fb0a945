// Scheduling for `DeliveryQueue`: which FIFOs have a head to send now, per endpoint, and a
// min-heap of retry times, so picking due deliveries costs what it returns rather than a scan of
// every queued key. Entries may be stale (the FIFO moved on, the endpoint went): the queue checks
// each one as it takes it.

/// FIFO of queue ids whose head is due, for one endpoint.
struct ReadyList: Sendable {
    private var items: [QueueID] = []
    private var head = 0
    var isEmpty: Bool { head == items.count }
    mutating func push(_ qid: QueueID) { items.append(qid) }
    mutating func pop() -> QueueID? {
        guard head < items.count else { return nil }
        defer {
            head += 1
            if head > 1024 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        }
        return items[head]
    }
}

/// A binary min-heap of (time, queue id): retries waiting for their time.
struct RetryHeap: Sendable {
    private var items: [(at: Int64, qid: QueueID)] = []
    var first: (at: Int64, qid: QueueID)? { items.first }

    mutating func push(_ at: Int64, _ qid: QueueID) {
        items.append((at, qid))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].at < items[parent].at else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (at: Int64, qid: QueueID)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < items.count && items[l].at < items[smallest].at { smallest = l }
            if r < items.count && items[r].at < items[smallest].at { smallest = r }
            guard smallest != i else { break }
            items.swapAt(i, smallest)
            i = smallest
        }
        return top
    }
}
