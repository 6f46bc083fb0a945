// Where the hub may send webhooks. An endpoint URL is attacker-chosen input: without a policy a
// registration could make the hub call its own admin ports, a cloud metadata service or a
// neighbour on the private network. So: http(s) only, hosts matching the allow-list (when one is
// set), and — unless the development switch is on — no loopback, private, link-local, CGNAT,
// multicast or unspecified address, checked on the address actually connected to (after DNS), and
// redirects are never followed (a 3xx is a failed attempt).
public struct DestinationPolicy: Sendable {
    /// Host patterns: `hooks.example.com`, `*.example.com`; empty allows every public host.
    public var allowedHosts: [String]
    /// Development only: loopback and private addresses allowed (the demo and tests use it).
    public var allowPrivateAddresses: Bool

    public init(allowedHosts: [String] = [], allowPrivateAddresses: Bool = false) {
        self.allowedHosts = allowedHosts.map { $0.lowercased() }
        self.allowPrivateAddresses = allowPrivateAddresses
    }

    /// Why `host` (from a URL) may not be called, or nil.
    public func refusal(host: String) -> String? {
        let h = host.lowercased()
        if !allowedHosts.isEmpty, !allowedHosts.contains(where: { Self.hostMatches(h, $0) }) {
            return "host \(host) is not in the webhook allow-list"
        }
        if let ip = Self.ipv4(h) ?? (h.contains(":") ? [0] : nil), !allowPrivateAddresses {
            if h.contains(":") { return "IPv6 literal hosts are not allowed for webhooks" }
            if let reason = Self.privateRange(ip) { return "\(host) is a \(reason) address" }
        }
        if !allowPrivateAddresses, h == "localhost" || h.hasSuffix(".localhost") { return "\(host) is loopback" }
        return nil
    }

    /// Why the resolved `address` (IPv4 text) may not be connected to, or nil.
    public func refusal(address: String) -> String? {
        guard !allowPrivateAddresses else { return nil }
        guard let ip = Self.ipv4(address) else { return "\(address) is not an IPv4 address" }
        return Self.privateRange(ip).map { "the host resolves to \(address), a \($0) address" }
    }

    static func hostMatches(_ host: String, _ pattern: String) -> Bool {
        if pattern.hasPrefix("*.") { return host.hasSuffix(String(pattern.dropFirst())) }
        return host == pattern
    }

    static func ipv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), let v = UInt8(p) else { return nil }
            out.append(v)
        }
        return out
    }

    /// The kind of non-public range `ip` is in, or nil for a public address.
    static func privateRange(_ ip: [UInt8]) -> String? {
        switch (ip[0], ip[1]) {
        case (0, _): return "unspecified"
        case (10, _): return "private"
        case (100, 64...127): return "shared (CGNAT)"
        case (127, _): return "loopback"
        case (169, 254): return "link-local"
        case (172, 16...31): return "private"
        case (192, 168): return "private"
        case (192, 0) where ip[2] == 0: return "reserved"
        case (198, 18...19): return "benchmarking"
        case (224...255, _): return "multicast or reserved"
        default: return nil
        }
    }
}
