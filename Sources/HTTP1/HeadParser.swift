// One-pass parse of a complete request head (request line + header fields, no final blank line).
// Strict where leniency enables smuggling or confusion: bare CR or LF, obs-fold, whitespace before
// the colon, and control characters are refused (RFC 9112 §2.2, §5.1, §5.2).

enum HeadParser {
    static func parse(_ head: UnsafeRawBufferPointer, limits: HTTPLimits) -> Result<HTTPRequest, HTTPError> {
        var lines: [Range<Int>] = []
        var lineStart = 0
        var i = 0
        let n = head.count
        while i < n {
            let c = head[i]
            if c == 13 {
                guard i + 1 < n, head[i + 1] == 10 else { return .failure(.badRequest("bare CR in request head")) }
                lines.append(lineStart..<i)
                i += 2
                lineStart = i
                continue
            }
            if c == 10 { return .failure(.badRequest("bare LF in request head")) }
            i += 1
        }
        lines.append(lineStart..<n)

        guard let requestLine = lines.first else { return .failure(.badRequest("empty request")) }
        if requestLine.count > limits.maxRequestLineBytes {
            return .failure(HTTPError(414, "uri_too_long", "request line exceeds \(limits.maxRequestLineBytes) bytes"))
        }
        if lines.count - 1 > limits.maxHeaderCount {
            return .failure(HTTPError(431, "too_many_headers", "more than \(limits.maxHeaderCount) header fields"))
        }
        var request: HTTPRequest
        switch parseRequestLine(head, requestLine) {
        case .failure(let e): return .failure(e)
        case .success(let r): request = r
        }
        for line in lines.dropFirst() {
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
            let hosts = request.headers.values("Host")
            guard hosts.count == 1 else { return .failure(.badRequest(hosts.isEmpty ? "missing Host header" : "more than one Host header")) }
        }
        return .success(request)
    }

    private static func parseRequestLine(_ head: UnsafeRawBufferPointer, _ line: Range<Int>) -> Result<HTTPRequest, HTTPError> {
        var spaces: [Int] = []
        for j in line where head[j] == 0x20 {
            spaces.append(j)
            if spaces.count > 2 { break }
        }
        guard spaces.count == 2 else { return .failure(.badRequest("malformed request line")) }
        let methodRange = line.lowerBound..<spaces[0]
        let targetRange = spaces[0] + 1..<spaces[1]
        let versionRange = spaces[1] + 1..<line.upperBound
        guard !methodRange.isEmpty, methodRange.allSatisfy({ isTokenChar(head[$0]) }) else {
            return .failure(.badRequest("invalid method"))
        }
        guard !targetRange.isEmpty, targetRange.allSatisfy({ head[$0] > 0x20 && head[$0] < 0x7F }) else {
            return .failure(.badRequest("invalid request target"))
        }
        let version = Array(UnsafeRawBufferPointer(rebasing: head[versionRange]))
        let prefix = Array("HTTP/".utf8)
        guard version.count == 8, Array(version[0..<5]) == prefix, version[6] == UInt8(ascii: "."),
              (48...57).contains(version[5]), (48...57).contains(version[7]) else {
            return .failure(.badRequest("malformed HTTP version"))
        }
        guard version[5] == UInt8(ascii: "1"), version[7] <= UInt8(ascii: "1") else {
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
        return .success(HTTPRequest(method: method, target: target, minorVersion: Int(version[7] - 48)))
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
