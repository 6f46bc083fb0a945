import Synchronization

/// Transport counters shared by all loops. Relaxed atomics: they are statistics, not synchronisation.
public final class ServerStats: Sendable {
    public let connectionsAccepted = Atomic<Int>(0)
    public let connectionsOpen = Atomic<Int>(0)
    public let connectionsRefused = Atomic<Int>(0)
    public let webSocketsOpen = Atomic<Int>(0)
    public let tlsHandshakesFailed = Atomic<Int>(0)
    public let httpRequests = Atomic<Int>(0)
    public let httpErrors = Atomic<Int>(0)
    public let messagesReceived = Atomic<Int>(0)
    public let messagesSent = Atomic<Int>(0)
    public let bytesReceived = Atomic<Int>(0)
    public let bytesSent = Atomic<Int>(0)
    public let protocolViolations = Atomic<Int>(0)
    public let slowConsumersClosed = Atomic<Int>(0)

    /// WebSocket close codes sent, by code (closes are rare: a lock is fine here).
    private let closeCodes = Mutex<[UInt16: Int]>([:])

    public init() {}

    func countClose(_ code: UInt16) { closeCodes.withLock { $0[code, default: 0] += 1 } }

    private func closeCodeLines() -> String {
        let codes = closeCodes.withLock { $0 }
        var out = "# HELP affinity_ws_close_codes_sent_total WebSocket close frames sent, by code.\n# TYPE affinity_ws_close_codes_sent_total counter\n"
        for (code, n) in codes.sorted(by: { $0.key < $1.key }) { out += "affinity_ws_close_codes_sent_total{code=\"\(code)\"} \(n)\n" }
        return out
    }

    /// Prometheus text exposition of the counters.
    public func prometheusText() -> String {
        func line(_ name: String, _ type: String, _ help: String, _ value: Int) -> String {
            "# HELP affinity_\(name) \(help)\n# TYPE affinity_\(name) \(type)\naffinity_\(name) \(value)\n"
        }
        return line("connections_accepted_total", "counter", "TCP connections accepted.", connectionsAccepted.load(ordering: .relaxed))
            + line("connections_refused_total", "counter", "Connections refused by the per-client limit.", connectionsRefused.load(ordering: .relaxed))
            + line("connections_open", "gauge", "TCP connections open.", connectionsOpen.load(ordering: .relaxed))
            + line("websockets_open", "gauge", "WebSocket connections open.", webSocketsOpen.load(ordering: .relaxed))
            + line("tls_handshakes_failed_total", "counter", "TLS handshakes that failed.", tlsHandshakesFailed.load(ordering: .relaxed))
            + line("http_requests_total", "counter", "HTTP requests parsed.", httpRequests.load(ordering: .relaxed))
            + line("http_errors_total", "counter", "HTTP requests answered with a 4xx/5xx error by the transport.", httpErrors.load(ordering: .relaxed))
            + line("ws_messages_received_total", "counter", "WebSocket data messages received.", messagesReceived.load(ordering: .relaxed))
            + line("ws_messages_sent_total", "counter", "WebSocket data messages sent.", messagesSent.load(ordering: .relaxed))
            + line("bytes_received_total", "counter", "Bytes read from sockets (after TLS).", bytesReceived.load(ordering: .relaxed))
            + line("bytes_sent_total", "counter", "Bytes written to sockets (before TLS).", bytesSent.load(ordering: .relaxed))
            + line("ws_protocol_violations_total", "counter", "WebSocket connections failed for protocol violations.", protocolViolations.load(ordering: .relaxed))
            + closeCodeLines()
            + line("slow_consumers_closed_total", "counter", "Connections closed because their output buffer was full.", slowConsumersClosed.load(ordering: .relaxed))
    }
}
