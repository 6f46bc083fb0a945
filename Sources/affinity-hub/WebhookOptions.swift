import ArgumentParser
import WebhookService
import Webhooks

/// Outcome webhooks (docs/webhooks.md).
struct WebhookOptions: ParsableArguments {
    @Option(help: "Hosts webhooks may be sent to (repeatable): hooks.example.com, *.example.com. Default: any public host.")
    var webhookAllowHost: [String] = []
    @Flag(help: "Development only: allow webhooks to loopback and private addresses (the demo and tests use it).")
    var webhookAllowPrivate = false
    @Option(help: "Delays between attempts, e.g. 5s,5m,30m,2h,5h,10h,10h (the default: about 27.5 hours in all).")
    var webhookRetrySchedule: String?
    @Option(help: "Seconds one webhook POST may take. Default 10.") var webhookTimeout: Int?
    @Option(help: "Webhook POSTs in flight per endpoint. Default 4.") var webhookConcurrency: Int?
    @Option(help: "Deliveries queued per endpoint; beyond, new ones are dead-lettered (never dropped). Default 10000.") var webhookMaxPending: Int?
    @Option(help: "Webhook endpoints this hub holds. Default 1000.") var webhookMaxEndpoints: Int?
    @Option(help: "PEM CA certificates to trust for https webhook endpoints (default: the system's trust store).") var webhookCaFile: String?
    @Flag(help: "With --redis: accept webhook registrations although an endpoint gets only the outcomes published through the node it is registered on (publish through that node only). Without it they are refused with 501.")
    var webhooksPerNode = false

    func configuration(_ s: Settings, scaledOut: Bool) throws -> WebhookConfig {
        var c = WebhookConfig()
        if scaledOut && !s.bool("webhooks-per-node", flag: webhooksPerNode) {
            c.registrationRefusal = "webhooks are not shared between hub nodes on Redis yet: an endpoint registered here would get only the "
                + "outcomes published through this node. Subscribe over WebSocket, SSE or long-poll (they work across nodes), or start "
                + "the hubs with --webhooks-per-node and publish through the node that holds the webhook"
        }
        c.policy = DestinationPolicy(allowedHosts: s.list("webhook-allow-host", flag: webhookAllowHost),
                                     allowPrivateAddresses: s.bool("webhook-allow-private", flag: webhookAllowPrivate))
        if let text = s.string("webhook-retry-schedule", flag: webhookRetrySchedule, default: nil) {
            guard let schedule = RetrySchedule(parsing: text) else {
                throw ValidationError("--webhook-retry-schedule is a comma-separated list of delays such as 5s,5m,2h (ms, s, m, h; each at most 7 days)")
            }
            c.schedule = schedule
        }
        c.timeoutMs = Int64(max(1, try s.int("webhook-timeout", flag: webhookTimeout, default: 10))) * 1000
        c.limits.maxInFlightPerEndpoint = max(1, try s.int("webhook-concurrency", flag: webhookConcurrency, default: c.limits.maxInFlightPerEndpoint))
        c.limits.maxPendingPerEndpoint = max(1, try s.int("webhook-max-pending", flag: webhookMaxPending, default: c.limits.maxPendingPerEndpoint))
        c.maxEndpoints = max(1, try s.int("webhook-max-endpoints", flag: webhookMaxEndpoints, default: c.maxEndpoints))
        c.caFile = s.string("webhook-ca-file", flag: webhookCaFile, default: nil)
        return c
    }
}
