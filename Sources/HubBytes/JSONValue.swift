// A JSON document as a value: for the engine's variables and the clients' API bodies, where the
// shape is not known in advance. Numbers keep their source text, so a 64-bit key or a price
// passes through byte for byte; comparisons read them as Double.
//
//   bytes ─▶ JSONValue.parse ─▶ .object([...]) ─▶ .serialized() ─▶ bytes (object members sorted)

public enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    /// The number's text as written (validated JSON number syntax).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(_ int: Int) { self = .number(String(int)) }
    public init(_ double: Double) {
        self = double.isFinite ? .number(double == double.rounded() && abs(double) < 1e15 ? String(Int(double)) : String(double)) : .null
    }

    public subscript(_ name: String) -> JSONValue? {
        if case .object(let members) = self { return members[name] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var doubleValue: Double? { if case .number(let n) = self { return Double(n) }; return nil }
    public var intValue: Int? {
        if case .number(let n) = self { return Int(n) ?? Double(n).flatMap { $0 == $0.rounded() && abs($0) < 9e15 ? Int($0) : nil } }
        return nil
    }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var isNull: Bool { self == .null }

    // MARK: parsing

    /// Parses `bytes`: validated first by `JSONScanner` (the hub's one strict JSON grammar, with
    /// its depth bound), then built into a value.
    public static func parse(_ bytes: [UInt8]) -> Result<JSONValue, JSONError> {
        if let error = JSONScanner.validate(bytes) { return .failure(error) }
        var builder = Builder(bytes: bytes)
        return .success(builder.value())
    }

    public static func parse(_ text: String) -> Result<JSONValue, JSONError> { parse(Array(text.utf8)) }

    /// Builds a value from a document the scanner has validated: no error paths needed.
    private struct Builder {
        let bytes: [UInt8]
        var at = 0

        mutating func skipSpace() {
            while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
        }

        mutating func value() -> JSONValue {
            skipSpace()
            switch bytes[at] {
            case UInt8(ascii: "{"):
                at += 1
                var members: [String: JSONValue] = [:]
                while true {
                    skipSpace()
                    if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
                    if bytes[at] == UInt8(ascii: ",") { at += 1; skipSpace() }
                    let name = string()
                    skipSpace()
                    at += 1  // ':'
                    members[name] = value()
                }
            case UInt8(ascii: "["):
                at += 1
                var items: [JSONValue] = []
                while true {
                    skipSpace()
                    if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
                    if bytes[at] == UInt8(ascii: ",") { at += 1 }
                    items.append(value())
                }
            case UInt8(ascii: "\""): return .string(string())
            case UInt8(ascii: "t"): at += 4; return .bool(true)
            case UInt8(ascii: "f"): at += 5; return .bool(false)
            case UInt8(ascii: "n"): at += 4; return .null
            default:
                let start = at
                while at < bytes.count, !Self.ends(bytes[at]) { at += 1 }
                return .number(String(decoding: bytes[start..<at], as: UTF8.self))
            }
        }

        static func ends(_ c: UInt8) -> Bool {
            c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}") || c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09
        }

        mutating func string() -> String {
            let start = at
            at += 1
            while bytes[at] != UInt8(ascii: "\"") { at += bytes[at] == UInt8(ascii: "\\") ? 2 : 1 }
            at += 1
            return JSONScanner.stringValue(bytes, start..<at) ?? ""
        }
    }

    // MARK: serializing

    /// Compact JSON; object members in sorted order, so equal values serialize to equal bytes.
    public func serialized() -> String {
        var out = ""
        write(into: &out)
        return out
    }

    public var bytes: [UInt8] { Array(serialized().utf8) }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): out += JSONText.quoted(s)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, name) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                out += JSONText.quoted(name)
                out += ":"
                members[name]!.write(into: &out)
            }
            out += "}"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
}
