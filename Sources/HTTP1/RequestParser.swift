// Incremental HTTP/1.1 request parser (RFC 9112), resumable at any byte.
//
//   feed(bytes) ─▶ buffer ─▶ .head ──(CRLFCRLF)──▶ framing ──▶ .fixedBody(n) ──▶ request
//                                                          └─▶ .chunkSize ⇄ .chunkData ─▶ .trailers ─▶ request
//
// The head is buffered until its blank line (bounded by `maxHeaderBytes`, the search resumes
// where it stopped, so a byte-at-a-time client costs no rescans) and then parsed in one pass.
// Bodies are decoded as they arrive. Framing follows the request-smuggling rules of RFC 9112
// §6.3: Transfer-Encoding together with Content-Length, differing Content-Lengths, or a
// Transfer-Encoding that does not end in chunked are refused, never guessed at.

/// Parses pipelined requests from a byte stream.
public struct RequestParser: Sendable {
    /// What the caller does next.
    public enum Step: Sendable {
        /// Feed more bytes.
        case needMore
        /// The client sent `Expect: 100-continue` and waits: write `HTTP/1.1 100 Continue`.
        case sendContinue
        /// A complete request.
        case request(HTTPRequest)
        /// The stream is unusable: answer with this error and close.
        case failure(HTTPError)
    }

