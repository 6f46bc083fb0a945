// `--log-format json`: one JSON object per line on stderr, for log shippers (Loki, Elastic,
// CloudWatch) that parse fields instead of text:
//   {"ts":"2026-12-02T18:33:03.120Z","level":"warning","logger":"affinity-hub","msg":"…","source":"OutcomeWorker","error":"…"}
// Metadata become top-level members (nested metadata as JSON values); a member named like a
// fixed one is prefixed with "meta_" rather than overwriting it.
import Foundation
import HubBytes
import Logging
import Synchronization

struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    /// Lines from several threads never interleave.
    private static let output = Mutex<Void>(())

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: JSONValue] = [
            "ts": .string(Self.timestamp()), "level": .string(event.level.rawValue), "logger": .string(label),
            "msg": .string(event.message.description), "source": .string(event.source),
        ]
        if let error = event.error { object["error_value"] = .string("\(error)") }
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[object[key] == nil ? key : "meta_" + key] = Self.json(value)
        }
        let line = JSONValue.object(object).serialized() + "\n"
        Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let c): return .string(c.description)
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d): return .object(d.mapValues(json))
        }
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
