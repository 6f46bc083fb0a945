// How a job becomes an outcome (docs/engine.md has the table):
//
//   key    = variable `affinityKey`, else the process instance key
//   status = custom header `affinityStatus`, else variable `affinityStatus`, else `completed`
//   data   = the variables named (comma-separated) by header `affinityVariables`, else all of them
//   idempotency key = `job:<jobKey>`; outcome id = `job-<jobKey>`
import CamundaClient
import HubBytes
import HubCore

/// Turns a job into the outcome to publish.
public enum OutcomeMapping {
    public static func request(for job: ActivatedJob, maxDataBytes: Int) -> Result<PublishRequest, MappingProblem> {
        let keyText: String
        switch job.variables["affinityKey"] {
        case .string(let s)?: keyText = s
        case .number(let n)?: keyText = n
        case nil, .null?: keyText = job.processInstanceKey
        case let other?: return .failure(MappingProblem("variable affinityKey must be a string, not \(other.serialized().prefix(60))"))
        }
        let key: OutcomeKey
        do { key = try OutcomeKey(validating: keyText) } catch {
            return .failure(MappingProblem("'\(keyText.prefix(140))' is not a valid outcome key: \(error.message)"))
        }
        let statusText = job.customHeaders["affinityStatus"] ?? job.variables["affinityStatus"]?.stringValue ?? "completed"
        guard let status = OutcomeStatus(rawValue: statusText) else {
            return .failure(MappingProblem("status '\(statusText.prefix(60))' is not completed, failed or progress"))
        }
        var data = job.variables
        if let names = job.customHeaders["affinityVariables"] {
            let wanted = Set(names.split(separator: ",").map { String($0).trimmingCharacters(in: " ") })
            data = data.filter { wanted.contains($0.key) }
        }
        let bytes = JSONValue.object(data).bytes
        guard bytes.count <= maxDataBytes else {
            return .failure(MappingProblem("outcome data is \(bytes.count) bytes, above the hub's limit of \(maxDataBytes); name fewer variables in the affinityVariables header"))
        }
        return .success(PublishRequest(key: key, status: status, data: bytes, id: "job-\(job.jobKey)", idempotencyKey: "job:\(job.jobKey)"))
    }
}

/// Why a job cannot become an outcome (its model or variables are wrong).
public struct MappingProblem: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
