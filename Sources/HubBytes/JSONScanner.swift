// A strict RFC 8259 JSON validator that also reports where each top-level member's value lies,
// so the hub can check a published outcome and pass its `data` through byte for byte (never
// re-serialised: what the publisher sent is what subscribers get).
//
//   bytes ─▶ value (object | array | string | number | literal), depth ≤ maxDepth ─▶ members: name → byte range
//
// Hostile input: nesting is bounded (no recursion past maxDepth), strings are UTF-8-checked,
// escapes and numbers follow the grammar exactly, and nothing but whitespace may follow the value.

/// Why a document is not acceptable JSON.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

public struct JSONScanner {
    /// Deepest nesting accepted. 64 is far beyond real outcomes and keeps the scan shallow.
    public static let maxDepth = 64

    /// A top-level object's members: each name (unescaped) and the byte range of its value.
    public struct Members: Sendable {
        public var ranges: [(name: String, range: Range<Int>)] = []
        public func range(of name: String) -> Range<Int>? { ranges.first { $0.name == name }?.range }
    }

    private let bytes: UnsafeRawBufferPointer
    private var i = 0

    private init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Validates a complete JSON document.
    public static func validate(_ bytes: UnsafeRawBufferPointer) -> JSONError? {
        var s = JSONScanner(bytes)
        do {
            s.skipWhitespace()
            try s.value(depth: 0)
            s.skipWhitespace()
            if s.i != bytes.count { throw s.error("data after the JSON value") }
            return nil
        } catch let error as JSONError { return error } catch { return JSONError(offset: 0, reason: "\(error)") }
    }

    public static func validate(_ bytes: [UInt8]) -> JSONError? { bytes.withUnsafeBytes { validate($0) } }

    /// Validates a document that must be an object and returns its members' value ranges.
    public static func objectMembers(_ bytes: UnsafeRawBufferPointer) -> Result<Members, JSONError> {
        var s = JSONScanner(bytes)
        do {
            s.skipWhitespace()
            guard s.peek == UInt8(ascii: "{") else { throw s.error("expected a JSON object") }
            var members = Members()
            members.ranges.reserveCapacity(4)
            s.i += 1
            s.skipWhitespace()
            if s.peek == UInt8(ascii: "}") { s.i += 1 } else {
                while true {
                    s.skipWhitespace()
                    let nameStart = s.i
                    try s.string()
                    let name = try s.unescape(nameStart..<s.i)
                    s.skipWhitespace()
                    try s.expect(UInt8(ascii: ":"))
                    s.skipWhitespace()
                    let valueStart = s.i
                    try s.value(depth: 1)
                    if members.ranges.contains(where: { $0.name == name }) { throw s.error("duplicate member \"\(name)\"") }
                    members.ranges.append((name, valueStart..<s.i))
                    s.skipWhitespace()
                    if s.peek == UInt8(ascii: ",") { s.i += 1; continue }
                    try s.expect(UInt8(ascii: "}"))
                    break
                }
            }
            s.skipWhitespace()
            if s.i != bytes.count { throw s.error("data after the JSON value") }
            return .success(members)
        } catch let error as JSONError { return .failure(error) } catch { return .failure(JSONError(offset: 0, reason: "\(error)")) }
    }

    public static func objectMembers(_ bytes: [UInt8]) -> Result<Members, JSONError> { bytes.withUnsafeBytes { objectMembers($0) } }

    /// The string value at `range` (a JSON string token) unescaped, or nil if it is not a string.
    public static func stringValue(_ bytes: [UInt8], _ range: Range<Int>) -> String? {
        bytes.withUnsafeBytes { buf in
            var s = JSONScanner(buf)
            s.i = range.lowerBound
            guard (try? s.string()) != nil, s.i == range.upperBound else { return nil }
            return try? s.unescape(range)
        }
    }

    // MARK: grammar

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    private func error(_ reason: String) -> JSONError { JSONError(offset: i, reason: reason) }

    private mutating func expect(_ c: UInt8) throws(JSONError) {
        guard peek == c else { throw error("expected '\(Character(UnicodeScalar(c)))'") }
        i += 1
    }

