// A Camunda 8 Orchestration Cluster REST API v2 client (async/await), as the official clients
// use the API: keys are strings, errors are RFC 9457 problem details, job activation long-polls.
//
//   call ─▶ auth header (cached token) ─▶ HTTPClient ─▶ 2xx: decode │ problem: CamundaError.problem
//        └─ 429/503, or no connection: retry with jittered back-off (any call: nothing happened)
//        └─ 502/504, timeout, dropped connection: retry only calls that are safe to repeat
import HTTP1
import HTTPClient
import HubBytes
import Metrics

/// Where the REST API is and how to talk to it.
public struct CamundaConfiguration: Sendable {
    /// The REST address, e.g. `http://127.0.0.1:8080` (the client adds `/v2/...`).
    public var baseURL: String
    public var auth: CamundaAuth
    /// Deadline of one HTTP exchange (long polls add their own request timeout).
    public var requestTimeout: Duration
    /// Attempts after the first, for retryable failures.
    public var maxRetries: Int
    /// First back-off; doubles per attempt with full jitter, capped at 10 s.
    public var retryBaseDelay: Duration
    /// PEM certificates to trust for an https engine (and token endpoint); nil: the system's trust store.
    public var caFile: String?

    public init(baseURL: String, auth: CamundaAuth = .none, requestTimeout: Duration = .seconds(30), maxRetries: Int = 4,
                retryBaseDelay: Duration = .milliseconds(200), caFile: String? = nil) {
        self.baseURL = baseURL; self.auth = auth; self.requestTimeout = requestTimeout; self.maxRetries = maxRetries
        self.retryBaseDelay = retryBaseDelay; self.caFile = caFile
    }
}

/// One process definition a deployment created.
public struct DeployedProcess: Sendable, Equatable {
    public var processDefinitionId: String
    public var processDefinitionVersion: Int
    public var processDefinitionKey: String
    public var resourceName: String
}

/// The answer to `deploy(resources:)`.
public struct Deployment: Sendable {
    public var deploymentKey: String
    public var processes: [DeployedProcess]
}

/// A started process instance (keys are strings, as the API sends them).
public struct ProcessInstance: Sendable {
    public var processInstanceKey: String
    public var processDefinitionKey: String
    public var processDefinitionId: String
    public var processDefinitionVersion: Int
    /// Set when created with `awaitCompletion`.
    public var variables: [String: JSONValue]?
}

/// A job handed to this worker by `activateJobs`, with its variables and custom headers.
public struct ActivatedJob: Sendable {
    public var jobKey: String
    public var type: String
    public var processInstanceKey: String
    public var processDefinitionId: String
    public var elementId: String
    public var elementInstanceKey: String
    public var customHeaders: [String: String]
    public var variables: [String: JSONValue]
    public var retries: Int
    /// Epoch milliseconds after which the engine may hand the job to another worker.
    public var deadline: Int64
    /// `BPMN_ELEMENT` for tasks, `EXECUTION_LISTENER` for listener jobs.
    public var kind: String
    /// `START` / `END` for execution listener jobs.
    public var listenerEventType: String

    init(_ j: JSONValue) {
        jobKey = j["jobKey"]?.stringValue ?? j["jobKey"]?.serialized() ?? ""
        type = j["type"]?.stringValue ?? ""
        processInstanceKey = j["processInstanceKey"]?.stringValue ?? j["processInstanceKey"]?.serialized() ?? ""
        processDefinitionId = j["processDefinitionId"]?.stringValue ?? ""
        elementId = j["elementId"]?.stringValue ?? ""
        elementInstanceKey = j["elementInstanceKey"]?.stringValue ?? ""
        customHeaders = (j["customHeaders"]?.objectValue ?? [:]).compactMapValues { $0.stringValue ?? $0.serialized() }
        variables = j["variables"]?.objectValue ?? [:]
        retries = j["retries"]?.intValue ?? 0
        deadline = Int64(j["deadline"]?.intValue ?? 0)
        kind = j["kind"]?.stringValue ?? "BPMN_ELEMENT"
        listenerEventType = j["listenerEventType"]?.stringValue ?? "UNSPECIFIED"
    }
}

/// Camunda 8 REST API v2 client; safe to share between tasks.
public final class CamundaClient: Sendable {
    public let configuration: CamundaConfiguration
    private let base: ClientURL
    private let http: HTTPClient
    private let tokens: TokenProvider

