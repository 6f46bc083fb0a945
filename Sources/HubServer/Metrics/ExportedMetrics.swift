import Metrics
import Synchronization

/// Carries the counts the hub already keeps (relaxed atomics on the event loops, counters inside
/// the hub's state) to whichever swift-metrics backend the process bootstrapped.
///
/// Why the counts are not facade counters themselves: the hub reads them back (the dashboard's
/// `/v1/stats`, the webhook API), which the facade cannot do, and the hottest are bumped for every
/// frame on the event loops, where one relaxed atomic is all they should cost. Each `export()`
/// reads every source once and moves the facade's metrics to match: counters by the increase since
/// the last export, gauges to the current value. The hub exports once a second and just before
/// each `/metrics` scrape, so Prometheus always reads current numbers and a push backend lags by
/// at most a second.
public final class ExportedMetrics: Sendable {
    public enum Kind: Sendable { case counter, gauge }

    /// One value read from a source: a metric name, its label set, and the current count.
    public struct Sample: Sendable {
        public var kind: Kind
        public var label: String
        public var dimensions: [(String, String)]
        public var value: Int

        public static func counter(_ label: String, _ dimensions: [(String, String)], _ value: Int) -> Sample {
            Sample(kind: .counter, label: label, dimensions: dimensions, value: value)
        }
        public static func counter(_ label: String, _ value: Int) -> Sample { counter(label, [], value) }
        public static func gauge(_ label: String, _ dimensions: [(String, String)], _ value: Int) -> Sample {
            Sample(kind: .gauge, label: label, dimensions: dimensions, value: value)
        }
        public static func gauge(_ label: String, _ value: Int) -> Sample { gauge(label, [], value) }
    }

    public typealias Source = @Sendable () -> [Sample]

    private enum Handle {
        case counter(Counter, exported: Int)
        case gauge(Gauge)
    }

    private struct State {
        var sources: [Source] = []
        /// The facade metric behind each (kind, name, labels) a source has reported, per source:
        /// a label set a source stops reporting (a webhook endpoint deleted) is destroyed.
        var handles: [[String: Handle]] = []
    }

    private let state = Mutex(State())
    /// The backend, when not the process's bootstrapped one (tests).
    private let factory: (any MetricsFactory)?

    public init(factory: (any MetricsFactory)? = nil) { self.factory = factory }

    /// Adds a source, read at every export. Its metrics appear (at their current values) at once.
    public func add(_ source: @escaping Source) {
        state.withLock { s in
            s.sources.append(source)
            s.handles.append([:])
        }
        export()
    }

    /// Reads every source and brings the facade's metrics up to date. Serialised by the lock, so a
    /// scrape and the once-a-second export cannot both add the same increase.
    public func export() {
        state.withLock { s in
            for i in s.sources.indices {
                var seen = Set<String>()
                for sample in s.sources[i]() {
                    let id = Self.identity(sample)
                    seen.insert(id)
                    s.handles[i][id] = update(s.handles[i][id], with: sample)
                }
                for (id, handle) in s.handles[i] where !seen.contains(id) {
                    switch handle {
                    case .counter(let c, _): c.destroy()
                    case .gauge(let g): g.destroy()
                    }
                    s.handles[i][id] = nil
                }
            }
        }
    }

    private func update(_ handle: Handle?, with sample: Sample) -> Handle {
        switch (sample.kind, handle) {
        case (.counter, .counter(let counter, let exported)?):
            if sample.value > exported {
                counter.increment(by: Int64(sample.value - exported))
            } else if sample.value < exported {
                // A count that went down was replaced (a source rebuilt): start the counter over.
                counter.reset()
                counter.increment(by: Int64(sample.value))
            }
            return .counter(counter, exported: sample.value)
        case (.counter, _):
            let counter = factory.map { Counter(label: sample.label, dimensions: sample.dimensions, factory: $0) }
                ?? Counter(label: sample.label, dimensions: sample.dimensions)
            counter.increment(by: Int64(sample.value))
            return .counter(counter, exported: sample.value)
        case (.gauge, .gauge(let gauge)?):
            gauge.record(sample.value)
            return .gauge(gauge)
        case (.gauge, _):
            let gauge = factory.map { Gauge(label: sample.label, dimensions: sample.dimensions, factory: $0) }
                ?? Gauge(label: sample.label, dimensions: sample.dimensions)
            gauge.record(sample.value)
            return .gauge(gauge)
        }
    }

    private static func identity(_ sample: Sample) -> String {
        var id = sample.kind == .counter ? "c " : "g "
        id += sample.label
        for (k, v) in sample.dimensions { id += "\u{0}\(k)=\(v)" }
        return id
    }
}
