/// When a failed delivery is tried again: the delays after each failed attempt. The default is
/// the Standard Webhooks / Svix schedule — 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight
/// attempts over about 27.5 hours — each delay with ±10 % jitter so endpoints that failed
/// together do not all retry at the same instant.
public struct RetrySchedule: Sendable, Equatable {
    public var delaysMs: [Int64]

    public static let standard = RetrySchedule(delaysMs: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000])

    public init(delaysMs: [Int64]) { self.delaysMs = delaysMs }

    /// Parses `5s,5m,30m,2h` (s, m, h or ms units).
    public init?(parsing text: String) {
        var delays: [Int64] = []
        for part in text.split(separator: ",") {
            let p = part.trimmingCharacters(in: " ")
            let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
            guard let (suffix, scale) = units.first(where: { p.hasSuffix($0.0) && Int64(p.dropLast($0.0.count)) != nil }),
                  let n = Int64(p.dropLast(suffix.count)), n >= 0, n <= 7 * 86_400_000 / scale else { return nil }
            delays.append(n * scale)
        }
        guard !delays.isEmpty, delays.count <= 50 else { return nil }
        delaysMs = delays
    }

    /// Attempts in all: the first and one after each delay.
    public var attempts: Int { delaysMs.count + 1 }

    /// The longest a delivery can stay queued before it is dead-lettered (with the jitter's upper bound).
    public var spanMs: Int64 { delaysMs.reduce(0, +) * 11 / 10 }

    /// When to try again after `attempts` failed attempts, or nil when the schedule is spent.
    /// `jitter` in [-1, 1] scales ±10 % of the delay.
    public func nextAttempt(after attempts: Int, nowMs: Int64, jitter: Double) -> Int64? {
        guard attempts >= 1, attempts <= delaysMs.count else { return nil }
        let delay = delaysMs[attempts - 1]
        return nowMs + delay + Int64(Double(delay) * 0.1 * max(-1, min(1, jitter)))
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return s
    }
}
