import HubServer
import MetricsTestKit
import Synchronization
import Testing

/// The bridge from the hub's kept counts to the swift-metrics facade.
@Suite struct ExportedMetricsTests {
    @Test func countersAdvanceByTheIncreaseAndGaugesTakeTheValue() throws {
        let backend = TestMetrics()
        let exported = ExportedMetrics(factory: backend)
        let count = Atomic<Int>(3), level = Atomic<Int>(7)
        exported.add { [.counter("jobs_total", [("result", "done")], count.load(ordering: .relaxed)), .gauge("open", level.load(ordering: .relaxed))] }
        #expect(try backend.expectCounter("jobs_total", [("result", "done")]).totalValue == 3)
        #expect(try backend.expectGauge("open").lastValue == 7)

        count.add(5, ordering: .relaxed)
        level.store(2, ordering: .relaxed)
        exported.export()
        exported.export()  // nothing new: the counter must not add the same increase twice
        #expect(try backend.expectCounter("jobs_total", [("result", "done")]).totalValue == 8)
        #expect(try backend.expectGauge("open").lastValue == 2)
    }

    @Test func aLabelSetThatDisappearsIsDestroyed() throws {
        let backend = TestMetrics()
        let exported = ExportedMetrics(factory: backend)
        let endpoints = Mutex(["a", "b"])
        exported.add { endpoints.withLock { $0 }.map { .counter("delivered_total", [("endpoint", $0)], 1) } }
        #expect(try backend.expectCounter("delivered_total", [("endpoint", "b")]).totalValue == 1)

        endpoints.withLock { $0 = ["a"] }
        exported.export()
        #expect(throws: (any Error).self) { try backend.expectCounter("delivered_total", [("endpoint", "b")]) }
        #expect(try backend.expectCounter("delivered_total", [("endpoint", "a")]).totalValue == 1)
    }

    @Test func aCountThatWentDownStartsTheCounterOver() throws {
        let backend = TestMetrics()
        let exported = ExportedMetrics(factory: backend)
        let count = Atomic<Int>(10)
        exported.add { [.counter("n_total", count.load(ordering: .relaxed))] }
        count.store(4, ordering: .relaxed)
        exported.export()
        #expect(try backend.expectCounter("n_total").totalValue == 4)
    }
}