    private enum State: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed(HTTPError)
    }

    public let limits: HTTPLimits
    private var state: State = .head
    private var buffer: [UInt8] = []
    /// Bytes before `start` are consumed.
    private var start = 0
    /// Where the blank-line search resumes.
    private var scan = 0
    private var pending: HTTPRequest?
    private var continuePending = false
    private var trailerBytes = 0
    private var leadingEmptyLines = 0
    private static let maxLeadingEmptyLines = 8
    /// How far the current request line has been checked for impossible bytes.
    private var lineChecked = 0
    /// The current request line's CR has been seen: nothing more to check early.
    private var lineEndSeen = false

    public init(limits: HTTPLimits = HTTPLimits()) { self.limits = limits }

    /// True when no partial request is buffered (a keep-alive connection is idle).
    public var isIdle: Bool {
        if case .head = state { return start == buffer.count }
        return false
    }

    /// True while the head of a request has arrived and its body has not.
    public var isReadingBody: Bool {
        switch state {
        case .head, .failed: return false
        default: return true
        }
    }

    /// Appends bytes from the network.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0; scan = 0; lineChecked = 0 }
        buffer.append(contentsOf: bytes)
    }

    public mutating func feed(_ bytes: [UInt8]) { bytes.withUnsafeBytes { feed($0) } }

    /// Bytes received after the last request (for a protocol upgrade); empties the parser.
    public mutating func takeBufferedBytes() -> [UInt8] {
        let rest = Array(buffer[start...])
        buffer = []; start = 0; scan = 0; lineChecked = 0
        return rest
    }

    /// The next step; call until `.needMore`.
    public mutating func next() -> Step {
        switch state {
        case .failed(let error): return .failure(error)
        case .head: return parseHead()
        default: return continueBody()
        }
    }

    private mutating func fail(_ error: HTTPError) -> Step {
        state = .failed(error)
        pending = nil
        return .failure(error)
    }

    private mutating func compact() {
        if start > 4096 || (start > 0 && start == buffer.count) {
            buffer.removeFirst(start)
            scan = max(0, scan - start)
            lineChecked = max(0, lineChecked - start)
            start = 0
        }
    }

    // MARK: head

    private mutating func parseHead() -> Step {
        // RFC 9112 §2.2: ignore empty lines before the request line — a few per request, counted
        // across reads so the answer does not depend on how the bytes were split.
        while buffer.count - start >= 2, buffer[start] == 13, buffer[start + 1] == 10 {
            leadingEmptyLines += 1
            if leadingEmptyLines > Self.maxLeadingEmptyLines { return fail(.badRequest("too many empty lines before the request line")) }
            start += 2
        }
        // The request line is checked byte by byte as it arrives, so the earliest offending byte
        // decides the answer (400 for an impossible byte, 414 past the length limit), however the
        // input was split.
        if let error = checkRequestLine() { return fail(error) }
        guard let end = findBlankLine() else {
            // The head may be maxHeaderBytes long plus its closing CRLFCRLF, of which up to three
            // bytes may already be here: only past that is it certainly too large.
            if buffer.count - start > limits.maxHeaderBytes + 3 {
                return fail(HTTPError(431, "headers_too_large", "header section exceeds \(limits.maxHeaderBytes) bytes"))
            }
            compact()
            return .needMore
        }
        if end - start > limits.maxHeaderBytes {
            return fail(HTTPError(431, "headers_too_large", "header section exceeds \(limits.maxHeaderBytes) bytes"))
        }
        let result = buffer.withUnsafeBytes { HeadParser.parse(UnsafeRawBufferPointer(rebasing: $0[start..<end]), limits: limits) }
        start = end + 4
        scan = start
        lineChecked = start
        lineEndSeen = false
        leadingEmptyLines = 0
        switch result {
        case .failure(let error): return fail(error)
        case .success(let head): return beginBody(head)
        }
    }

    /// The index of the CRLFCRLF ending the head, or nil; resumes where the last search stopped.
    private mutating func findBlankLine() -> Int? {
        var i = max(scan, start)
        let count = buffer.count
        while i + 3 < count {
            if buffer[i + 3] != 10 { i += buffer[i + 3] == 13 ? 1 : 4; continue }
            if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 { return i }
            i += 1
        }
        scan = max(start, count - 3)
        return nil
    }

    /// Refuses a request line as soon as a byte arrives that no request line may contain (control
    /// characters, non-ASCII) or that passes the length limit, instead of waiting for a line end
    /// that garbage may never send. Resumes where it stopped; done once the line's CR is seen.
    private mutating func checkRequestLine() -> HTTPError? {
        if lineEndSeen { return nil }
        if lineChecked < start { lineChecked = start }
        let limit = start + limits.maxRequestLineBytes
        while lineChecked < buffer.count {
            let c = buffer[lineChecked]
            if c == 13 {
                // A CR right at the start is an empty line before the request (skipped once its LF
                // arrives), not the end of the request line.
                if lineChecked == start {
                    guard lineChecked + 1 < buffer.count else { return nil }
                    if buffer[lineChecked + 1] != 10 { return .badRequest("bare CR in request line") }
                    return nil
                }
                lineEndSeen = true
                return nil
            }
            if lineChecked >= limit { return HTTPError(414, "uri_too_long", "request line exceeds \(limits.maxRequestLineBytes) bytes") }
            if c < 0x20 || c >= 0x7F { return .badRequest("invalid byte in request line") }
            lineChecked += 1
        }
        return nil
    }

    // MARK: framing and body

    private mutating func beginBody(_ head: HTTPRequest) -> Step {
        let h = head.headers
        let chunked = h.count(of: "Transfer-Encoding") > 0
        let contentLength = h.agreedValue("Content-Length")
        var expectsContinue = false
        if let expect = h["Expect"] {
            guard trimOWS(expect).lowercased() == "100-continue" else {
                return fail(HTTPError(417, "expectation_failed", "only Expect: 100-continue is supported"))
            }
            expectsContinue = head.minorVersion == 1
        }
        if chunked {
            if contentLength != .absent { return fail(.badRequest("both Transfer-Encoding and Content-Length: refused (request smuggling)")) }
            if head.minorVersion == 0 { return fail(.badRequest("Transfer-Encoding in an HTTP/1.0 request")) }
            let codings = h.tokens("Transfer-Encoding")
            guard codings.last == "chunked" else { return fail(.badRequest("Transfer-Encoding must end with chunked")) }
            guard codings == ["chunked"] else { return fail(HTTPError(501, "not_implemented", "only the chunked transfer coding is supported")) }
            pending = head
            state = .chunkSize
            continuePending = expectsContinue
            return continueBody()
        }
        var length = 0
        switch contentLength {
        case .absent: break
        case .conflicting: return fail(.badRequest("invalid or conflicting Content-Length"))
        case .value(let text):
            guard let n = Self.decimal(text) else { return fail(.badRequest("invalid or conflicting Content-Length")) }
            length = n
        }
        if length > limits.maxBodyBytes {
            return fail(HTTPError(413, "body_too_large", "body of \(length) bytes exceeds \(limits.maxBodyBytes)"))
        }
        if length == 0 { return .request(head) }
        var request = head
        request.body.reserveCapacity(length)
        pending = request
        state = .fixedBody(remaining: length)
        continuePending = expectsContinue
        return continueBody()
    }

    private mutating func continueBody() -> Step {
        while true {
            let available = buffer.count - start
            if continuePending {
                continuePending = false
                if available == 0 { return .sendContinue }
            }
            switch state {
            case .fixedBody(let remaining):
                let n = min(remaining, available)
                pending!.body.append(contentsOf: buffer[start..<start + n])
                start += n
                if n == remaining { return finish() }
                state = .fixedBody(remaining: remaining - n)
                compact()
                return .needMore
            case .chunkSize:
                guard let lineEnd = findCRLF(limit: limits.maxChunkLineBytes) else {
                    if available > limits.maxChunkLineBytes { return fail(.badRequest("chunk-size line too long")) }
                    compact(); return .needMore
                }
                guard let size = parseChunkSize(start..<lineEnd) else { return fail(.badRequest("invalid chunk size")) }
                start = lineEnd + 2
                if size == 0 { state = .trailers; trailerBytes = 0; continue }
                if size > limits.maxBodyBytes - pending!.body.count {
                    return fail(HTTPError(413, "body_too_large", "chunked body exceeds \(limits.maxBodyBytes) bytes"))
                }
                state = .chunkData(remaining: size)
            case .chunkData(let remaining):
                let n = min(remaining, available)
                pending!.body.append(contentsOf: buffer[start..<start + n])
                start += n
                if n < remaining { state = .chunkData(remaining: remaining - n); compact(); return .needMore }
                state = .chunkDataEnd
            case .chunkDataEnd:
                if available < 2 { compact(); return .needMore }
                guard buffer[start] == 13, buffer[start + 1] == 10 else { return fail(.badRequest("chunk data not followed by CRLF")) }
                start += 2
                state = .chunkSize
            case .trailers:
                guard let lineEnd = findCRLF(limit: limits.maxHeaderBytes) else {
                    if trailerBytes + available > limits.maxHeaderBytes {
                        return fail(HTTPError(431, "headers_too_large", "trailer section too large"))
                    }
                    compact(); return .needMore
                }
                trailerBytes += lineEnd - start + 2
                if trailerBytes > limits.maxHeaderBytes { return fail(HTTPError(431, "headers_too_large", "trailer section too large")) }
                let empty = lineEnd == start
                start = lineEnd + 2
                // Trailer fields are read and dropped: nothing in the hub depends on them.
                if empty { return finish() }
            case .head, .failed:
                return next()
            }
        }
    }

    private mutating func finish() -> Step {
        let request = pending!
        pending = nil
        state = .head
        scan = start
        lineChecked = start
        lineEndSeen = false
        leadingEmptyLines = 0
        compact()
        return .request(request)
    }

    private func findCRLF(limit: Int) -> Int? {
        let end = min(buffer.count - 1, start + limit + 1)
        var i = start
        while i < end {
            if buffer[i] == 13 { return buffer[i + 1] == 10 ? i : nil }
            if buffer[i] == 10 { return nil }
            i += 1
        }
        return nil
    }

    /// Hex digits, then optional `;extensions` (ignored); nil on anything else or overflow.
    private func parseChunkSize(_ range: Range<Int>) -> Int? {
        var value = 0
        var digits = 0
        var i = range.lowerBound
        while i < range.upperBound {
            let c = buffer[i]
            let v: Int
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = Int(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = Int(c - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = Int(c - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                return digits > 0 ? value : nil
            default: return nil
            }
            digits += 1
            if digits > 15 { return nil }
            value = value << 4 | v
            i += 1
        }
        return digits > 0 ? value : nil
    }

    static func decimal(_ text: String) -> Int? {
        let t = trimOWS(text)
        guard !t.isEmpty, t.utf8.count <= 18, t.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(t)
    }
}
