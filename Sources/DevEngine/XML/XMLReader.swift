// A small, strict XML reader for BPMN files as modelers write them: elements, attributes,
// text, CDATA, comments, processing instructions and the five predefined entities plus
// character references. No DTDs (a DOCTYPE is refused: no entity expansion, no external
// fetches) and no namespaces resolution beyond splitting `prefix:local`.
//
//   bytes ─▶ XMLReader.parse ─▶ XMLElement tree (root) │ XMLError(line, reason)

/// Why a document is not acceptable XML, with the line.
public struct XMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "XML line \(line): \(reason)" }
}

/// One element of a parsed document (immutable).
public final class XMLElement: Sendable {
    /// Qualified name as written (`bpmn:serviceTask`).
    public let qualifiedName: String
    /// Attributes by qualified name as written.
    public let attributes: [String: String]
    public let children: [XMLElement]
    /// Text and CDATA directly inside, concatenated.
    public let text: String
    public let line: Int

    init(qualifiedName: String, attributes: [String: String], children: [XMLElement], text: String, line: Int) {
        self.qualifiedName = qualifiedName; self.attributes = attributes; self.children = children; self.text = text; self.line = line
    }

    /// The name without its namespace prefix.
    public var name: Substring { qualifiedName.split(separator: ":").last ?? Substring(qualifiedName) }

    /// An attribute by local name, whatever its prefix.
    public func attribute(_ local: String) -> String? {
        if let v = attributes[local] { return v }
        return attributes.first { $0.key.split(separator: ":").last.map(String.init) == local }?.value
    }

    public func children(named local: String) -> [XMLElement] { children.filter { $0.name == local } }
    public func child(named local: String) -> XMLElement? { children.first { $0.name == local } }
}

/// Parses a whole document into its root element.
public enum XMLReader {
    /// Depth and size bounds: a BPMN file is a few hundred KiB at most.
    public static let maxDepth = 64
    public static let maxBytes = 4 * 1024 * 1024

    public static func parse(_ bytes: [UInt8]) -> Result<XMLElement, XMLError> {
        guard bytes.count <= maxBytes else { return .failure(XMLError(line: 0, reason: "document larger than \(maxBytes) bytes")) }
        var p = Parser(bytes: bytes)
        do { return .success(try p.document()) } catch let e as XMLError { return .failure(e) } catch { return .failure(XMLError(line: p.line, reason: "\(error)")) }
    }

    private struct Parser {
        let bytes: [UInt8]
        var at = 0
        var line = 1

        init(bytes: [UInt8]) {
            self.bytes = bytes
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { at = 3 }  // UTF-8 byte order mark
        }

        func fail(_ reason: String) -> XMLError { XMLError(line: line, reason: reason) }

        func peek(_ s: String) -> Bool {
            var i = at
            for c in s.utf8 {
                guard i < bytes.count, bytes[i] == c else { return false }
                i += 1
            }
            return true
        }

        mutating func advance(_ n: Int = 1) {
            for _ in 0..<n where at < bytes.count {
                if bytes[at] == 0x0A { line += 1 }
                at += 1
            }
        }

        mutating func skip(past terminator: String) throws {
            while at < bytes.count {
                if peek(terminator) { advance(terminator.utf8.count); return }
                advance()
            }
            throw fail("missing '\(terminator)'")
        }

        mutating func skipSpace() {
            while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { advance() }
        }

        /// Prolog and misc: declarations, comments, PIs, whitespace; then the root element.
        mutating func document() throws -> XMLElement {
            var root: XMLElement?
            while true {
                skipSpace()
                if at >= bytes.count { break }
                if peek("<?") { try skip(past: "?>"); continue }
                if peek("<!--") { try skip(past: "-->"); continue }
                if peek("<!DOCTYPE") || peek("<!doctype") { throw fail("DOCTYPE is not accepted (no DTDs or entities)") }
                if peek("<") {
                    guard root == nil else { throw fail("more than one root element") }
                    root = try element(depth: 0)
                    continue
                }
                throw fail("text outside the root element")
            }
            guard let root else { throw fail("no root element") }
            return root
        }

        mutating func name() throws -> String {
            let start = at
            while at < bytes.count {
                let c = bytes[at]
                let ok = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                    || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c >= 0x80
                guard ok else { break }
                at += 1
            }
            guard at > start else { throw fail("name expected") }
            return String(decoding: bytes[start..<at], as: UTF8.self)
        }

