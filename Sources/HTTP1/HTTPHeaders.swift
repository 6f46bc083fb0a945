/// Header fields in arrival order; names compare case-insensitively (RFC 9110 §5.1).
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }

    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    /// Every value of `name`.
    public func values(_ name: String) -> [String] {
        fields.compactMap { Self.sameName($0.name, name) ? $0.value : nil }
    }

    /// The first value of `name`.
    public subscript(_ name: String) -> String? {
        fields.first { Self.sameName($0.name, name) }?.value
    }

    /// Comma-separated list elements of every `name` field, trimmed and lowercased
    /// (for `Connection`, `Upgrade`, `Sec-WebSocket-Protocol` token matching).
    public func tokens(_ name: String) -> [String] {
        values(name).flatMap { $0.split(separator: ",") }.map { trimOWS($0).lowercased() }.filter { !$0.isEmpty }
    }

    /// Whether any `name` list contains `token` (case-insensitive).
    public func contains(_ name: String, token: String) -> Bool {
        tokens(name).contains(token.lowercased())
    }

    /// ASCII case-insensitive comparison, without allocating lowercased copies.
    static func sameName(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        for (x, y) in zip(a.utf8, b.utf8) where x != y {
            let lower = x | 0x20
            guard lower == y | 0x20, lower >= UInt8(ascii: "a"), lower <= UInt8(ascii: "z") else { return false }
        }
        return true
    }
}

/// Trims optional whitespace (SP / HTAB) at both ends.
public func trimOWS<S: StringProtocol>(_ s: S) -> String {
    var u = Substring(s).utf8[...]
    while let f = u.first, f == 0x20 || f == 0x09 { u = u.dropFirst() }
    while let l = u.last, l == 0x20 || l == 0x09 { u = u.dropLast() }
    return String(Substring(u))
}
