/// Why the hub refused something, with its wire answers: HTTP status and a stable code
/// (the same code is used in multiplexed-WebSocket error messages).
public enum HubError: Error, Sendable, Equatable {
    case invalidKey(String)
    case invalidOutcome(String)
    case outcomeTooLarge(Int)
    /// This key holds as many outcomes or bytes as it may (429: try later, after expiry).
    case keyFull(String)
    /// The whole store is full (507).
    case storeFull(String)
    case storeFailed(String)

    public var status: Int {
        switch self {
        case .invalidKey, .invalidOutcome: 400
        case .outcomeTooLarge: 413
        case .keyFull: 429
        case .storeFull: 507
        case .storeFailed: 503
        }
    }

    public var code: String {
        switch self {
        case .invalidKey: "invalid_key"
        case .invalidOutcome: "invalid_outcome"
        case .outcomeTooLarge: "outcome_too_large"
        case .keyFull: "key_full"
        case .storeFull: "store_full"
        case .storeFailed: "store_failed"
        }
    }

    public var message: String {
        switch self {
        case .invalidKey(let m), .invalidOutcome(let m), .keyFull(let m), .storeFull(let m), .storeFailed(let m): m
        case .outcomeTooLarge(let limit): "outcome data exceeds \(limit) bytes"
        }
    }
}
