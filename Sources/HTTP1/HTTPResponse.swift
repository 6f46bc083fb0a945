// Response encoding: status line, headers, body, into one `OutboundBytes` ready for writev.
import HubBytes

/// A response the server writes.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status; self.headers = headers; self.body = body
    }

    /// A JSON response.
    public static func json(_ status: Int, _ json: String, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(json.utf8))
    }

    /// The error's JSON answer.
    public init(error: HTTPError) {
        self = .json(error.status, JSONText.errorBody(code: error.code, message: error.message), headers: error.headers)
    }

    /// Encodes the response. `date` is the cached IMF-fixdate; HEAD responses keep
    /// `Content-Length` but omit the body (RFC 9110 §9.3.2).
    public func encode(date: String, keepAlive: Bool, headOnly: Bool = false) -> OutboundBytes {
        var head: [UInt8] = []
        head.reserveCapacity(160 + headers.count * 40)
        head.append(contentsOf: "HTTP/1.1 ".utf8)
        head.append(contentsOf: String(status).utf8)
        head.append(0x20)
        head.append(contentsOf: Self.reason(status).utf8)
        head.append(contentsOf: "\r\nDate: ".utf8)
        head.append(contentsOf: date.utf8)
        head.append(contentsOf: "\r\nServer: affinity-hub\r\n".utf8)
        // A chunked (streamed) response must not also carry Content-Length (RFC 9112 §6.2):
        // strict parsers such as Node's reject the pair, and proxies may be smuggled by it.
        var hasFraming = false
        for (name, value) in headers {
            head.append(contentsOf: name.utf8); head.append(contentsOf: ": ".utf8)
            head.append(contentsOf: value.utf8); head.append(contentsOf: "\r\n".utf8)
            if !hasFraming && (HTTPHeaders.sameName(name, "Content-Length") || HTTPHeaders.sameName(name, "Transfer-Encoding")) {
                hasFraming = true
            }
        }
        let noBodyAllowed = status == 204 || status == 304 || (100..<200).contains(status)
        if !hasFraming && !noBodyAllowed {
            head.append(contentsOf: "Content-Length: ".utf8)
            head.append(contentsOf: String(body.count).utf8)
            head.append(contentsOf: "\r\n".utf8)
        }
        if status != 101 && !keepAlive { head.append(contentsOf: "Connection: close\r\n".utf8) }
        head.append(contentsOf: "\r\n".utf8)
        let sendBody = !headOnly && !noBodyAllowed
        let total = head.count + (sendBody ? body.count : 0)
        return OutboundBytes(capacity: total) { out in
            _ = out.initializeMemory(as: UInt8.self, from: head)
            if sendBody {
                _ = UnsafeMutableRawBufferPointer(rebasing: out[head.count...]).initializeMemory(as: UInt8.self, from: body)
            }
            return total
        }
    }

    /// The standard reason phrase (RFC 9110 §15, RFC 6585); empty for a code it does not name,
    /// which the status line allows.
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 203: "Non-Authoritative Information"
        case 204: "No Content"
        case 205: "Reset Content"
        case 206: "Partial Content"
        case 300: "Multiple Choices"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Range Not Satisfiable"
        case 417: "Expectation Failed"
        case 421: "Misdirected Request"
        case 422: "Unprocessable Content"
        case 425: "Too Early"
        case 426: "Upgrade Required"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 451: "Unavailable For Legal Reasons"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        case 507: "Insufficient Storage"
        case 511: "Network Authentication Required"
        default: ""
        }
    }
}
