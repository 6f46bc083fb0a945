// Minting subscription tokens for browsers: the REST server holds the hub's token secret and
// hands each browser a short-lived token for exactly the keys it may read.
import Auth
import Reactor

/// Mints the HS256 subscription tokens the hub verifies (`--token-secret`).
public enum SubscriptionTokens {
    /// An HS256 token allowing `keys` (exact keys, or prefixes ending in `*`) until `expiresIn` from now.
    public static func mint(secret: String, keys: [String], expiresIn: Duration = .seconds(300), nowSeconds: Int64 = HubClock.wallMilliseconds / 1000) -> String {
        TokenVerifier(secret: secret).mint(keys: keys, expiresAt: nowSeconds + Int64(expiresIn.components.seconds))
    }
}
