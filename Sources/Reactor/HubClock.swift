import CSystemShims

/// Time sources the server uses, in one place.
public enum HubClock {
    /// Monotonic nanoseconds.
    public static var monotonicNanoseconds: UInt64 { hub_monotonic_ns() }
    /// Wall-clock seconds since the epoch.
    public static var wallSeconds: Int64 { hub_wall_seconds() }

    /// RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    public static func httpDate(_ seconds: Int64) -> String {
        var buf = [CChar](repeating: 0, count: 32)
        let n = hub_http_date(seconds, &buf)
        return String(decoding: buf[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Process-level knobs.
public enum Process {
    /// Raises the open-file soft limit to the hard limit; returns the new limit.
    @discardableResult
    public static func raiseFileLimit() -> Int { hub_raise_fd_limit() }
    /// Resident memory of this process in KiB.
    public static var residentKiB: Int { hub_rss_kib() }
    /// Blocks SIGTERM/SIGINT/SIGHUP in this thread and its future threads; ignores SIGPIPE.
    public static func blockShutdownSignals() { _ = hub_block_shutdown_signals() }
    /// Waits for SIGTERM, SIGINT or SIGHUP; returns the signal number.
    public static func waitForShutdownSignal() -> Int32 { hub_wait_shutdown_signal() }
}

/// Machine facts.
public enum System {
    /// Online cores.
    public static var coreCount: Int { Int(hub_core_count()) }
}

/// Flushes stdout (the "listening" lines are read by scripts and tests through a pipe).
public func flushStdout() { hub_flush_stdout() }

/// Outgoing connections (benchmarks, the client library later).
public enum Connector {
    /// Starts a non-blocking TCP connect to an IPv4 literal on loopback or elsewhere; the socket
    /// becomes writable when connected.
    public static func connect(host: String, port: Int) throws(ReactorError) -> Int32 {
        let fd = hub_connect_tcp(host, Int32(port))
        guard fd >= 0 else { throw .system("connect to \(host):\(port)", -fd) }
        return fd
    }
}

extension HubClock {
    /// Wall-clock milliseconds since the epoch (outcome timestamps and expiry).
    public static var wallMilliseconds: Int64 { hub_wall_milliseconds() }
}
