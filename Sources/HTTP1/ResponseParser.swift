// An HTTP/1.1 response parser for the project's clients (engine client, OAuth, hub client).
// Bytes in, a complete response out: status line, header fields, and a body framed by
// Content-Length, chunked coding, or the end of the connection. 1xx interim responses are skipped.
//
//   feed(bytes) ─▶ next() ─▶ .needMore │ .response(ClientResponse) │ .failure(HTTPError)
//   peer closed ─▶ finishAtClose() (close-delimited bodies)

public struct ClientResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The server will keep the connection open for another request.
    public var keepAlive: Bool

    public init(status: Int, headers: HTTPHeaders, body: [UInt8], keepAlive: Bool = true) {
        self.status = status; self.headers = headers; self.body = body; self.keepAlive = keepAlive
    }
}

public struct ResponseParser {
    public enum Step: Sendable {
        case needMore
        case response(ClientResponse)
        case failure(HTTPError)
    }

    public var maxHeadBytes = 64 * 1024
    public var maxBodyBytes: Int
    private var buffer: [UInt8] = []
    /// The request was HEAD, so the response carries no body.
    public var expectsNoBody = false

    public init(maxBodyBytes: Int = 64 << 20) { self.maxBodyBytes = maxBodyBytes }

    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 { buffer.append(contentsOf: bytes) }

    /// Bytes received after the last complete response (a server must not send any unasked).
    public var bufferedCount: Int { buffer.count }

    public mutating func next() -> Step { parse(atClose: false) }

    /// The connection ended: a close-delimited body is complete now; anything else is truncated.
    public mutating func finishAtClose() -> Step {
        if buffer.isEmpty { return .failure(HTTPError(502, "connection_closed", "the server closed the connection without a response")) }
        return parse(atClose: true)
    }

    private mutating func parse(atClose: Bool) -> Step {
        while true {
            guard let headEnd = find([13, 10, 13, 10], from: 0) else {
                if buffer.count > maxHeadBytes { return .failure(HTTPError(502, "head_too_large", "response head exceeds \(maxHeadBytes) bytes")) }
                return atClose ? .failure(HTTPError(502, "truncated", "connection closed inside the response head")) : .needMore
            }
            let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
            var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
            let statusLine = lines.removeFirst()
            let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]), status >= 100 else {
                return .failure(HTTPError(502, "bad_status_line", "malformed status line"))
            }
            var headers = HTTPHeaders()
            for line in lines {
                guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                    return .failure(HTTPError(502, "bad_header", "malformed response header field"))
                }
                headers.add(String(line[..<colon]), trimOWS(line[line.index(after: colon)...]))
            }
            let bodyStart = headEnd + 4
            if status < 200 && status != 101 {
                buffer.removeFirst(bodyStart)  // 100 Continue, 103 Early Hints: the real answer follows
                continue
            }
            var keepAlive = parts[0] == "HTTP/1.1" ? !headers.contains("Connection", token: "close") : headers.contains("Connection", token: "keep-alive")
            if expectsNoBody || status == 204 || status == 304 || status == 101 {
                buffer.removeFirst(bodyStart)
                return .response(ClientResponse(status: status, headers: headers, body: [], keepAlive: keepAlive && status != 101))
            }
            if headers.tokens("Transfer-Encoding").last?.lowercased() == "chunked" {
                var at = bodyStart
                var body: [UInt8] = []
                while true {
                    guard let lineEnd = find([13, 10], from: at) else { return atClose ? truncated() : .needMore }
                    let sizeText = String(decoding: buffer[at..<lineEnd], as: UTF8.self).split(separator: ";").first.map { trimOWS($0) } ?? ""
                    guard let size = Int(sizeText, radix: 16), size >= 0 else { return .failure(HTTPError(502, "bad_chunk", "malformed chunk size")) }
                    guard body.count + size <= maxBodyBytes else { return .failure(HTTPError(502, "body_too_large", "response body exceeds \(maxBodyBytes) bytes")) }
                    at = lineEnd + 2
                    if size == 0 {
                        // Trailers, then an empty line.
                        while true {
                            guard let end = find([13, 10], from: at) else { return atClose ? truncated() : .needMore }
                            let empty = end == at
                            at = end + 2
                            if empty { break }
                        }
                        buffer.removeFirst(at)
                        return .response(ClientResponse(status: status, headers: headers, body: body, keepAlive: keepAlive))
                    }
                    guard buffer.count >= at + size + 2 else { return atClose ? truncated() : .needMore }
                    body.append(contentsOf: buffer[at..<(at + size)])
                    at += size + 2
                }
            }
            if let lengthText = headers["Content-Length"] {
                guard let length = Int(lengthText), length >= 0 else { return .failure(HTTPError(502, "bad_length", "malformed Content-Length")) }
                guard length <= maxBodyBytes else { return .failure(HTTPError(502, "body_too_large", "response body exceeds \(maxBodyBytes) bytes")) }
                guard buffer.count >= bodyStart + length else { return atClose ? truncated() : .needMore }
                let body = Array(buffer[bodyStart..<(bodyStart + length)])
                buffer.removeFirst(bodyStart + length)
                return .response(ClientResponse(status: status, headers: headers, body: body, keepAlive: keepAlive))
            }
            // Delimited by the end of the connection.
            guard buffer.count - bodyStart <= maxBodyBytes else { return .failure(HTTPError(502, "body_too_large", "response body exceeds \(maxBodyBytes) bytes")) }
            guard atClose else { return .needMore }
            keepAlive = false
            let body = Array(buffer[bodyStart...])
            buffer.removeAll()
            return .response(ClientResponse(status: status, headers: headers, body: body, keepAlive: keepAlive))
        }
    }

    private func truncated() -> Step { .failure(HTTPError(502, "truncated", "connection closed inside the response body")) }

    private func find(_ needle: [UInt8], from: Int) -> Int? { MultipartForm.find(needle, in: buffer, from: from) }
}
