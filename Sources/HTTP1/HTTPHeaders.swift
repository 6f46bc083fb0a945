/// Header fields in arrival order; names compare case-insensitively (RFC 9110 §5.1).
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }

    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    public var count: Int { fields.count }

    public mutating func reserveCapacity(_ n: Int) { fields.reserveCapacity(n) }

    /// How many fields are named `name` (no array is built).
    public func count(of name: String) -> Int {
        var n = 0
        for field in fields where Self.sameName(field.name, name) { n += 1 }
        return n
    }

    /// The value of `name` when every field so named has the same value; `.conflicting` otherwise
    /// (Content-Length: repeats are allowed only when identical, RFC 9110 §8.6).
    public func agreedValue(_ name: String) -> AgreedValue {
        var found: String?
        for field in fields where Self.sameName(field.name, name) {
            if let f = found, f != field.value { return .conflicting }
            found = field.value
        }
        return found.map { .value($0) } ?? .absent
    }

    public enum AgreedValue: Equatable, Sendable {
        case absent
        case value(String)
        case conflicting
    }

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

    /// Whether any `name` list contains `token` (case-insensitive), read in place: no list is built.
    public func contains(_ name: String, token: String) -> Bool {
        for field in fields where Self.sameName(field.name, name) {
            var value = field.value
            let found = value.withUTF8 { v -> Bool in
                var i = 0
                while i <= v.count {
                    var end = i
                    while end < v.count, v[end] != UInt8(ascii: ",") { end += 1 }
                    var s = i, e = end
                    while s < e, v[s] == 0x20 || v[s] == 0x09 { s += 1 }
                    while e > s, v[e - 1] == 0x20 || v[e - 1] == 0x09 { e -= 1 }
                    if Self.sameToken(UnsafeBufferPointer(rebasing: v[s..<e]), token) { return true }
                    i = end + 1
                }
                return false
            }
            if found { return true }
        }
        return false
    }

    /// ASCII case-insensitive equality of a list element and a token.
    private static func sameToken(_ element: UnsafeBufferPointer<UInt8>, _ token: String) -> Bool {
        guard element.count == token.utf8.count else { return false }
        for (x, y) in zip(element, token.utf8) where x != y {
            guard (x | 0x20) == (y | 0x20), (x | 0x20) >= UInt8(ascii: "a"), (x | 0x20) <= UInt8(ascii: "z") else { return false }
        }
        return true
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
