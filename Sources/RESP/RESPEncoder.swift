/// Writes RESP. Commands are arrays of bulk strings (what a client sends); `append(_:to:)`
/// writes any value in its RESP3 form, for tests and for a fake server.
public enum RESPEncoder {
    /// A command: `["SET", "k", "v"]` → `*3\r\n$3\r\nSET\r\n…`.
    public static func command(_ parts: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 + parts.reduce(0) { $0 + $1.count + 16 })
        header(UInt8(ascii: "*"), parts.count, into: &out)
        for part in parts { bulk(part, into: &out) }
        return out
    }

    public static func command(_ parts: String...) -> [UInt8] { command(parts.map { Array($0.utf8) }) }

    public static func append(_ value: RESPValue, to out: inout [UInt8]) {
        switch value {
        case .simpleString(let s): line(UInt8(ascii: "+"), Array(s.utf8), into: &out)
        case .error(let s): line(UInt8(ascii: "-"), Array(s.utf8), into: &out)
        case .integer(let n): line(UInt8(ascii: ":"), Array(String(n).utf8), into: &out)
        case .bulkString(let b): bulk(b, into: &out)
        case .null: out += [UInt8(ascii: "_"), 13, 10]
        case .array(let items): aggregate(UInt8(ascii: "*"), items, into: &out)
        case .boolean(let b): out += [UInt8(ascii: "#"), b ? UInt8(ascii: "t") : UInt8(ascii: "f"), 13, 10]
        case .double(let d): line(UInt8(ascii: ","), Array(doubleText(d).utf8), into: &out)
        case .bigNumber(let s): line(UInt8(ascii: "("), Array(s.utf8), into: &out)
        case .bulkError(let s):
            header(UInt8(ascii: "!"), s.utf8.count, into: &out)
            out += s.utf8; out += [13, 10]
        case .verbatim(let format, let text):
            header(UInt8(ascii: "="), format.utf8.count + 1 + text.count, into: &out)
            out += format.utf8; out.append(UInt8(ascii: ":")); out += text; out += [13, 10]
        case .map(let pairs):
            header(UInt8(ascii: "%"), pairs.count, into: &out)
            for pair in pairs { append(pair.key, to: &out); append(pair.value, to: &out) }
        case .set(let items): aggregate(UInt8(ascii: "~"), items, into: &out)
        case .push(let items): aggregate(UInt8(ascii: ">"), items, into: &out)
        }
    }

    public static func encode(_ value: RESPValue) -> [UInt8] {
        var out: [UInt8] = []
        append(value, to: &out)
        return out
    }

    private static func aggregate(_ type: UInt8, _ items: [RESPValue], into out: inout [UInt8]) {
        header(type, items.count, into: &out)
        for item in items { append(item, to: &out) }
    }

    private static func bulk(_ bytes: [UInt8], into out: inout [UInt8]) {
        header(UInt8(ascii: "$"), bytes.count, into: &out)
        out += bytes
        out += [13, 10]
    }

    private static func header(_ type: UInt8, _ count: Int, into out: inout [UInt8]) {
        out.append(type)
        out += String(count).utf8
        out += [13, 10]
    }

    private static func line(_ type: UInt8, _ text: [UInt8], into out: inout [UInt8]) {
        out.append(type)
        out += text
        out += [13, 10]
    }

    /// RESP3's spelling: `inf`, `-inf`, `nan`; otherwise Swift's shortest round-tripping form.
    static func doubleText(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        return String(d)
    }
}
