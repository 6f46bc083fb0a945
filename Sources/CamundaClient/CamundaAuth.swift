// Credentials for the REST API: none (local dev), HTTP basic (self-managed with basic auth), or
// OAuth 2 client credentials (SaaS, Identity/Keycloak). OAuth tokens are cached and refreshed
// before they expire; one refresh runs at a time however many calls need it.
import HTTP1
import HTTPClient
import Reactor
import HubBytes
import Synchronization

/// How the client authenticates to the REST API.
public enum CamundaAuth: Sendable {
    case none
    case basic(user: String, password: String)
    /// Client credentials grant against `tokenURL`; `audience` and `scope` as the issuer wants.
    case oauth(tokenURL: String, clientId: String, clientSecret: String, audience: String? = nil, scope: String? = nil)
}

final class TokenProvider: Sendable {
    private struct Cached: Sendable { var token: String; var refreshAt: Int64 }
    private let auth: CamundaAuth
    private let http: HTTPClient
    private let cached = Mutex<Cached?>(nil)
    private let refreshing = Mutex<Task<Cached, Error>?>(nil)
    /// Tokens fetched so far (tests check the cache).
    let fetched = Atomic<Int>(0)

    init(auth: CamundaAuth, http: HTTPClient) { self.auth = auth; self.http = http }

    static func nowMs() -> Int64 { Int64(HubClock.monotonicNanoseconds / 1_000_000) }

    /// The Authorization header value, or nil for no auth.
    func header() async throws -> String? {
        switch auth {
        case .none: return nil
        case .basic(let user, let password): return "Basic " + Base64.encode(Array("\(user):\(password)".utf8))
        case .oauth:
            let now = Self.nowMs()
            if let c = cached.withLock({ $0 }), c.refreshAt > now { return "Bearer " + c.token }
            let task = refreshing.withLock { current -> Task<Cached, Error> in
                if let current { return current }
                let t = Task { try await self.fetch() }
                current = t
                return t
            }
            do {
                let fresh = try await task.value
                cached.withLock { $0 = fresh }
                refreshing.withLock { if $0 == task { $0 = nil } }
                return "Bearer " + fresh.token
            } catch {
                refreshing.withLock { if $0 == task { $0 = nil } }
                throw error
            }
        }
    }

    /// Forget the token (the API said 401: revoked or rotated).
    func invalidate() { cached.withLock { $0 = nil } }

    private func fetch() async throws -> Cached {
        guard case .oauth(let urlText, let id, let secret, let audience, let scope) = auth, let url = ClientURL(urlText) else {
            throw CamundaError.authentication("invalid token URL")
        }
        var form = "grant_type=client_credentials&client_id=\(formEncode(id))&client_secret=\(formEncode(secret))"
        if let audience { form += "&audience=\(formEncode(audience))" }
        if let scope { form += "&scope=\(formEncode(scope))" }
        let response: ClientResponse
        do {
            response = try await http.execute(ClientRequest(method: "POST", url: url, headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                                                            body: Array(form.utf8)), timeout: .seconds(15))
        } catch let e as HTTPClientError {
            throw CamundaError.transport(e)
        }
        guard response.status == 200, case .success(let json) = JSONValue.parse(response.body), let token = json["access_token"]?.stringValue else {
            throw CamundaError.authentication("token endpoint answered \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
        }
        fetched.add(1, ordering: .relaxed)
        let lifetime = Int64(json["expires_in"]?.intValue ?? 300) * 1000
        // Refresh ahead of expiry: 30 s early, or at 80 % of a short lifetime.
        let margin = min(30_000, lifetime / 5)
        return Cached(token: token, refreshAt: Self.nowMs() + lifetime - margin)
    }
}

func formEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(b))
        default:
            out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
        }
    }
    return out
}
