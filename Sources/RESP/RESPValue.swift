// RESP3, the Redis protocol (with RESP2's null forms): the values a server sends. The codec is
// pure, bytes in and values out, so byte-vector tests and the fuzzer drive it without a socket;
// the scale-out store (issue #11) puts it on the reactor.

/// One RESP value. Simple strings, errors and big numbers are checked UTF-8; bulk strings are
/// bytes (Redis keys and values are binary-safe).
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)              // +OK
    case error(String)                     // -ERR …
    case integer(Int64)                    // :42
    case bulkString([UInt8])               // $3 abc
    /// `_`, and RESP2's `$-1` and `*-1`.
    case null
    case array([RESPValue])                // *n
    case boolean(Bool)                     // #t
    case double(Double)                    // ,1.5  ,inf  ,nan
    case bigNumber(String)                 // (3492890328409238509324850943850943825024385
    case bulkError(String)                 // !n SYNTAX …
    case verbatim(format: String, text: [UInt8])   // =n txt:…
    /// In the server's order (a map's order carries no meaning, but keeping it keeps tests exact).
    case map([RESPPair])                   // %n
    case set([RESPValue])                  // ~n
    /// Out-of-band data on a RESP3 connection (pub/sub messages, invalidations).
    case push([RESPValue])                 // >n
}

public struct RESPPair: Sendable, Equatable {
    public var key: RESPValue
    public var value: RESPValue
    public init(_ key: RESPValue, _ value: RESPValue) { self.key = key; self.value = value }
}

extension RESPValue {
    /// The value as text when it is a string of any kind (bulk strings must be UTF-8).
    public var text: String? {
        switch self {
        case .simpleString(let s), .bigNumber(let s): return s
        case .bulkString(let b): return String(validating: b, as: UTF8.self)
        case .verbatim(_, let b): return String(validating: b, as: UTF8.self)
        default: return nil
        }
    }

    /// The error message when the value is an error reply.
    public var errorMessage: String? {
        switch self {
        case .error(let s), .bulkError(let s): return s
        default: return nil
        }
    }
}
