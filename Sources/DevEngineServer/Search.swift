// `POST /v2/…/search` as the API shapes it, over items the engine already renders as JSON:
//
//   {"filter": {field: value | {"$eq"|"$neq"|"$in"|"$notIn"|"$exists"|"$like": …}},
//    "sort": [{"field": f, "order": "ASC"|"DESC"}], "page": {"limit", "from" | "after" | "before"}}
//   → {"items": [...], "page": {"totalItems", "hasMoreTotalItems", "startCursor", "endCursor"}}
//
// Unknown filter or sort fields and unknown operators are refused (400), as the API does, so a
// typo is not silently "no filter". Cursors are opaque to clients: here, positions in the result.
import DevEngine
import HubBytes

struct SearchRequest {
    var filter: [(field: String, condition: JSONValue)] = []
    var sort: [(field: String, descending: Bool)] = []
    var limit = 100
    var start = 0
    /// `before`: the page ends just before this position.
    var end: Int?

    static let maxLimit = 10_000
    static let maxLikePattern = 256

    /// `fields`: the members the items carry (what may be filtered and sorted on).
    static func parse(_ body: JSONValue, fields: Set<String>) -> Result<SearchRequest, EngineError> {
        var request = SearchRequest()
        let known: Set<String> = ["filter", "sort", "page"]
        if let unknown = body.objectValue?.keys.first(where: { !known.contains($0) }) {
            return .failure(.invalidArgument("Unknown search member '\(unknown)'"))
        }
        for (field, condition) in (body["filter"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard fields.contains(field) else { return .failure(.invalidArgument("Unknown filter field '\(field)'")) }
            if let ops = condition.objectValue, let op = ops.keys.first(where: { !["$eq", "$neq", "$in", "$notIn", "$exists", "$like"].contains($0) }) {
                return .failure(.invalidArgument("Unknown filter operator '\(op)' on '\(field)'"))
            }
            // The matcher costs pattern × value per item: a pattern from the network is bounded.
            if let like = condition["$like"], (like.stringValue?.count ?? Int.max) > maxLikePattern {
                return .failure(.invalidArgument("$like on '\(field)' takes a string of at most \(maxLikePattern) characters"))
            }
            request.filter.append((field, condition))
        }
        for item in body["sort"]?.arrayValue ?? [] {
            guard let field = item["field"]?.stringValue, fields.contains(field) else {
                return .failure(.invalidArgument("Unknown sort field '\(item["field"]?.serialized() ?? "null")'"))
            }
            let order = item["order"]?.stringValue?.uppercased() ?? "ASC"
            guard order == "ASC" || order == "DESC" else { return .failure(.invalidArgument("Sort order is ASC or DESC, not '\(order)'")) }
            request.sort.append((field, order == "DESC"))
        }
        if let page = body["page"] {
            if let limit = page["limit"] {
                guard let n = limit.intValue, (1...maxLimit).contains(n) else {
                    return .failure(.invalidArgument("page.limit must be between 1 and \(maxLimit)"))
                }
                request.limit = n
            }
            if let from = page["from"] {
                guard let n = from.intValue, n >= 0 else { return .failure(.invalidArgument("page.from must be 0 or more")) }
                request.start = n
            }
            if let after = page["after"] {
                guard let n = after.stringValue.flatMap(position) else { return .failure(.invalidArgument("page.after is not a cursor this engine gave")) }
                request.start = n + 1
            }
            if let before = page["before"] {
                guard let n = before.stringValue.flatMap(position) else { return .failure(.invalidArgument("page.before is not a cursor this engine gave")) }
                request.end = n
            }
        }
        return .success(request)
    }

    /// `hiding`: members that exist to be filtered on (`isLatestVersion`) but are not item members.
    func answer(_ items: [JSONValue], hiding: Set<String> = []) -> JSONValue {
        var matched = items.filter { item in filter.allSatisfy { Self.matches(item[$0.field] ?? .null, $0.condition) } }
        if !sort.isEmpty {
            matched.sort { a, b in
                for (field, descending) in sort {
                    let order = Self.compare(a[field] ?? .null, b[field] ?? .null)
                    if order != 0 { return descending ? order > 0 : order < 0 }
                }
                return false
            }
        }
        let upper = min(end ?? matched.count, matched.count)
        let lower = end != nil ? max(0, upper - limit) : min(start, upper)
        var slice = Array(matched[lower..<min(upper, lower + limit)])
        if !hiding.isEmpty {
            slice = slice.map { item in .object((item.objectValue ?? [:]).filter { !hiding.contains($0.key) }) }
        }
        let page: JSONValue = [
            "totalItems": JSONValue(matched.count), "hasMoreTotalItems": false,
            "startCursor": slice.isEmpty ? .null : .string(Self.cursor(lower)),
            "endCursor": slice.isEmpty ? .null : .string(Self.cursor(lower + slice.count - 1)),
        ]
        return ["items": .array(slice), "page": page]
    }

    // MARK: values

    /// Keys travel as strings and numbers interchangeably: compare their text.
    static func text(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): s
        case .number(let n): n
        case .bool(let b): b ? "true" : "false"
        default: nil
        }
    }

    static func matches(_ value: JSONValue, _ condition: JSONValue) -> Bool {
        // A list member (candidate groups) matches when one of its entries does.
        if case .array(let values) = value { return values.contains { matches($0, condition) } }
        guard let ops = condition.objectValue else { return text(value) == text(condition) && text(value) != nil }
        for (op, operand) in ops {
            switch op {
            case "$eq": if text(value) != text(operand) || text(value) == nil { return false }
            case "$neq": if text(value) == text(operand) { return false }
            case "$in": if !(operand.arrayValue ?? []).contains(where: { text($0) == text(value) && text(value) != nil }) { return false }
            case "$notIn": if (operand.arrayValue ?? []).contains(where: { text($0) == text(value) }) { return false }
            case "$exists": if (value != .null) != (operand.boolValue ?? true) { return false }
            case "$like": if !like(text(value) ?? "", operand.stringValue ?? "") { return false }
            default: return false
            }
        }
        return true
    }

    /// `*` any run, `?` one character (the API's `$like`).
    static func like(_ s: String, _ pattern: String) -> Bool {
        let s = Array(s), p = Array(pattern)
        var dp = Array(repeating: Array(repeating: false, count: s.count + 1), count: p.count + 1)
        dp[0][0] = true
        for i in 0..<p.count where p[i] == "*" { dp[i + 1][0] = dp[i][0] }
        for i in 0..<p.count {
            for j in 0..<s.count {
                switch p[i] {
                case "*": dp[i + 1][j + 1] = dp[i][j + 1] || dp[i + 1][j]
                case "?": dp[i + 1][j + 1] = dp[i][j]
                default: dp[i + 1][j + 1] = dp[i][j] && p[i] == s[j]
                }
            }
        }
        return dp[p.count][s.count]
    }

    static func compare(_ a: JSONValue, _ b: JSONValue) -> Int {
        switch (a, b) {
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        case (.number(let x), .number(let y)): return (Double(x) ?? 0) < (Double(y) ?? 0) ? -1 : ((Double(x) ?? 0) > (Double(y) ?? 0) ? 1 : 0)
        default:
            let (x, y) = (text(a) ?? a.serialized(), text(b) ?? b.serialized())
            // Keys are digit strings of varying length: order them as numbers.
            if let i = Int64(x), let j = Int64(y) { return i < j ? -1 : (i > j ? 1 : 0) }
            return x < y ? -1 : (x > y ? 1 : 0)
        }
    }

    /// Base64 (the API's cursor pattern, which clients check) of "pos-<n>".
    static func cursor(_ position: Int) -> String { Base64.encode(Array("pos-\(position)".utf8)) }

    static func position(_ cursor: String) -> Int? {
        guard let bytes = Base64.decode(cursor), let text = String(validating: bytes, as: UTF8.self), text.hasPrefix("pos-") else { return nil }
        return Int(text.dropFirst(4)).flatMap { $0 >= 0 ? $0 : nil }
    }
}