        mutating func element(depth: Int) throws -> XMLElement {
            guard depth < XMLReader.maxDepth else { throw fail("elements nested deeper than \(XMLReader.maxDepth)") }
            let startLine = line
            advance()  // <
            let qname = try name()
            var attributes: [String: String] = [:]
            while true {
                skipSpace()
                guard at < bytes.count else { throw fail("unterminated start tag <\(qname)>") }
                if peek("/>") {
                    advance(2)
                    return XMLElement(qualifiedName: qname, attributes: attributes, children: [], text: "", line: startLine)
                }
                if peek(">") { advance(); break }
                let attr = try name()
                skipSpace()
                guard peek("=") else { throw fail("'=' expected after attribute \(attr)") }
                advance()
                skipSpace()
                guard at < bytes.count, bytes[at] == 0x22 || bytes[at] == 0x27 else { throw fail("quoted value expected for \(attr)") }
                let quote = bytes[at]
                advance()
                let start = at
                while at < bytes.count, bytes[at] != quote {
                    if bytes[at] == UInt8(ascii: "<") { throw fail("'<' in attribute value") }
                    advance()
                }
                guard at < bytes.count else { throw fail("unterminated attribute value") }
                let raw = Array(bytes[start..<at])
                advance()
                guard attributes[attr] == nil else { throw fail("duplicate attribute \(attr)") }
                attributes[attr] = try decodeEntities(raw)
            }
            var children: [XMLElement] = []
            var text: [UInt8] = []
            while true {
                guard at < bytes.count else { throw fail("element <\(qname)> not closed") }
                if peek("</") {
                    advance(2)
                    let closing = try name()
                    guard closing == qname else { throw fail("</\(closing)> closes <\(qname)>") }
                    skipSpace()
                    guard peek(">") else { throw fail("'>' expected") }
                    advance()
                    let decoded = try decodeEntities(text)
                    return XMLElement(qualifiedName: qname, attributes: attributes, children: children, text: decoded, line: startLine)
                }
                if peek("<!--") { try skip(past: "-->"); continue }
                if peek("<![CDATA[") {
                    advance(9)
                    let start = at
                    while at < bytes.count, !peek("]]>") { advance() }
                    guard at < bytes.count else { throw fail("unterminated CDATA") }
                    // Escape so that decodeEntities leaves CDATA text as it was.
                    for c in bytes[start..<at] { if c == UInt8(ascii: "&") { text.append(contentsOf: Array("&amp;".utf8)) } else { text.append(c) } }
                    advance(3)
                    continue
                }
                if peek("<?") { try skip(past: "?>"); continue }
                if peek("<!") { throw fail("declarations are not accepted inside elements") }
                if peek("<") { children.append(try element(depth: depth + 1)); continue }
                text.append(bytes[at])
                advance()
            }
        }

        func decodeEntities(_ raw: [UInt8]) throws -> String {
            guard raw.contains(UInt8(ascii: "&")) else {
                guard let s = String(validating: raw, as: UTF8.self) else { throw fail("invalid UTF-8") }
                return s
            }
            var out: [UInt8] = []
            var i = 0
            while i < raw.count {
                guard raw[i] == UInt8(ascii: "&") else { out.append(raw[i]); i += 1; continue }
                guard let semi = raw[i...].firstIndex(of: UInt8(ascii: ";")), semi - i <= 10 else { throw fail("bare '&'") }
                let entity = String(decoding: raw[(i + 1)..<semi], as: UTF8.self)
                switch entity {
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "amp": out.append(UInt8(ascii: "&"))
                case "quot": out.append(UInt8(ascii: "\""))
                case "apos": out.append(UInt8(ascii: "'"))
                default:
                    var value: UInt32?
                    if entity.hasPrefix("#x") { value = UInt32(entity.dropFirst(2), radix: 16) } else if entity.hasPrefix("#") { value = UInt32(entity.dropFirst()) }
                    guard let v = value, let scalar = Unicode.Scalar(v) else { throw fail("unknown entity &\(entity);") }
                    out.append(contentsOf: Array(String(scalar).utf8))
                }
                i = semi + 1
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8") }
            return s
        }
    }
}