    /// `http`: a shared client, else one of its own (trusting `configuration.caFile` for https).
    public init(_ configuration: CamundaConfiguration, http: HTTPClient? = nil) throws {
        guard let url = ClientURL(configuration.baseURL) else { throw CamundaError.transport(.invalidURL(configuration.baseURL)) }
        let http = http ?? HTTPClient(caFile: configuration.caFile)
        self.configuration = configuration
        self.base = url
        self.http = http
        self.tokens = TokenProvider(auth: configuration.auth, http: http)
    }

    /// OAuth tokens fetched so far (0 without OAuth).
    public var tokensFetched: Int { tokens.fetched.load(ordering: .relaxed) }

    // MARK: calls

    public func topology() async throws -> JSONValue {
        try await call("GET", "/v2/topology", body: nil, retry: .always)
    }

    /// Deploys BPMN resources (multipart `resources` parts).
    public func deploy(resources: [(name: String, bytes: [UInt8])]) async throws -> Deployment {
        let boundary = "affinity-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let body = MultipartForm.encode(resources.map { MultipartPart(name: "resources", filename: $0.name, contentType: "application/octet-stream", body: $0.bytes) },
                                        boundary: boundary)
        // Camunda deduplicates an identical redeployment, so a retry cannot make a second version.
        let json = try await send(ClientRequest(method: "POST", url: base.appending("/v2/deployments"),
                                                headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)"), ("Accept", "application/json")], body: body),
                                  retry: .always, timeout: configuration.requestTimeout)
        let processes = (json["deployments"]?.arrayValue ?? []).compactMap { d -> DeployedProcess? in
            guard let p = d["processDefinition"] else { return nil }
            return DeployedProcess(processDefinitionId: p["processDefinitionId"]?.stringValue ?? "", processDefinitionVersion: p["processDefinitionVersion"]?.intValue ?? 0,
                                   processDefinitionKey: p["processDefinitionKey"]?.stringValue ?? "", resourceName: p["resourceName"]?.stringValue ?? "")
        }
        return Deployment(deploymentKey: json["deploymentKey"]?.stringValue ?? "", processes: processes)
    }

    /// Starts an instance of the latest (or the given) version of `processDefinitionId`. With
    /// `awaitCompletion`, the engine answers when the instance completes (within `requestTimeout`).
    /// Never retried once it may have reached the engine: a retry could start a second instance.
    public func createProcessInstance(processDefinitionId: String, version: Int? = nil, variables: [String: JSONValue] = [:],
                                      awaitCompletion: Bool = false, requestTimeout: Duration? = nil, fetchVariables: [String]? = nil) async throws -> ProcessInstance {
        var body: [String: JSONValue] = ["processDefinitionId": .string(processDefinitionId), "variables": .object(variables)]
        if let version { body["processDefinitionVersion"] = JSONValue(version) }
        if awaitCompletion { body["awaitCompletion"] = true }
        if let requestTimeout { body["requestTimeout"] = JSONValue(requestTimeout.wholeMilliseconds) }
        if let fetchVariables { body["fetchVariables"] = .array(fetchVariables.map { .string($0) }) }
        let timeout = configuration.requestTimeout + (awaitCompletion ? (requestTimeout ?? .seconds(300)) : .zero)
        let j = try await call("POST", "/v2/process-instances", body: .object(body), retry: .onlyIfNotReceived, timeout: timeout)
        return ProcessInstance(processInstanceKey: j["processInstanceKey"]?.stringValue ?? "", processDefinitionKey: j["processDefinitionKey"]?.stringValue ?? "",
                               processDefinitionId: j["processDefinitionId"]?.stringValue ?? "", processDefinitionVersion: j["processDefinitionVersion"]?.intValue ?? 0,
                               variables: j["variables"]?.objectValue)
    }

    public func processInstance(_ key: String) async throws -> JSONValue {
        try await call("GET", "/v2/process-instances/\(key)", body: nil, retry: .always)
    }

    public func cancelProcessInstance(_ key: String) async throws {
        _ = try await call("POST", "/v2/process-instances/\(key)/cancellation", body: .object([:]), retry: .always)
    }

    /// Long-polls for up to `maxJobsToActivate` jobs of `type`; waits up to `requestTimeout` for
    /// one to appear and returns an empty list if none did.
    public func activateJobs(type: String, worker: String, timeout: Duration, maxJobsToActivate: Int, fetchVariables: [String]? = nil,
                             requestTimeout: Duration = .seconds(20)) async throws -> [ActivatedJob] {
        var body: [String: JSONValue] = ["type": .string(type), "worker": .string(worker), "timeout": JSONValue(timeout.wholeMilliseconds),
                                         "maxJobsToActivate": JSONValue(maxJobsToActivate), "requestTimeout": JSONValue(requestTimeout.wholeMilliseconds)]
        if let fetchVariables { body["fetchVariable"] = .array(fetchVariables.map { .string($0) }) }
        // A lost answer only delays its jobs until their timeout: safe to ask again.
        let j = try await call("POST", "/v2/jobs/activation", body: .object(body), retry: .always, timeout: configuration.requestTimeout + requestTimeout)
        return (j["jobs"]?.arrayValue ?? []).map(ActivatedJob.init)
    }

    public func completeJob(_ jobKey: String, variables: [String: JSONValue] = [:]) async throws {
        _ = try await call("POST", "/v2/jobs/\(jobKey)/completion", body: ["variables": .object(variables)], retry: .jobCommand)
    }

    /// Fails a job: the engine offers it again after `retryBackOff` while `retries` > 0, else raises an incident.
    public func failJob(_ jobKey: String, retries: Int, errorMessage: String? = nil, retryBackOff: Duration = .zero, variables: [String: JSONValue] = [:]) async throws {
        var body: [String: JSONValue] = ["retries": JSONValue(retries), "retryBackOff": JSONValue(retryBackOff.wholeMilliseconds)]
        if let errorMessage { body["errorMessage"] = .string(errorMessage) }
        if !variables.isEmpty { body["variables"] = .object(variables) }
        _ = try await call("POST", "/v2/jobs/\(jobKey)/failure", body: .object(body), retry: .jobCommand)
    }

    /// Changes an activated job: its retries, and/or its timeout measured from now (a worker that
    /// holds a job for a long time, such as an HTTP callback, extends it this way).
    public func updateJob(_ jobKey: String, retries: Int? = nil, timeout: Duration? = nil) async throws {
        var changeset: [String: JSONValue] = [:]
        if let retries { changeset["retries"] = JSONValue(retries) }
        if let timeout { changeset["timeout"] = JSONValue(timeout.wholeMilliseconds) }
        _ = try await call("PATCH", "/v2/jobs/\(jobKey)", body: ["changeset": .object(changeset)], retry: .always)
    }

    /// Throws a BPMN error from a job, caught by a matching error boundary event.
    public func throwError(_ jobKey: String, errorCode: String, errorMessage: String? = nil, variables: [String: JSONValue] = [:]) async throws {
        var body: [String: JSONValue] = ["errorCode": .string(errorCode)]
        if let errorMessage { body["errorMessage"] = .string(errorMessage) }
        if !variables.isEmpty { body["variables"] = .object(variables) }
        _ = try await call("POST", "/v2/jobs/\(jobKey)/error", body: .object(body), retry: .jobCommand)
    }

    /// Publishes a message, buffered for `timeToLive`. With a `messageId`, a retry that finds
    /// the message already published counts as success.
    @discardableResult
    public func publishMessage(name: String, correlationKey: String, timeToLive: Duration = .zero, messageId: String? = nil,
                               variables: [String: JSONValue] = [:]) async throws -> String {
        var body: [String: JSONValue] = ["name": .string(name), "correlationKey": .string(correlationKey),
                                         "timeToLive": JSONValue(timeToLive.wholeMilliseconds), "variables": .object(variables)]
        if let messageId { body["messageId"] = .string(messageId) }
        let j = try await call("POST", "/v2/messages/publication", body: .object(body), retry: messageId == nil ? .onlyIfNotReceived : .messageWithId)
        return j["messageKey"]?.stringValue ?? ""
    }

    /// Correlates a message to a waiting instance now; `NOT_FOUND` when none waits.
    public func correlateMessage(name: String, correlationKey: String, variables: [String: JSONValue] = [:]) async throws -> (messageKey: String, processInstanceKey: String) {
        let j = try await call("POST", "/v2/messages/correlation",
                               body: ["name": .string(name), "correlationKey": .string(correlationKey), "variables": .object(variables)], retry: .onlyIfNotReceived)
        return (j["messageKey"]?.stringValue ?? "", j["processInstanceKey"]?.stringValue ?? "")
    }

    /// Incidents, optionally of one instance.
    public func searchIncidents(processInstanceKey: String? = nil) async throws -> [JSONValue] {
        var filter: [String: JSONValue] = [:]
        if let processInstanceKey { filter["processInstanceKey"] = .string(processInstanceKey) }
        let j = try await call("POST", "/v2/incidents/search", body: ["filter": .object(filter)], retry: .always)
        return j["items"]?.arrayValue ?? []
    }

    // MARK: plumbing

    enum RetryPolicy {
        /// Reads and commands that are safe to repeat.
        case always
        /// Only when the engine certainly did not act: connect failure, 429, 503.
        case onlyIfNotReceived
        /// Job completion/failure/error: repeatable; a NOT_FOUND after an ambiguous first try means it took effect.
        case jobCommand
        /// A message with an id: ALREADY_EXISTS after an ambiguous first try means it was published.
        case messageWithId
    }

    func call(_ method: String, _ path: String, body: JSONValue?, retry: RetryPolicy, timeout: Duration? = nil) async throws -> JSONValue {
        var headers: [(String, String)] = [("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let request = ClientRequest(method: method, url: base.appending(path), headers: headers, body: body?.bytes ?? [])
        return try await send(request, retry: retry, timeout: timeout ?? configuration.requestTimeout)
    }

    private func send(_ request: ClientRequest, retry: RetryPolicy, timeout: Duration) async throws -> JSONValue {
        // Through the swift-metrics facade, so an application sees engine latency in its own backend:
        // one histogram per call shape (keys in the path become {key}), retries included.
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            Metrics.Timer(label: "affinity_engine_call_seconds", dimensions: [("call", Self.callLabel(request))])
                .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        var attempt = 0
        var ambiguous = false
        var reauthorized = false
        while true {
            var r = request
            if let auth = try await tokens.header() { r.headers.append(("Authorization", auth)) }
            let outcome: Result<ClientResponse, HTTPClientError>
            do { outcome = .success(try await http.execute(r, timeout: timeout)) } catch let e as HTTPClientError {
                outcome = .failure(e)
            }
            switch outcome {
            case .success(let response) where (200..<300).contains(response.status):
                if response.body.isEmpty { return .object([:]) }
                guard case .success(let json) = JSONValue.parse(response.body) else {
                    throw CamundaError.unexpectedResponse("\(response.status) with a body that is not JSON")
                }
                return json
            case .success(let response):
                let problem = ProblemDetail(status: response.status, body: response.body)
                if response.status == 401, case .oauth = configuration.auth, !reauthorized {
                    reauthorized = true
                    tokens.invalidate()
                    continue
                }
                if ambiguous {
                    if case .jobCommand = retry, response.status == 404 { return .object([:]) }
                    if case .messageWithId = retry, response.status == 409, problem.title == "ALREADY_EXISTS" { return .object([:]) }
                }
                let refused = response.status == 429 || response.status == 503
                let maybeDone = response.status == 502 || response.status == 504
                let retryable = refused || (maybeDone && Self.repeatable(retry))
                guard retryable, attempt < configuration.maxRetries else { throw CamundaError.problem(problem) }
                if maybeDone { ambiguous = true }
            case .failure(let e):
                if e == .cancelled { throw CancellationError() }
                let retryable = e.isConnectFailure || Self.repeatable(retry)
                guard retryable, attempt < configuration.maxRetries else { throw CamundaError.transport(e) }
                if !e.isConnectFailure { ambiguous = true }
            }
            attempt += 1
            try await Task.sleep(for: backOff(attempt))
        }
    }

    /// `POST /v2/jobs/{key}/completion`: the method and the path with numeric segments generalised.
    static func callLabel(_ request: ClientRequest) -> String {
        let path = request.url.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        let shape = path.split(separator: "/", omittingEmptySubsequences: false).map { $0.allSatisfy(\.isNumber) && !$0.isEmpty ? "{key}" : String($0) }
        return request.method + " " + shape.joined(separator: "/")
    }

    private static func repeatable(_ p: RetryPolicy) -> Bool {
        if case .onlyIfNotReceived = p { return false }
        return true
    }

    /// Full jitter: uniform in [0, base · 2^attempt], capped at 10 s.
    private func backOff(_ attempt: Int) -> Duration {
        let cap = 10_000.0
        let baseMs = Double(configuration.retryBaseDelay.wholeMilliseconds)
        let ceiling = min(cap, baseMs * Double(1 << min(attempt, 16)))
        return .milliseconds(Int(Double.random(in: 0...max(1, ceiling))))
    }
}
