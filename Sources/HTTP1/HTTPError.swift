/// A request the server refuses, carrying its wire answer: status, a stable machine code and a
/// human message, sent as `{"error": code, "message": text}`.
public struct HTTPError: Error, Sendable, Equatable {
    public var status: Int
    public var code: String
    public var message: String
    /// Extra response headers (e.g. `Sec-WebSocket-Version` on 426).
    public var headers: [(String, String)]

    public init(_ status: Int, _ code: String, _ message: String, headers: [(String, String)] = []) {
        self.status = status; self.code = code; self.message = message; self.headers = headers
    }

    public static func == (a: HTTPError, b: HTTPError) -> Bool {
        a.status == b.status && a.code == b.code && a.message == b.message
    }

    public static func badRequest(_ message: String) -> HTTPError { HTTPError(400, "bad_request", message) }
    public static func notFound(_ message: String) -> HTTPError { HTTPError(404, "not_found", message) }
}
