// The HTTP/1.1 phase of a connection: parse pipelined requests, route, answer in order, upgrade.
import HTTP1
import HubBytes
import WebSocket

extension Connection {
    func receivedHTTP(_ bytes: UnsafeRawBufferPointer) {
        // After a final response only the close remains: later requests are not answered.
        guard !closeAfterFlush, let reader else { return }
        if reader.parser.isIdle { setDeadline(.requestHead, afterMs: config.headerTimeoutMs) }
        reader.parser.feed(bytes)
        processRequests()
    }

    /// Answers every complete request in the buffer, in order.
    func processRequests() {
        guard let reader else { return }
        while phase == .http && !closeAfterFlush && exchange == nil {
            // Backpressure: a client pipelining requests without reading the answers stops being read.
            if output.queuedBytes > config.outputLimitBytes { pauseReading(); return }
            switch reader.parser.next() {
            case .needMore:
                if reader.parser.isReadingBody {
                    if deadlineKind != .requestBody { setDeadline(.requestBody, afterMs: config.bodyTimeoutMs) }
                } else if reader.parser.isIdle {
                    setDeadline(.keepAlive, afterMs: config.keepAliveTimeoutMs)
                }
                return
            case .sendContinue:
                enqueue(OutboundBytes("HTTP/1.1 100 Continue\r\n\r\n"))
            case .failure(let error):
                respondWithError(error)
                return
            case .request(let request):
                stats.httpRequests.add(1, ordering: .relaxed)
                handle(request)
            }
        }
    }

    private func handle(_ request: HTTPRequest) {
        let keepAlive = request.keepAlive && context.draining == nil
        guard let (route, params) = context.shared.router.match(request.path) else {
            respond(HTTPResponse(error: HTTPError(404, "not_found", "no route for \(request.path)")), to: request, keepAlive: keepAlive)
            return
        }
        switch route {
        case .http(let methods, let handler):
            guard allowed(request, methods, keepAlive: keepAlive) else { return }
            respond(handler(request, params), to: request, keepAlive: keepAlive)
        case .exchange(let methods, let handler):
            guard allowed(request, methods, keepAlive: keepAlive) else { return }
            startExchange(request, keepAlive: keepAlive) { handler(request, params, $0) }
        case .webSocket(var handshakeConfig, let factory, let fallback):
            if !Handshake.isUpgradeRequest(request), let fallback {
                startExchange(request, keepAlive: keepAlive) { fallback(request, params, $0) }
                return
            }
            if context.draining != nil {
                respond(HTTPResponse(error: HTTPError(503, "draining", "server is shutting down", headers: [("Retry-After", "1")])),
                        to: request, keepAlive: false)
                return
            }
            handshakeConfig.deflate = config.deflate
            if handshakeConfig.allowedOrigins == nil { handshakeConfig.allowedOrigins = config.allowedOrigins }
            switch Handshake.accept(request, config: handshakeConfig) {
            case .failure(let error):
                respond(HTTPResponse(error: error), to: request, keepAlive: keepAlive)
            case .success(let accepted):
                switch factory(request, params) {
                case .failure(let error):
                    respond(HTTPResponse(error: error), to: request, keepAlive: keepAlive)
                case .success(let handler):
                    enqueue(encode(accepted.response, keepAlive: true))
                    upgrade(accepted, handler: handler, leftover: reader?.parser.takeBufferedBytes() ?? [])
                }
            }
        }
    }

    private func allowed(_ request: HTTPRequest, _ methods: Set<String>, keepAlive: Bool) -> Bool {
        let method = request.method == "HEAD" ? "GET" : request.method
        if methods.contains(method) { return true }
        let allow = methods.sorted().joined(separator: ", ")
        respond(HTTPResponse(error: HTTPError(405, "method_not_allowed", "\(request.method) is not allowed here", headers: [("Allow", allow)])),
                to: request, keepAlive: keepAlive)
        return false
    }

    /// Hands the request to a handler that may answer later; nothing else is read until it does.
    private func startExchange(_ request: HTTPRequest, keepAlive: Bool, _ start: (Exchange) -> Void) {
        let exchange = Exchange(request: request, connection: self, keepAlive: keepAlive)
        self.exchange = exchange
        start(exchange)
        // Answered already (a memory-store publish): the request loop just goes on. Still open
        // (long-poll, SSE, a durable publish): only a hang-up is watched meanwhile, and pipelined
        // bytes wait in the socket.
        if self.exchange === exchange {
            pauseReading()
            setDeadline(.exchange, afterMs: Self.exchangeDeadlineMs)
        }
    }

    /// The exchange answered (`response`) or ended its stream (nil): go on with the next request.
    func finishExchange(_ exchange: Exchange, response: HTTPResponse?) {
        guard self.exchange === exchange else { return }
        self.exchange = nil
        if let response {
            respond(response, to: exchange.request, keepAlive: exchange.keepAlive && context.draining == nil)
        } else if !exchange.keepAlive || context.draining != nil {
            closeGracefully()
        }
        // Answered while its handler was still running: the request loop on the stack goes on.
        guard readPaused, phase == .http, !closeAfterFlush else { return }
        resumeReading()
        if self.exchange == nil && phase == .http { processRequests() }
    }

    func respond(_ response: HTTPResponse, to request: HTTPRequest, keepAlive: Bool) {
        if response.status >= 400 { stats.httpErrors.add(1, ordering: .relaxed) }
        enqueue(encode(response, keepAlive: keepAlive, headOnly: request.isHead))
        if !keepAlive { closeAfterFlush = true; requestFlushThenClose() }
    }

    /// Answers a request the parser or a timeout refused, then closes (the stream may be out of sync).
    func respondWithError(_ error: HTTPError) {
        stats.httpErrors.add(1, ordering: .relaxed)
        enqueue(encode(HTTPResponse(error: error), keepAlive: false))
        requestFlushThenClose()
    }

    /// Encodes a response for this connection: the cached Date header, and HSTS on TLS
    /// connections when `--hsts-max-age` is set (browsers ignore it over plain HTTP).
    func encode(_ response: HTTPResponse, keepAlive: Bool, headOnly: Bool = false) -> OutboundBytes {
        guard isTLS, let hsts = context.config.strictTransportSecurity else {
            return response.encode(date: context.httpDate, keepAlive: keepAlive, headOnly: headOnly)
        }
        var withHSTS = response
        withHSTS.headers.append(("Strict-Transport-Security", hsts))
        return withHSTS.encode(date: context.httpDate, keepAlive: keepAlive, headOnly: headOnly)
    }

    private func requestFlushThenClose() {
        closeGracefully()
    }
}
