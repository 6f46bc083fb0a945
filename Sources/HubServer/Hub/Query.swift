import HTTP1
import HubBytes

/// Query parameters of a request target (`a=1&b=x%20y`), percent-decoded; also reads
/// `application/x-www-form-urlencoded` bodies (same syntax). Repeated names keep the first.
public struct Query {
    private var values: [String: String] = [:]

    public init(_ query: Substring) {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first.flatMap({ Self.decode($0) }), values[name] == nil else { continue }
            values[name] = parts.count > 1 ? Self.decode(parts[1]) ?? "" : ""
        }
    }

    public subscript(_ name: String) -> String? { values[name] }
    /// Every parameter (the first of repeated names).
    public var all: [String: String] { values }

    // Typed reads: a parameter that is present with a value it cannot have is a 400 naming it,
    // never silently the default (a client that typed `wait=5s` should learn it, not wait 0).

    /// A flag: absent, or one of "", 1, true, yes (on) and 0, false, no (off).
    public func flag(_ name: String) -> Result<Bool, HTTPError> {
        guard let v = values[name] else { return .success(false) }
        switch v.lowercased() {
        case "", "1", "true", "yes": return .success(true)
        case "0", "false", "no": return .success(false)
        default: return .failure(.badRequest("\(name) is a flag: true or false, not \(JSONText.quoted(v))"))
        }
    }

    /// A sequence number (0 or more), if present.
    public func sequence(_ name: String) -> Result<UInt64?, HTTPError> {
        guard let v = values[name] else { return .success(nil) }
        guard let n = UInt64(v) else { return .failure(.badRequest("\(name) must be a sequence number (0 or more), not \(JSONText.quoted(v))")) }
        return .success(n)
    }

    /// A whole number within `range`, if present.
    public func integer(_ name: String, in range: ClosedRange<Int>, unit: String = "") -> Result<Int?, HTTPError> {
        guard let v = values[name] else { return .success(nil) }
        guard let n = Int(v), range.contains(n) else {
            return .failure(.badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)\(unit), not \(JSONText.quoted(v))"))
        }
        return .success(n)
    }

    /// A duration in seconds (decimals allowed) from 0 to `maxSeconds`, as milliseconds, if present.
    public func seconds(_ name: String, max maxSeconds: Int) -> Result<Int?, HTTPError> {
        guard let v = values[name] else { return .success(nil) }
        guard let s = Double(v), s.isFinite, s >= 0, s <= Double(maxSeconds), v.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else {
            return .failure(.badRequest("\(name) must be a number of seconds from 0 to \(maxSeconds), not \(JSONText.quoted(v))"))
        }
        return .success(Int(s * 1000))
    }

    static func decode(_ s: Substring) -> String? {
        var out: [UInt8] = []
        var it = s.utf8.makeIterator()
        while let c = it.next() {
            switch c {
            case UInt8(ascii: "+"): out.append(0x20)
            case UInt8(ascii: "%"):
                guard let h = it.next(), let l = it.next(), let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16) else { return nil }
                out.append(v)
            default: out.append(c)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}

extension HTTPRequest {
    /// The bearer credential of `Authorization: Bearer …`, if any.
    public var bearer: String? {
        guard let value = headers["Authorization"] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return trimOWS(parts[1])
    }

    /// A subscription token from the header, the `token` query parameter (browsers' EventSource
    /// and WebSocket cannot set headers), or a `bearer.<token>` WebSocket subprotocol.
    var subscriptionToken: String? {
        if let b = bearer { return b }
        if let t = Query(query)["token"] { return t }
        for p in headers.values("Sec-WebSocket-Protocol").flatMap({ $0.split(separator: ",") }) {
            let token = trimOWS(p)
            if token.hasPrefix("bearer.") { return String(token.dropFirst(7)) }
        }
        return nil
    }
}
