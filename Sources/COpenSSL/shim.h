// OpenSSL 3 through Swift: the headers plus static-inline wrappers for what OpenSSL spells
// as macros (SSL_CTX_set_min_proto_version, SSL_CTX_set_mode, ...), which Swift cannot call.
#ifndef C_OPENSSL_SHIM_H
#define C_OPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

static inline int hub_ssl_ctx_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}
static inline void hub_ssl_ctx_set_modes(SSL_CTX *ctx) {
    // Partial writes let one SSL_write accept what the socket takes; moving buffers let a retry
    // after WANT_WRITE pass the same bytes from a different address (our output queue moves).
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                          | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
}

/// ALPN: pick http/1.1 when offered; with no overlap continue without ALPN (RFC 7301 allows it).
static int hub_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                           const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    static const unsigned char ours[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, ours, sizeof ours, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}
static inline void hub_ssl_ctx_set_alpn_http11(SSL_CTX *ctx) {
    SSL_CTX_set_alpn_select_cb(ctx, hub_alpn_select, NULL);
}
/// Client side: SNI (a macro in OpenSSL) and the verification target (host name or IP literal).
static inline int hub_ssl_set_server_name(SSL *ssl, const char *name, int isIP) {
    if (isIP) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
    if (SSL_set_tlsext_host_name(ssl, name) != 1) return 0;
    return SSL_set1_host(ssl, name);
}
static inline const char *hub_ssl_verify_error(SSL *ssl) {
    long rc = SSL_get_verify_result(ssl);
    return rc == X509_V_OK ? NULL : X509_verify_cert_error_string(rc);
}
#endif