    private mutating func skipWhitespace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 }
    }

    private mutating func value(depth: Int) throws(JSONError) {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        guard let c = peek else { throw error("unexpected end") }
        switch c {
        case UInt8(ascii: "{"):
            i += 1
            skipWhitespace()
            if peek == UInt8(ascii: "}") { i += 1; return }
            while true {
                skipWhitespace()
                try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                try value(depth: depth + 1)
                skipWhitespace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "}"))
                return
            }
        case UInt8(ascii: "["):
            i += 1
            skipWhitespace()
            if peek == UInt8(ascii: "]") { i += 1; return }
            while true {
                skipWhitespace()
                try value(depth: depth + 1)
                skipWhitespace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "]"))
                return
            }
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try number()
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw error("unexpected end") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw error("invalid literal") }
        i += n
    }

    private mutating func number() throws(JSONError) {
        if peek == UInt8(ascii: "-") { i += 1 }
        guard let first = peek, first >= 48, first <= 57 else { throw error("invalid value") }
        i += 1
        if first != 48 { while let c = peek, c >= 48, c <= 57 { i += 1 } }
        if peek == UInt8(ascii: ".") {
            i += 1
            guard let c = peek, c >= 48, c <= 57 else { throw error("digit expected after '.'") }
            while let c = peek, c >= 48, c <= 57 { i += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            i += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            guard let c = peek, c >= 48, c <= 57 else { throw error("digit expected in exponent") }
            while let c = peek, c >= 48, c <= 57 { i += 1 }
        }
    }

    private mutating func string() throws(JSONError) {
        try expect(UInt8(ascii: "\""))
        var utf8 = UTF8Validator()
        let start = i
        while true {
            guard let c = peek else { throw error("unterminated string") }
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw error("control character in string") }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard let e = peek else { throw error("unterminated escape") }
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 1
                case UInt8(ascii: "u"):
                    i += 1
                    for _ in 0..<4 {
                        guard let h = peek, isHex(h) else { throw error("invalid \\u escape") }
                        i += 1
                    }
                default: throw error("invalid escape")
                }
                continue
            }
            i += 1
        }
        let ok = utf8.feed(UnsafeRawBufferPointer(rebasing: bytes[start..<i])) && utf8.isComplete
        if !ok { throw error("string is not valid UTF-8") }
        i += 1
    }

    private func isHex(_ c: UInt8) -> Bool {
        (48...57).contains(c) || (65...70).contains(c) || (97...102).contains(c)
    }

    /// Unescapes a validated string token (quotes included in `range`).
    private func unescape(_ range: Range<Int>) throws(JSONError) -> String {
        var k = range.lowerBound + 1
        let end = range.upperBound - 1
        // Most strings (member names, statuses, ids) have no escape: their bytes are the string,
        // already checked as UTF-8 by the scan.
        if !bytes[k..<end].contains(UInt8(ascii: "\\")) {
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[k..<end]), as: UTF8.self)
        }
        var out = [UInt8]()
        out.reserveCapacity(end - k)
        var pendingHigh: UInt32?
        func appendScalar(_ v: UInt32) {
            let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
        while k < end {
            let c = bytes[k]
            if c != UInt8(ascii: "\\") { out.append(c); k += 1; continue }
            let e = bytes[k + 1]
            k += 2
            switch e {
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "u"):
                var v: UInt32 = 0
                for d in 0..<4 {
                    let h = bytes[k + d]
                    v = v << 4 | UInt32(h <= 57 ? h - 48 : (h | 0x20) - 87)
                }
                k += 4
                if (0xD800...0xDBFF).contains(v) { pendingHigh = v; continue }
                if (0xDC00...0xDFFF).contains(v), let high = pendingHigh {
                    appendScalar(0x10000 + ((high - 0xD800) << 10) + (v - 0xDC00))
                    pendingHigh = nil
                    continue
                }
                appendScalar(v)
            default: out.append(e)
            }
            pendingHigh = nil
        }
        return String(decoding: out, as: UTF8.self)
    }
}
