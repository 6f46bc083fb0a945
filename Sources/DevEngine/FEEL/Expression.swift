// The FEEL subset the dev engine evaluates: enough for gateway conditions and correlation keys.
//
//   =x > 5      =status = "ok"      =a and (b or not(c))      =order.total >= 100      =orderId
//
//   expr    := or
//   or      := and ("or" and)*
//   and     := compare ("and" compare)*
//   compare := operand (("=" | "!=" | "<" | "<=" | ">" | ">=") operand)?
//   operand := "not" "(" expr ")" | "(" expr ")" | number | string | true | false | null | path
//   path    := name ("." name)*
//
// Parsed once at deploy time (a syntax error names the element), evaluated per token against the
// instance's variables. As in FEEL, comparing values of different types gives null, and a
// condition that is not `true` does not take its flow.
import HubBytes

/// A parsed expression of the FEEL subset.
public indirect enum Expression: Sendable, Equatable {
    case literal(JSONValue)
    case path([String])
    case not(Expression)
    case and(Expression, Expression)
    case or(Expression, Expression)
    case compare(Expression, Comparison, Expression)

    public enum Comparison: String, Sendable { case eq = "=", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=" }

    /// Parses a FEEL expression (`=…`). Text without a leading `=` is a static string value.
    public static func parse(_ source: String) -> Result<Expression, ExpressionError> {
        let trimmed = source.trimmingSpaces
        guard trimmed.hasPrefix("=") else { return .success(.literal(.string(source))) }
        var p = ExpressionParser(Array(trimmed.utf8.dropFirst()))
        do {
            let e = try p.parseOr()
            p.skipSpace()
            guard p.at == p.bytes.count else { throw ExpressionError(message: "unexpected '\(p.rest)'") }
            return .success(e)
        } catch let e as ExpressionError {
            return .failure(ExpressionError(message: "\(e.message) in \(source)"))
        } catch {
            return .failure(ExpressionError(message: "\(error)"))
        }
    }

    public func evaluate(_ variables: [String: JSONValue]) -> JSONValue {
        switch self {
        case .literal(let v): return v
        case .path(let names):
            var current: JSONValue? = variables[names[0]]
            for name in names.dropFirst() { current = current?[name] }
            return current ?? .null
        case .not(let e):
            guard case .bool(let b) = e.evaluate(variables) else { return .null }
            return .bool(!b)
        case .and(let l, let r):
            let a = l.evaluate(variables), b = r.evaluate(variables)
            if a == .bool(false) || b == .bool(false) { return .bool(false) }
            if a == .bool(true) && b == .bool(true) { return .bool(true) }
            return .null
        case .or(let l, let r):
            let a = l.evaluate(variables), b = r.evaluate(variables)
            if a == .bool(true) || b == .bool(true) { return .bool(true) }
            if a == .bool(false) && b == .bool(false) { return .bool(false) }
            return .null
        case .compare(let l, let op, let r):
            return Self.compare(l.evaluate(variables), op, r.evaluate(variables))
        }
    }

    static func compare(_ a: JSONValue, _ op: Comparison, _ b: JSONValue) -> JSONValue {
        let order: Int?
        switch (a, b) {
        case (.number(let x), .number(let y)):
            guard let dx = Double(x), let dy = Double(y) else { return .null }
            order = dx < dy ? -1 : (dx > dy ? 1 : 0)
        case (.string(let x), .string(let y)): order = x < y ? -1 : (x > y ? 1 : 0)
        case (.bool(let x), .bool(let y)): order = x == y ? 0 : nil
        case (.null, .null): order = 0
        case (.null, _), (_, .null):
            // Equality with null is defined (x = null is "x is absent"); ordering is not.
            switch op {
            case .eq: return .bool(false)
            case .ne: return .bool(true)
            default: return .null
            }
        default:
            if op == .eq || op == .ne, a == b { return .bool(op == .eq) }
            return .null
        }
        guard let o = order else {
            switch op {
            case .eq: return .bool(false)
            case .ne: return .bool(true)
            default: return .null
            }
        }
        switch op {
        case .eq: return .bool(o == 0)
        case .ne: return .bool(o != 0)
        case .lt: return .bool(o < 0)
        case .le: return .bool(o <= 0)
        case .gt: return .bool(o > 0)
        case .ge: return .bool(o >= 0)
        }
    }
}

/// Why an expression could not be parsed (it quotes the source).
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

private struct ExpressionParser {
    let bytes: [UInt8]
    var at = 0
    var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var rest: String { String(decoding: bytes[at...], as: UTF8.self) }

    mutating func skipSpace() { while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x09 || bytes[at] == 0x0A || bytes[at] == 0x0D { at += 1 } }

    func isNameByte(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_") || c == UInt8(ascii: "$")
    }

    /// Consumes `word` when it stands alone (not the start of a longer name).
    mutating func keyword(_ word: String) -> Bool {
        skipSpace()
        let w = Array(word.utf8)
        guard at + w.count <= bytes.count, Array(bytes[at..<(at + w.count)]) == w else { return false }
        if at + w.count < bytes.count, isNameByte(bytes[at + w.count]) { return false }
        at += w.count
        return true
    }

    mutating func parseOr() throws -> Expression {
        depth += 1
        defer { depth -= 1 }
        guard depth < 32 else { throw ExpressionError(message: "expression nested too deeply") }
        var e = try parseAnd()
        while keyword("or") { e = .or(e, try parseAnd()) }
        return e
    }

    mutating func parseAnd() throws -> Expression {
        var e = try parseCompare()
        while keyword("and") { e = .and(e, try parseCompare()) }
        return e
    }

    mutating func parseCompare() throws -> Expression {
        let left = try parseOperand()
        skipSpace()
        guard at < bytes.count else { return left }
        let ops: [(String, Expression.Comparison)] = [("!=", .ne), ("<=", .le), (">=", .ge), ("=", .eq), ("<", .lt), (">", .gt)]
        for (text, op) in ops {
            let t = Array(text.utf8)
            if at + t.count <= bytes.count, Array(bytes[at..<(at + t.count)]) == t {
                at += t.count
                return .compare(left, op, try parseOperand())
            }
        }
        return left
    }

    mutating func parseOperand() throws -> Expression {
        skipSpace()
        guard at < bytes.count else { throw ExpressionError(message: "operand expected at end") }
        let c = bytes[at]
        if c == UInt8(ascii: "(") {
            at += 1
            let e = try parseOr()
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ")") else { throw ExpressionError(message: "')' expected") }
            at += 1
            return e
        }
        if c == UInt8(ascii: "\"") {
            at += 1
            var out: [UInt8] = []
            while at < bytes.count, bytes[at] != UInt8(ascii: "\"") {
                if bytes[at] == UInt8(ascii: "\\"), at + 1 < bytes.count { at += 1 }
                out.append(bytes[at])
                at += 1
            }
            guard at < bytes.count else { throw ExpressionError(message: "unterminated string") }
            at += 1
            return .literal(.string(String(decoding: out, as: UTF8.self)))
        }
        if c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) {
            let start = at
            at += 1
            while at < bytes.count, (bytes[at] >= 0x30 && bytes[at] <= 0x39) || bytes[at] == UInt8(ascii: ".") { at += 1 }
            let text = String(decoding: bytes[start..<at], as: UTF8.self)
            guard Double(text) != nil else { throw ExpressionError(message: "bad number \(text)") }
            return .literal(.number(text))
        }
        if keyword("true") { return .literal(.bool(true)) }
        if keyword("false") { return .literal(.bool(false)) }
        if keyword("null") { return .literal(.null) }
        if keyword("not") {
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "(") else { throw ExpressionError(message: "'(' expected after not") }
            at += 1
            let e = try parseOr()
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ")") else { throw ExpressionError(message: "')' expected") }
            at += 1
            return .not(e)
        }
        var names: [String] = []
        repeat {
            skipSpace()
            let start = at
            while at < bytes.count, isNameByte(bytes[at]) { at += 1 }
            guard at > start, !(bytes[start] >= 0x30 && bytes[start] <= 0x39) else {
                throw ExpressionError(message: "unsupported expression at '\(rest)' (the dev engine evaluates comparisons, and/or/not, literals and variable paths)")
            }
            names.append(String(decoding: bytes[start..<at], as: UTF8.self))
        } while at < bytes.count && bytes[at] == UInt8(ascii: ".") && { at += 1; return true }()
        return .path(names)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
