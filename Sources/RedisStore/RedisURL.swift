// `redis://[user:password@]host[:port][/db]` and `rediss://…` (TLS), as `--redis` takes them.

/// Where the shared store is, parsed from a Redis URL.
public struct RedisURL: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String?
    public var password: String?
    public var database: Int
    public var tls: Bool

    public init(host: String, port: Int = 6379, user: String? = nil, password: String? = nil, database: Int = 0, tls: Bool = false) {
        self.host = host; self.port = port; self.user = user; self.password = password; self.database = database; self.tls = tls
    }

    /// Parses a Redis URL; the error names what is wrong (it is shown to whoever typed the flag).
    public init(parsing text: String) throws(RedisURLError) {
        var rest = Substring(text)
        if rest.hasPrefix("redis://") { tls = false; rest = rest.dropFirst(8) }
        else if rest.hasPrefix("rediss://") { tls = true; rest = rest.dropFirst(9) }
        else { throw RedisURLError("a Redis URL starts with redis:// or rediss://: \(text)") }
        user = nil; password = nil; database = 0
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let name = credentials[..<colon]
                user = name.isEmpty ? nil : String(name).removingPercentEscapes
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEscapes
            } else {
                password = String(credentials).removingPercentEscapes
            }
        }
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !db.isEmpty {
                guard let n = Int(db), (0...15_999).contains(n) else { throw RedisURLError("the database is a number: \(db)") }
                database = n
            }
        }
        if let colon = rest.lastIndex(of: ":") {
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65_535).contains(p) else {
                throw RedisURLError("the port is 1 to 65535: \(rest[rest.index(after: colon)...])")
            }
            port = p
            rest = rest[..<colon]
        } else {
            port = 6379
        }
        guard !rest.isEmpty else { throw RedisURLError("the URL names no host: \(text)") }
        host = String(rest)
    }

    /// The URL without its password, for logs and `/readyz`.
    public var redacted: String {
        let credentials = password == nil ? "" : "\(user ?? ""):***@"
        return "\(tls ? "rediss" : "redis")://\(credentials)\(host):\(port)/\(database)"
    }
}

public struct RedisURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    /// `%XX` escapes decoded (passwords in URLs escape `@`, `:` and `/`); bad escapes stay as typed.
    var removingPercentEscapes: String {
        var out: [UInt8] = []
        var bytes = Array(utf8)[...]
        while let byte = bytes.popFirst() {
            if byte == UInt8(ascii: "%"), bytes.count >= 2,
               let value = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(value)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
