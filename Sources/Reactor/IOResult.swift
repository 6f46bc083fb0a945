/// The outcome of one non-blocking read or write. EAGAIN is a value here, not an error.
public enum IOResult: Sendable, Equatable {
    /// Bytes moved (> 0).
    case bytes(Int)
    /// Nothing now: wait for readiness.
    case wouldBlock
    /// The peer closed its side (read) or the connection is gone (write: EPIPE/ECONNRESET).
    case closed
    /// Any other failure, with errno (or an OpenSSL error code for TLS).
    case failed(Int32)
}
