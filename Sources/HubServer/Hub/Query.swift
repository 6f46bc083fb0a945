import HTTP1

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

    func bool(_ name: String) -> Bool {
        guard let v = values[name] else { return false }
        return v.isEmpty || v == "1" || v == "true" || v == "yes"
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
    var bearer: String? {
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
