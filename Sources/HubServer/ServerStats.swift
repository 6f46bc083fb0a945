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

    /// The counters, for `ExportedMetrics` (see docs/metrics.md).
    public func samples() -> [ExportedMetrics.Sample] {
        func read(_ a: borrowing Atomic<Int>) -> Int { a.load(ordering: .relaxed) }
        var out: [ExportedMetrics.Sample] = [
            .counter("affinity_connections_accepted_total", read(connectionsAccepted)),
            .counter("affinity_connections_refused_total", read(connectionsRefused)),
            .gauge("affinity_connections_open", read(connectionsOpen)),
            .gauge("affinity_websockets_open", read(webSocketsOpen)),
            .counter("affinity_tls_handshakes_failed_total", read(tlsHandshakesFailed)),
            .counter("affinity_http_requests_total", read(httpRequests)),
            .counter("affinity_http_errors_total", read(httpErrors)),
            .counter("affinity_ws_messages_received_total", read(messagesReceived)),
            .counter("affinity_ws_messages_sent_total", read(messagesSent)),
            .counter("affinity_bytes_received_total", read(bytesReceived)),
            .counter("affinity_bytes_sent_total", read(bytesSent)),
            .counter("affinity_ws_protocol_violations_total", read(protocolViolations)),
            .counter("affinity_slow_consumers_closed_total", read(slowConsumersClosed)),
        ]
        for (code, n) in closeCodes.withLock({ $0 }) {
            out.append(.counter("affinity_ws_close_codes_sent_total", [("code", String(code))], n))
        }
        return out
    }
}
