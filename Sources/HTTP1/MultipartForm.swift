// multipart/form-data (RFC 7578) both ways: the dev engine reads deployments, the engine client
// writes them. Parts are found by their boundary delimiter; limits bound the part count.
//
//   --B CRLF headers CRLF CRLF body CRLF --B CRLF ... CRLF --B-- [epilogue]

public struct MultipartPart: Sendable, Equatable {
    public var name: String
    public var filename: String?
    public var contentType: String?
    public var body: [UInt8]

    public init(name: String, filename: String? = nil, contentType: String? = nil, body: [UInt8]) {
        self.name = name; self.filename = filename; self.contentType = contentType; self.body = body
    }
}

public enum MultipartForm {
    public static let maxParts = 64

    /// The boundary parameter of a `multipart/form-data` Content-Type, or nil.
    public static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { trimOWS($0) }
        guard pieces.first?.lowercased() == "multipart/form-data" else { return nil }
        for p in pieces.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].lowercased() == "boundary" else { continue }
            var v = String(kv[1])
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v.isEmpty || v.utf8.count > 70 ? nil : v
        }
        return nil
    }

    public static func parse(_ body: [UInt8], boundary: String) -> Result<[MultipartPart], HTTPError> {
        let delimiter = Array(("--" + boundary).utf8)
        let crlfDelimiter = [13, 10] + delimiter
        guard var at = find(delimiter, in: body, from: 0) else { return .failure(.badRequest("multipart body has no boundary delimiter")) }
        at += delimiter.count
        var parts: [MultipartPart] = []
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if body.count >= at + 2, body[at] == UInt8(ascii: "-"), body[at + 1] == UInt8(ascii: "-") { return .success(parts) }
            while at < body.count, body[at] == 0x20 || body[at] == 0x09 { at += 1 }
            guard body.count >= at + 2, body[at] == 13, body[at + 1] == 10 else { return .failure(.badRequest("malformed multipart delimiter line")) }
            at += 2
            guard let headEnd = find([13, 10, 13, 10], in: body, from: at) ?? (body.count >= at + 2 && body[at] == 13 && body[at + 1] == 10 ? at - 2 : nil) else {
                return .failure(.badRequest("multipart part without header end"))
            }
            let headText = headEnd > at ? String(decoding: body[at..<headEnd], as: UTF8.self) : ""
            let bodyStart = headEnd + 4
            guard let next = find(crlfDelimiter, in: body, from: bodyStart - 2) else { return .failure(.badRequest("multipart part not terminated by its boundary")) }
            var part = MultipartPart(name: "", body: Array(body[bodyStart..<max(bodyStart, next)]))
            for line in headText.split(separator: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { return .failure(.badRequest("malformed multipart header")) }
                let name = line[..<colon].lowercased()
                let value = trimOWS(line[line.index(after: colon)...])
                if name == "content-type" { part.contentType = value }
                if name == "content-disposition" {
                    for p in value.split(separator: ";").dropFirst() {
                        let kv = p.split(separator: "=", maxSplits: 1)
                        guard kv.count == 2 else { continue }
                        var v = trimOWS(kv[1])
                        if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
                        switch trimOWS(kv[0]).lowercased() {
                        case "name": part.name = v
                        case "filename": part.filename = v
                        default: break
                        }
                    }
                }
            }
            guard !part.name.isEmpty else { return .failure(.badRequest("multipart part without a name")) }
            parts.append(part)
            guard parts.count <= maxParts else { return .failure(HTTPError(413, "too_many_parts", "more than \(maxParts) multipart parts")) }
            at = next + crlfDelimiter.count
        }
    }

    /// Encodes parts with `boundary`; returns the body (the Content-Type is
    /// `multipart/form-data; boundary=<boundary>`).
    public static func encode(_ parts: [MultipartPart], boundary: String) -> [UInt8] {
        var out: [UInt8] = []
        for p in parts {
            var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(p.name)\""
            if let f = p.filename { head += "; filename=\"\(f)\"" }
            head += "\r\nContent-Type: \(p.contentType ?? "application/octet-stream")\r\n\r\n"
            out += Array(head.utf8)
            out += p.body
            out += [13, 10]
        }
        out += Array("--\(boundary)--\r\n".utf8)
        return out
    }

    public static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        let first = needle[0]
        var i = max(0, from)
        while i <= hay.count - needle.count {
            if hay[i] == first {
                var j = 1
                while j < needle.count, hay[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}
