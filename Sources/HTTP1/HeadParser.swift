// One-pass parse of a complete request head (request line + header fields, no final blank line).
// Strict where leniency enables smuggling or confusion: bare CR or LF, obs-fold, whitespace before
// the colon, and control characters are refused (RFC 9112 §2.2, §5.1, §5.2).

enum HeadParser {
    static func parse(_ head: UnsafeRawBufferPointer, limits: HTTPLimits) -> Result<HTTPRequest, HTTPError> {
        // Every line must end in CRLF: checked over the whole head first, so the answer does not
        // depend on which line holds the offence. Counting lines here lets the header list be
        // allocated once, at its final size.
        var lineCount = 1
        var i = 0
        let n = head.count
        while i < n {
            let c = head[i]
            if c == 13 {
                guard i + 1 < n, head[i + 1] == 10 else { return .failure(.badRequest("bare CR in request head")) }
                lineCount += 1
                i += 2
                continue
            }
            if c == 10 { return .failure(.badRequest("bare LF in request head")) }
            i += 1
        }
        /// The line starting at `start`: up to its CR, or the end of the head.
        func line(from start: Int) -> Range<Int> {
            var end = start
            while end < n, head[end] != 13 { end += 1 }
            return start..<end
        }

        let requestLine = line(from: 0)
        if requestLine.count > limits.maxRequestLineBytes {
            return .failure(HTTPError(414, "uri_too_long", "request line exceeds \(limits.maxRequestLineBytes) bytes"))
        }
        if lineCount - 1 > limits.maxHeaderCount {
            return .failure(HTTPError(431, "too_many_headers", "more than \(limits.maxHeaderCount) header fields"))
        }
        var request: HTTPRequest
        switch parseRequestLine(head, requestLine) {
        case .failure(let e): return .failure(e)
        case .success(let r): request = r
        }
        request.headers.reserveCapacity(lineCount - 1)
        var next = requestLine.upperBound + 2
        while next <= n {
            let line = line(from: next)
            next = line.upperBound + 2
            guard let first = line.first else { continue }
            if head[first] == 0x20 || head[first] == 0x09 { return .failure(.badRequest("obsolete line folding in header field")) }
            var colon = -1
            for j in line where head[j] == UInt8(ascii: ":") { colon = j; break }
            guard colon > line.lowerBound else { return .failure(.badRequest("header field without a name or colon")) }
            for j in line.lowerBound..<colon where !isTokenChar(head[j]) {
                return .failure(.badRequest("invalid character in header field name"))
            }
            var vs = colon + 1, ve = line.upperBound
            while vs < ve, head[vs] == 0x20 || head[vs] == 0x09 { vs += 1 }
            while ve > vs, head[ve - 1] == 0x20 || head[ve - 1] == 0x09 { ve -= 1 }
            for j in vs..<ve {
                let c = head[j]
                if (c < 0x20 && c != 0x09) || c == 0x7F { return .failure(.badRequest("control character in header field value")) }
            }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: head[line.lowerBound..<colon]), as: UTF8.self)
            let value = String(decoding: UnsafeRawBufferPointer(rebasing: head[vs..<ve]), as: UTF8.self)
            request.headers.add(name, value)
        }
        if request.minorVersion == 1 {
            let hosts = request.headers.count(of: "Host")
            guard hosts == 1 else { return .failure(.badRequest(hosts == 0 ? "missing Host header" : "more than one Host header")) }
        }
        return .success(request)
    }

    private static func parseRequestLine(_ head: UnsafeRawBufferPointer, _ line: Range<Int>) -> Result<HTTPRequest, HTTPError> {
        // Exactly two spaces: method SP target SP version.
        var firstSpace = -1, secondSpace = -1, spaces = 0
        for j in line where head[j] == 0x20 {
            spaces += 1
            if spaces == 1 { firstSpace = j } else if spaces == 2 { secondSpace = j } else { break }
        }
        guard spaces == 2 else { return .failure(.badRequest("malformed request line")) }
        let methodRange = line.lowerBound..<firstSpace
        let targetRange = firstSpace + 1..<secondSpace
        let versionRange = secondSpace + 1..<line.upperBound
        guard !methodRange.isEmpty, methodRange.allSatisfy({ isTokenChar(head[$0]) }) else {
            return .failure(.badRequest("invalid method"))
        }
        guard !targetRange.isEmpty, targetRange.allSatisfy({ head[$0] > 0x20 && head[$0] < 0x7F }) else {
            return .failure(.badRequest("invalid request target"))
        }
        let v = versionRange.lowerBound
        guard versionRange.count == 8, head[v] == UInt8(ascii: "H"), head[v + 1] == UInt8(ascii: "T"), head[v + 2] == UInt8(ascii: "T"),
              head[v + 3] == UInt8(ascii: "P"), head[v + 4] == UInt8(ascii: "/"), head[v + 6] == UInt8(ascii: "."),
              (48...57).contains(head[v + 5]), (48...57).contains(head[v + 7]) else {
            return .failure(.badRequest("malformed HTTP version"))
        }
        guard head[v + 5] == UInt8(ascii: "1"), head[v + 7] <= UInt8(ascii: "1") else {
            return .failure(HTTPError(505, "version_not_supported", "only HTTP/1.0 and HTTP/1.1 are supported"))
        }
        let method = String(decoding: UnsafeRawBufferPointer(rebasing: head[methodRange]), as: UTF8.self)
        var target = String(decoding: UnsafeRawBufferPointer(rebasing: head[targetRange]), as: UTF8.self)
        if !target.hasPrefix("/") {
            if target == "*" && method == "OPTIONS" {
            } else if let origin = absoluteFormPath(target) {
                target = origin
            } else {
                return .failure(.badRequest("request target must be origin-form"))
            }
        }
        return .success(HTTPRequest(method: method, target: target, minorVersion: Int(head[v + 7] - 48)))
    }

    /// `http://host/path?q` → `/path?q` (RFC 9112 §3.2.2: servers accept absolute-form).
    private static func absoluteFormPath(_ target: String) -> String? {
        let lower = target.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return nil }
        let afterScheme = target[target.index(target.firstIndex(of: ":")!, offsetBy: 3)...]
        guard let slash = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        let rest = String(afterScheme[slash...])
        return rest.hasPrefix("?") ? "/" + rest : rest
    }

    /// RFC 9110 §5.6.2 tchar.
    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }
}
