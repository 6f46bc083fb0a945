// permessage-deflate negotiation (RFC 7692 §5, §7.1): read the client's offers in order, accept
// the first one the server can honor, and answer with the parameters in force.
//
// The server always answers server_no_context_takeover (§7.1.1.1 lets it add that unasked), and by
// default client_no_context_takeover too (§7.1.1.2), so both directions reset per message and a
// per-loop shared zlib stream serves every connection. An offer is declined, not failed, when it
// has an unknown or repeated parameter or an invalid value. server_max_window_bits=8 is accepted
// although zlib cannot produce a raw deflate stream with a 256-byte window: the server then sends
// every message uncompressed, which RFC 7692 §6 allows, and still inflates the client's.
import HTTP1

/// What the server allows.
public struct DeflateConfig: Sendable {
    /// Accept offers at all.
    public var enabled: Bool = true
    /// Let the client keep its LZ77 window across messages. Off by default: keeping it costs one
    /// inflate stream (about 39 KiB at window 15) per connection instead of one per loop.
    public var allowClientContextTakeover: Bool = false
    /// Messages shorter than this are sent uncompressed: below a few hundred bytes deflate's
    /// framing overhead and CPU cost outweigh the savings.
    public var compressionThreshold: Int = 256

    public init() {}
}

/// The agreed parameters for one connection.
public struct DeflateParameters: Sendable, Equatable {
    public var serverNoContextTakeover = true
    public var clientNoContextTakeover = true
    /// Window our compressor may use.
    public var serverMaxWindowBits = 15
    /// Whether outgoing messages may be compressed: false when the client limited our window to
    /// 8 bits, which zlib's raw deflate cannot honor.
    public var compressesOutgoing: Bool { serverMaxWindowBits >= 9 }
    /// Window the client's compressor uses (our inflater's window).
    public var clientMaxWindowBits = 15
    /// The `Sec-WebSocket-Extensions` response value.
    public var responseHeader = "permessage-deflate"

    public init() {}
}

public enum DeflateNegotiation {
    /// The first acceptable offer among `Sec-WebSocket-Extensions` values, or nil.
    public static func negotiate(_ headerValues: [String], config: DeflateConfig) -> DeflateParameters? {
        guard config.enabled else { return nil }
        for offer in parseOffers(headerValues) where offer.name == "permessage-deflate" {
            if let accepted = accept(offer.params, config: config) { return accepted }
        }
        return nil
    }

    struct Offer { var name: String; var params: [(String, String?)] }

    /// Splits `ext1; a=1; b, ext2` into offers. Quoted values (RFC 7692 §5.1 allows quoted-string) are unquoted.
    static func parseOffers(_ values: [String]) -> [Offer] {
        var offers: [Offer] = []
        for value in values {
            for item in splitOutsideQuotes(value, separator: ",") {
                let parts = splitOutsideQuotes(item, separator: ";").map { trimOWS($0) }
                guard let name = parts.first, !name.isEmpty else { continue }
                var params: [(String, String?)] = []
                for p in parts.dropFirst() where !p.isEmpty {
                    if let eq = p.firstIndex(of: "=") {
                        var v = trimOWS(p[p.index(after: eq)...])
                        if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
                        params.append((trimOWS(p[..<eq]).lowercased(), v))
                    } else {
                        params.append((p.lowercased(), nil))
                    }
                }
                offers.append(Offer(name: name.lowercased(), params: params))
            }
        }
        return offers
    }

    private static func splitOutsideQuotes(_ s: String, separator: Character) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        for c in s {
            if c == "\"" { quoted.toggle() }
            if c == separator && !quoted { out.append(current); current = "" } else { current.append(c) }
        }
        out.append(current)
        return out
    }

    private static func windowBits(_ v: String?) -> Int? {
        guard let v, v.count <= 2, v.allSatisfy(\.isASCII), v.first != "0", let n = Int(v), (8...15).contains(n) else { return nil }
        return n
    }

    static func accept(_ params: [(String, String?)], config: DeflateConfig) -> DeflateParameters? {
        var seen = Set<String>()
        var result = DeflateParameters()
        var serverBits: Int?
        var clientBitsOffered = false
        var clientBits: Int?
        var clientNoTakeoverOffered = false
        for (name, value) in params {
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                clientNoTakeoverOffered = true
            case "server_max_window_bits":
                guard let bits = windowBits(value) else { return nil }
                serverBits = bits
            case "client_max_window_bits":
                clientBitsOffered = true
                if let value { guard let bits = windowBits(value) else { return nil }; clientBits = bits }
            default:
                return nil
            }
        }
        result.serverMaxWindowBits = serverBits ?? 15
        result.clientNoContextTakeover = clientNoTakeoverOffered || !config.allowClientContextTakeover
        result.clientMaxWindowBits = clientBits ?? 15
        var header = "permessage-deflate; server_no_context_takeover"
        if result.clientNoContextTakeover { header += "; client_no_context_takeover" }
        if let serverBits { header += "; server_max_window_bits=\(serverBits)" }
        if clientBitsOffered, let clientBits { header += "; client_max_window_bits=\(clientBits)" }
        result.responseHeader = header
        return result
    }
}
