// The worker side of the HTTP custom activity: take an `http-callback` job, keep a record of it,
// hand the service its two URLs, and leave the job open for the service's answer.
//
// Task headers:
//   callbackEndpoint          URL to POST to (or a path under --callback-base-url)   required
//   callbackVariables         comma-separated variables to send as `data` (default: all)
//   callbackAllowedVariables  comma-separated variables responsePath may set (default: any)
//   callbackTimeout           how long the job waits for the answer: ISO-8601 (PT48H, P2D) or seconds
import Callbacks
import CamundaClient
import HTTPClient
import HubBytes
import HubCore
import Reactor

extension HTTPCallbacks {
    public func start() {
        var options = JobWorker.Options(type: config.jobType, name: "affinity-hub-callbacks")
        options.maxJobs = config.maxConcurrentJobs
        options.jobTimeout = config.callbackTimeout
        let logger = self.logger
        let w = JobWorker(client: engine, options: options, onError: { what, error in
            logger.warning("callback worker: \(what) failed", metadata: ["error": "\(error)"])
        }, handler: { [self] job in await self.handle(job) })
        worker.withLock { $0 = w }
        w.start()
        reaper.withLock { task in
            task = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(60))
                    self?.book.withLock { _ = $0.reap(nowMs: HubClock.wallMilliseconds) }
                }
            }
        }
    }

    public func stop() {
        worker.withLock { $0?.stop() }
        reaper.withLock { $0?.cancel() }
    }

    public var workerStats: JobWorkerStats? { worker.withLock { $0?.stats } }

    func handle(_ job: ActivatedJob) async -> JobOutcome {
        let headers = job.customHeaders
        guard let endpoint = endpointURL(headers["callbackEndpoint"]) else {
            return .fail(retries: 0, message: "http-callback: the task header callbackEndpoint must be an http(s) URL"
                         + (config.endpointBaseURL == nil ? "" : " or a path under \(config.endpointBaseURL!)")
                         + ", not \(headers["callbackEndpoint"].map { JSONText.quoted($0) } ?? "missing")")
        }
        var timeout: Duration?
        if let t = headers["callbackTimeout"] {
            guard let parsed = parseDuration(t) else {
                return .fail(retries: 0, message: "http-callback: callbackTimeout \(JSONText.quoted(t)) is not an ISO-8601 duration (PT48H) or seconds")
            }
            timeout = parsed
        }
        let allowed = headers["callbackAllowedVariables"].map(csv)
        let now = HubClock.wallMilliseconds
        let waits = timeout ?? config.callbackTimeout
        let candidate = CallbackRecord(jobKey: job.jobKey, processInstanceKey: job.processInstanceKey, elementInstanceKey: job.elementInstanceKey,
                                       allowedVariables: allowed, issuedAt: now,
                                       expiresAt: now + Int64((waits + config.answeredRetention).wholeMilliseconds))
        // A job offered again may come to another node: the record (and any answer) it had stands.
        if await refresh(job.jobKey) != nil {
            return .fail(retries: job.retries, message: "http-callback: the shared store is unreachable", backOff: .seconds(10))
        }
        let (record, isNew) = book.withLock { $0.issue(candidate) }
        if isNew, case .failure(let e) = await persist(record) {
            // Not our job's fault: keep its retries, try again after a pause.
            return .fail(retries: job.retries, message: "http-callback: the hub could not record the callback: \(e.message)", backOff: .seconds(10))
        }
        if record.answer != nil { return .leaveOpen }          // answered while the job came back: the answer stands
        if let timeout {
            do { try await engine.updateJob(job.jobKey, timeout: timeout) } catch {
                logger.warning("http-callback: could not set the job's timeout", metadata: ["job": "\(job.jobKey)", "error": "\(error)"])
            }
        }
        let sent = headers["callbackVariables"].map(csv).map { names in job.variables.filter { names.contains($0.key) } } ?? job.variables
        let body: JSONValue = [
            "responsePath": .string(url(jobKey: job.jobKey, kind: .response)),
            "errorResponsePath": .string(url(jobKey: job.jobKey, kind: .error)),
            "flowElementInstanceId": .string(job.elementInstanceKey),
            "data": .object(sent),
        ]
        let failure: String
        do {
            let response = try await http.send("POST", endpoint, json: body.serialized(), timeout: config.requestTimeout)
            if (200..<300).contains(response.status) {
                stats.delivered.add(1, ordering: .relaxed)
                failures.withLock { $0[job.jobKey] = nil }
                return .leaveOpen
            }
            failure = "answered \(response.status): \(excerpt(response.body))"
        } catch {
            failure = "failed: \(error)"
        }
        stats.deliveryFailures.add(1, ordering: .relaxed)
        // A fast service may have called back before refusing or timing out on our request.
        if book.withLock({ $0.records[job.jobKey]?.answer }) != nil { return .leaveOpen }
        // The count lives while the job can come back; its last failure (an incident) forgets it.
        let attempt = failures.withLock { f -> Int in
            let n = f[job.jobKey, default: 0] + 1
            f[job.jobKey] = job.retries > 1 ? n : nil
            return n
        }
        let ceiling = min(300_000, 2_000 << min(attempt - 1, 8))
        let message = "http-callback: POST \(endpoint.description) \(failure)"
        logger.warning("callback endpoint did not acknowledge", metadata: ["job": "\(job.jobKey)", "endpoint": "\(endpoint.description)",
                                                                           "failure": "\(failure)", "retries_left": "\(max(0, job.retries - 1))"])
        return .fail(retries: max(0, job.retries - 1), message: message, backOff: .milliseconds(Int.random(in: ceiling / 2...ceiling)))
    }

    func endpointURL(_ header: String?) -> ClientURL? {
        guard let header, !header.isEmpty else { return nil }
        if header.hasPrefix("http://") || header.hasPrefix("https://") { return ClientURL(header) }
        guard var base = config.endpointBaseURL else { return nil }
        if base.hasSuffix("/") { base.removeLast() }
        return ClientURL(base + (header.hasPrefix("/") ? header : "/" + header))
    }

    private func csv(_ s: String) -> [String] {
        s.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
    }

    private func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return (text.isEmpty ? "(empty body)" : text) + (body.count > 300 ? "…" : "")
    }
}

/// An ISO-8601 duration (`PT48H`) or whole seconds (`172800`).
func parseDuration(_ text: String) -> Duration? {
    if let seconds = Int(text), seconds > 0 { return .seconds(seconds) }
    return ISODuration.milliseconds(text).map { .milliseconds($0) }
}

extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
