// A registered webhook endpoint: where matching outcomes go, which keys and statuses match, and
// the secrets its deliveries are signed with. Pure values, encoded as JSON records for the store.
import HubBytes
import HubCore

/// Why a registration or a command on one was refused (an HTTP status and a short code).
public struct WebhookError: Error, Sendable, Equatable {
    public var status: Int
    public var code: String
    public var message: String
    public init(_ status: Int, _ code: String, _ message: String) { self.status = status; self.code = code; self.message = message }
    static func invalid(_ m: String) -> WebhookError { WebhookError(400, "invalid_webhook", m) }
}

/// A key, or a key prefix ending in `*` (`order-*`), or `*` for every key.
public struct KeyPattern: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    let prefix: String
    let isPrefix: Bool

    public init(validating text: String) throws(WebhookError) {
        let isPrefix = text.hasSuffix("*")
        let stem = isPrefix ? String(text.dropLast()) : text
        if !(isPrefix && stem.isEmpty) {
            do { _ = try OutcomeKey(validating: stem) } catch { throw .invalid("key pattern '\(text)': \(error.message) (a key, or a key prefix followed by *)") }
        }
        self.text = text; self.prefix = stem; self.isPrefix = isPrefix
    }

    public func matches(_ key: OutcomeKey) -> Bool { isPrefix ? key.value.hasPrefix(prefix) : key.value == prefix }
    public var description: String { text }
}

/// A signing secret; a rotated-out one stays valid until `validUntil` (both sign meanwhile).
public struct SigningSecret: Sendable, Equatable {
    public var value: String
    public var validUntil: Int64?
    public init(value: String, validUntil: Int64? = nil) { self.value = value; self.validUntil = validUntil }
}

public struct WebhookEndpoint: Sendable, Equatable {
    public static let maxKeyPatterns = 100
    public static let maxURLLength = 2048
    public static let maxDescriptionLength = 512

    public var id: String
    public var url: String
    public var keys: [KeyPattern]
    /// nil: every status.
    public var statuses: Set<OutcomeStatus>?
    public var description: String?
    /// Newest first.
    public var secrets: [SigningSecret]
    public var createdAt: Int64

    public init(id: String, url: String, keys: [KeyPattern], statuses: Set<OutcomeStatus>?, description: String?, secrets: [SigningSecret], createdAt: Int64) {
        self.id = id; self.url = url; self.keys = keys; self.statuses = statuses; self.description = description
        self.secrets = secrets; self.createdAt = createdAt
    }

    public func matches(_ outcome: Outcome) -> Bool {
        if let statuses, !statuses.contains(outcome.status) { return false }
        return keys.contains { $0.matches(outcome.key) }
    }

    /// The secrets that sign now: the current one and any rotated out within their grace.
    public func signingSecrets(nowMs: Int64) -> [String] {
        secrets.filter { ($0.validUntil ?? Int64.max) > nowMs }.map(\.value)
    }

    /// A new id: `wh_` and 16 random hex digits.
    public static func newID() -> String {
        var g = SystemRandomNumberGenerator()
        return "wh_" + (0..<8).map { _ in let b = UInt8.random(in: 0...255, using: &g); return String(b, radix: 16).leftPadded(2) }.joined()
    }

    /// Parses a registration request `{"url", "keys", "statuses"?, "description"?}` (the URL's
    /// destination is checked separately, by the service's `DestinationPolicy`).
    public static func parseRegistration(_ body: [UInt8]) -> Result<(url: String, keys: [KeyPattern], statuses: Set<OutcomeStatus>?, description: String?), WebhookError> {
        guard case .success(let json) = JSONValue.parse(body), case .object(let o) = json else { return .failure(.invalid("the body must be a JSON object")) }
        if let unknown = o.keys.first(where: { !["url", "keys", "statuses", "description"].contains($0) }) {
            return .failure(.invalid("unknown member '\(unknown)'"))
        }
        guard let url = o["url"]?.stringValue, !url.isEmpty, url.utf8.count <= maxURLLength else {
            return .failure(.invalid("url is required: an http or https URL of at most \(maxURLLength) bytes"))
        }
        guard let list = o["keys"]?.arrayValue, !list.isEmpty, list.count <= maxKeyPatterns else {
            return .failure(.invalid("keys is required: 1 to \(maxKeyPatterns) keys or key prefixes ending in *"))
        }
        var keys: [KeyPattern] = []
        for item in list {
            guard let text = item.stringValue else { return .failure(.invalid("keys are strings")) }
            do { keys.append(try KeyPattern(validating: text)) } catch { return .failure(error) }
        }
        var statuses: Set<OutcomeStatus>?
        if let s = o["statuses"], s != .null {
            guard let items = s.arrayValue, !items.isEmpty else { return .failure(.invalid("statuses is a non-empty list of completed, failed, progress")) }
            var set: Set<OutcomeStatus> = []
            for item in items {
                guard let status = item.stringValue.flatMap(OutcomeStatus.init(rawValue:)) else {
                    return .failure(.invalid("unknown status \(item.serialized()): completed, failed or progress"))
                }
                set.insert(status)
            }
            statuses = set
        }
        var description: String?
        if let d = o["description"], d != .null {
            guard let text = d.stringValue, text.utf8.count <= maxDescriptionLength else {
                return .failure(.invalid("description is a string of at most \(maxDescriptionLength) bytes"))
            }
            description = text
        }
        return .success((url, keys, statuses, description))
    }

    /// What the API shows: everything but the secrets.
    public var publicJSON: [String: JSONValue] {
        [
            "id": .string(id), "url": .string(url), "keys": .array(keys.map { .string($0.text) }),
            "statuses": statuses.map { s in .array(OutcomeStatus.allCases.filter { s.contains($0) }.map { .string($0.rawValue) }) } ?? .null,
            "description": description.map { .string($0) } ?? .null, "createdAt": .number(String(createdAt)),
        ]
    }

    // MARK: record

    public static func recordID(_ id: String) -> String { "webhook-endpoint:\(id)" }

    /// The store's copy, secrets included (the hub must sign after a restart).
    public var recordBody: [UInt8] {
        var o = publicJSON
        o["secrets"] = .array(secrets.map { s in ["value": .string(s.value), "validUntil": s.validUntil.map { .number(String($0)) } ?? .null] })
        return Array(JSONValue.object(o).serialized().utf8)
    }

    public init?(record body: [UInt8]) {
        guard case .success(let j) = JSONValue.parse(body), let id = j["id"]?.stringValue, let url = j["url"]?.stringValue,
              let keyTexts = j["keys"]?.arrayValue?.compactMap(\.stringValue), let createdAt = j["createdAt"]?.intValue else { return nil }
        let keys = keyTexts.compactMap { try? KeyPattern(validating: $0) }
        let statuses = j["statuses"]?.arrayValue.map { Set($0.compactMap { $0.stringValue.flatMap(OutcomeStatus.init(rawValue:)) }) }
        let secrets = (j["secrets"]?.arrayValue ?? []).compactMap { s -> SigningSecret? in
            guard let v = s["value"]?.stringValue else { return nil }
            return SigningSecret(value: v, validUntil: s["validUntil"]?.intValue.map(Int64.init))
        }
        guard !keys.isEmpty, !secrets.isEmpty else { return nil }
        self.init(id: id, url: url, keys: keys, statuses: statuses, description: j["description"]?.stringValue, secrets: secrets,
                  createdAt: Int64(createdAt))
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
