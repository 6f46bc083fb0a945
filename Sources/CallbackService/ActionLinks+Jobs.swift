// The action links from inside a process:
//
//   create-action-links   headers: messageName, correlationKey (literal) or correlationKeyVariable
//                         (default "correlationKey"), ttl (PT48H or seconds; default 48 h),
//                         actions (a JSON array, as POST /v1/actions takes), title (may use {{variable}})
//                         → completes with actionLinks {name: URL}, actionGroup, actionLinksExpireAt
//   revoke-action-links   header group, else the variable actionGroup → completes with actionGroupRevoked
//
// The group of a job is "job-<jobKey>": a job activated twice creates one group, and its links.
import Callbacks
import CamundaClient
import HubBytes

extension ActionLinks {
    public func start() {
        let logger = self.logger
        let onError: @Sendable (String, Error) -> Void = { what, error in
            logger.warning("action-link worker: \(what) failed", metadata: ["error": "\(error)"])
        }
        let create = JobWorker(client: engine, options: JobWorker.Options(type: config.createJobType, name: "affinity-hub-action-links"),
                               onError: onError) { [self] job in await self.createLinks(job) }
        let revoke = JobWorker(client: engine, options: JobWorker.Options(type: config.revokeJobType, name: "affinity-hub-action-links"),
                               onError: onError) { [self] job in await self.revokeLinks(job) }
        workers.withLock { $0 = [create, revoke] }
        create.start()
        revoke.start()
    }

    public func stop() { workers.withLock { for w in $0 { w.stop() } } }

    func createLinks(_ job: ActivatedJob) async -> JobOutcome {
        let h = job.customHeaders
        guard let message = h["messageName"], !message.isEmpty else { return .fail(retries: 0, message: "create-action-links: the header messageName is missing") }
        let correlation: String
        if let literal = h["correlationKey"] {
            correlation = literal
        } else {
            let name = h["correlationKeyVariable"] ?? "correlationKey"
            switch job.variables[name] {
            case .string(let s)?: correlation = s
            case .number(let n)?: correlation = n
            default: return .fail(retries: 0, message: "create-action-links: the variable \(name) (the correlation key) is missing or not a string")
            }
        }
        var ttl = config.defaultTTLSeconds
        if let t = h["ttl"] {
            guard let d = parseDuration(t) else { return .fail(retries: 0, message: "create-action-links: ttl \(JSONText.quoted(t)) is not an ISO-8601 duration or seconds") }
            ttl = Int(d.components.seconds)
        }
        guard let raw = h["actions"], case .success(let actions) = JSONValue.parse(raw) else {
            return .fail(retries: 0, message: "create-action-links: the header actions must be a JSON array of actions")
        }
        var body: [String: JSONValue] = ["messageName": .string(message), "correlationKey": .string(correlation), "ttl": JSONValue(ttl), "actions": actions]
        if let title = h["title"] { body["title"] = .string(fill(title, from: job.variables)) }
        switch await create(.object(body), defaultID: "job-\(job.jobKey)") {
        case .failure(let e):
            return .fail(retries: max(0, job.retries - 1), message: "create-action-links: \(e.message)", backOff: .seconds(5))
        case .success(let (group, _)):
            return .complete(["actionLinks": .object(links(group)), "actionGroup": .string(group.id), "actionLinksExpireAt": JSONValue(Int(group.expiresAt))])
        }
    }

    func revokeLinks(_ job: ActivatedJob) async -> JobOutcome {
        guard let id = job.customHeaders["group"] ?? job.variables["actionGroup"]?.stringValue else {
            return .fail(retries: 0, message: "revoke-action-links: name the group in the header group or the variable actionGroup")
        }
        switch await revoke(id) {
        case nil: return .complete(["actionGroupRevoked": false])
        case .failure?: return .complete(["actionGroupRevoked": false])
        case .success?: return .complete(["actionGroupRevoked": true])
        }
    }

    /// `{{name}}` in a title, filled from the job's variables (strings and numbers as written).
    func fill(_ template: String, from variables: [String: JSONValue]) -> String {
        var out = "", rest = Substring(template)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            out += rest[..<open.lowerBound]
            let name = String(rest[open.upperBound..<close.lowerBound]).trimmingSpaces
            switch variables[name] {
            case .string(let s)?: out += s
            case .number(let n)?: out += n
            case let v?: out += v.serialized()
            case nil: out += ""
            }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }
}
