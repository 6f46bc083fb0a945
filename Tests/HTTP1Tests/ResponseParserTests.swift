import Testing
import HTTP1

/// Feeds `bytes` split at `cut` and returns the first non-needMore step.
private func parse(_ bytes: [UInt8], cut: Int, head: Bool = false) -> ResponseParser.Step {
    var p = ResponseParser(maxBodyBytes: 1024)
    p.expectsNoBody = head
    p.feed(bytes[..<cut])
    let first = p.next()
    if case .needMore = first {} else { return first }
    p.feed(bytes[cut...])
    return p.next()
}

private func everySplit(_ text: String, head: Bool = false, _ check: (ResponseParser.Step) -> Void) {
    let bytes = Array(text.utf8)
    for cut in 0...bytes.count { check(parse(bytes, cut: cut, head: head)) }
}

@Suite struct ResponseParsing {
    @Test func aContentLengthBodyIsReadWholeAtEverySplit() {
        everySplit("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}") { step in
            guard case .response(let r) = step else { Issue.record("\(step)"); return }
            #expect(r.status == 201 && r.body == Array("{\"a\":1}".utf8) && r.keepAlive)
            #expect(r.headers["content-type"] == "application/json")
        }
    }

    @Test func aChunkedBodyWithExtensionsAndTrailersIsReassembledAtEverySplit() {
        everySplit("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n") { step in
            guard case .response(let r) = step else { Issue.record("\(step)"); return }
            #expect(String(decoding: r.body, as: UTF8.self) == "Wikipedia")
        }
    }

    @Test func interimResponsesAreSkippedAndBodilessStatusesHaveNoBody() {
        everySplit("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n") { step in
            guard case .response(let r) = step else { Issue.record("\(step)"); return }
            #expect(r.status == 204 && r.body.isEmpty)
        }
        everySplit("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true) { step in
            guard case .response(let r) = step else { Issue.record("\(step)"); return }
            #expect(r.body.isEmpty)
        }
    }

    @Test func aCloseDelimitedBodyEndsWithTheConnection() {
        var p = ResponseParser()
        p.feed(Array("HTTP/1.0 404 Not Found\r\nContent-Type: application/problem+json\r\n\r\n{\"title\":\"NOT_FOUND\"}".utf8))
        guard case .needMore = p.next() else { Issue.record("answered before the close"); return }
        guard case .response(let r) = p.finishAtClose() else { Issue.record("no response at close"); return }
        #expect(r.status == 404 && !r.keepAlive && r.body.count == 21)
    }

    @Test func malformedTruncatedAndOversizedResponsesAreFailures() {
        for bad in ["HTTX/1.1 200 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                    "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n"] {
            var p = ResponseParser(maxBodyBytes: 1024)
            p.feed(Array(bad.utf8))
            guard case .failure = p.next() else { Issue.record("accepted \(bad)"); continue }
        }
        var truncated = ResponseParser()
        truncated.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8))
        guard case .failure = truncated.finishAtClose() else { Issue.record("a truncated body passed"); return }
    }
}

@Suite struct MultipartForms {
    @Test func encodedPartsParseBackEqual() throws {
        let parts = [MultipartPart(name: "resources", filename: "a.bpmn", contentType: "application/xml", body: Array("<x/>\r\n--not-the-boundary".utf8)),
                     MultipartPart(name: "tenantId", contentType: "text/plain", body: Array("t1".utf8))]
        let body = MultipartForm.encode(parts, boundary: "B0UND")
        #expect(try MultipartForm.parse(body, boundary: "B0UND").get() == parts)
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=\"B0UND\"") == "B0UND")
        #expect(MultipartForm.boundary(contentType: "application/json") == nil)
    }

    @Test func malformedBodiesAreRefused() {
        for bad in ["no delimiter at all", "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
                    "--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--", "--Bjunk"] {
            if case .success = MultipartForm.parse(Array(bad.utf8), boundary: "B") { Issue.record("accepted \(bad)") }
        }
    }
}
