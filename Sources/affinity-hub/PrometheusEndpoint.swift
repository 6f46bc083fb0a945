import Foundation
import HubServer
import Metrics
import Prometheus
import WebhookService

/// The process's metrics backend: swift-prometheus behind the swift-metrics facade, rendered on
/// `/metrics`. Everything the hub counts reaches it through the facade (docs/metrics.md).
struct PrometheusEndpoint: Sendable {
    let registry = PrometheusCollectorRegistry()
    let exported = ExportedMetrics()

    /// Bootstraps the facade once per process, before any metric is made.
    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            "affinity_publish_to_deliver_seconds": [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000].map { .milliseconds($0) },
            "affinity_store_append_seconds": [100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000, 500_000].map { .microseconds($0) },
            "affinity_webhook_latency_seconds": WebhookService.latencyBuckets,
        ]
        MetricsSystem.bootstrap(factory)
    }

    /// The exposition text, with the kept counts brought up to date first.
    @Sendable func render() -> String {
        exported.export()
        return registry.emitToString()
    }

    /// Exports the kept counts once a second, so the facade's view lags by at most that much
    /// between scrapes (what a push backend would see).
    func exportEverySecond() {
        let exported = self.exported
        let thread = Thread {
            while true {
                Thread.sleep(forTimeInterval: 1)
                exported.export()
            }
        }
        thread.name = "metrics-export"
        thread.start()
    }
}
