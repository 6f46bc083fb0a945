// TLS settings shared by every connection: OpenSSL 3's SSL_CTX. Server side: the certificate
// chain and key, TLS 1.2 minimum, ALPN http/1.1. Client side: peer verification, SNI, ALPN.
import COpenSSL

/// Why TLS could not be set up.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ what: String) {
        var detail = ""
        var code = ERR_get_error()
        while code != 0 {
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buf, buf.count)
            detail += " " + String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            code = ERR_get_error()
        }
        description = what + (detail.isEmpty ? "" : ":" + detail)
    }
}

/// The server's TLS policy defaults.
public enum TLSPolicy {
    /// TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AEAD ciphers only: no CBC
    /// (padding oracles), no static RSA key exchange, no SHA-1 MACs. Every browser and HTTP client
    /// of the last decade offers at least one of these; TLS 1.3 is preferred when both sides have it.
    public static let tls12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
}

public final class TLSContext: @unchecked Sendable {
    // @unchecked Sendable: after init the SSL_CTX is only read (SSL_new), and OpenSSL documents
    // SSL_CTX as safe to share between threads once configured. It is freed in deinit.
    let ctx: OpaquePointer

    /// Loads a PEM certificate chain and private key; TLS 1.2 is limited to `tls12Ciphers`.
    public init(certificateChainFile: String, privateKeyFile: String, tls12Ciphers: String = TLSPolicy.tls12Ciphers) throws(TLSError) {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSError("SSL_CTX_new") }
        self.ctx = ctx
        guard hub_ssl_ctx_set_min_tls12(ctx) == 1 else { throw TLSError("setting TLS 1.2 as the minimum") }
        guard SSL_CTX_set_cipher_list(ctx, tls12Ciphers) == 1 else { throw TLSError("no usable cipher in the TLS 1.2 list \"\(tls12Ciphers)\"") }
        hub_ssl_ctx_set_modes(ctx)
        hub_ssl_ctx_set_alpn_http11(ctx)
        guard SSL_CTX_use_certificate_chain_file(ctx, certificateChainFile) == 1 else {
            throw TLSError("loading certificate chain \(certificateChainFile)")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, privateKeyFile, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError("loading private key \(privateKeyFile)")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else { throw TLSError("the private key does not match the certificate") }
    }

    /// Client settings: TLS 1.2 or newer, ALPN http/1.1, and the server's certificate verified
    /// against `caFile` (PEM) or, without one, the system's trust store.
    public init(clientTrusting caFile: String? = nil) throws(TLSError) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw TLSError("SSL_CTX_new") }
        self.ctx = ctx
        guard hub_ssl_ctx_set_min_tls12(ctx) == 1 else { throw TLSError("setting TLS 1.2 as the minimum") }
        hub_ssl_ctx_set_modes(ctx)
        let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
        _ = SSL_CTX_set_alpn_protos(ctx, alpn, UInt32(alpn.count))
        if let caFile {
            guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else { throw TLSError("loading CA file \(caFile)") }
        } else {
            guard SSL_CTX_set_default_verify_paths(ctx) == 1 else { throw TLSError("loading the system trust store") }
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
    }

    deinit { SSL_CTX_free(ctx) }
}
