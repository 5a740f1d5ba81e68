/* TLS contexts for listeners, ALPN, and the peer identity a handler sees. One SSL_CTX per
 * listener, built at configuration time and shared read-only by the workers. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "http/http_int.h"

/* Server preference: h2 first. Wire format: length-prefixed names. */
static const unsigned char alpn_protos[] = "\x02h2\x08http/1.1";

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, alpn_protos, sizeof(alpn_protos) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; /* no common protocol: go on without ALPN, sniff */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

int htls_alpn_protocol(SSL *ssl)
{
    const unsigned char *p;
    unsigned int len;
    SSL_get0_alpn_selected(ssl, &p, &len);
    if (len == 2 && memcmp(p, "h2", 2) == 0)
        return 2;
    if (len == 8 && memcmp(p, "http/1.1", 8) == 0)
        return 1;
    return 0;
}

/* Logs the first queued OpenSSL error with what we were doing; never file contents. */
static int tls_fail(struct http_server *srv, SSL_CTX *ctx, const char *what, const char *file)
{
    char reason[256];
    ERR_error_string_n(ERR_peek_last_error(), reason, sizeof(reason));
    ERR_clear_error();
    hlog(srv, HTTP_LOG_ERROR, NULL, "tls: %s %s: %s", what, file ? file : "", reason);
    SSL_CTX_free(ctx);
    return IOTSEC_ERR_INVALID;
}

/* client_cert_any: the chain is the application's to judge (see http.h). */
static int accept_any_chain(int preverify_ok, X509_STORE_CTX *x509_ctx)
{
    (void)preverify_ok;
    (void)x509_ctx;
    return 1;
}

/* client_cert_any: skip OpenSSL's chain building too (a search of an empty store, purpose
 * and extension checks on every handshake): its verdict would be ignored anyway. The
 * handshake still proves possession of the certificate's key (CertificateVerify). */
static int skip_chain(X509_STORE_CTX *x509_ctx, void *arg)
{
    (void)x509_ctx;
    (void)arg;
    return 1;
}

static int load_client_ca(struct http_server *srv, SSL_CTX *ctx,
                          const struct http_listener_config *lc)
{
    if (lc->client_cert_any) {
        int mode = SSL_VERIFY_PEER | (lc->client_cert_required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
        SSL_CTX_set_verify(ctx, mode, accept_any_chain);
        SSL_CTX_set_cert_verify_callback(ctx, skip_chain, NULL);
        return IOTSEC_OK;
    }
    if (!lc->ca_file)
        return lc->client_cert_required ? tls_fail(srv, ctx, "client certs need a CA", NULL)
                                        : IOTSEC_OK;
    if (SSL_CTX_load_verify_locations(ctx, lc->ca_file, NULL) != 1)
        return tls_fail(srv, ctx, "cannot load CA", lc->ca_file);
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(lc->ca_file);
    if (!names)
        return tls_fail(srv, ctx, "no CA names in", lc->ca_file);
    SSL_CTX_set_client_CA_list(ctx, names);
    int mode = SSL_VERIFY_PEER;
    if (lc->client_cert_required)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
    SSL_CTX_set_verify_depth(ctx, 4);
    return IOTSEC_OK;
}

int htls_ctx_new(const struct http_listener_config *lc, SSL_CTX **out, struct http_server *srv)
{
    *out = NULL;
    if (!lc->cert_file || !lc->key_file)
        return tls_fail(srv, NULL, "certificate and key files are required", NULL);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        tls_fail(srv, NULL, "cannot create context", NULL);
        return IOTSEC_ERR_CRYPTO;
    }
    int min = lc->min_tls == HTTP_TLS_1_2 ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(ctx, min);
    /* Unexpected EOF is an ordinary close for us; renegotiation is an attack surface. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* One recv for many records, instead of two per record (header, then body). */
    SSL_CTX_set_read_ahead(ctx, 1);
    /* Needed for session resumption when client certificates are verified. */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"iotsec-http", 11);
    if (SSL_CTX_use_certificate_chain_file(ctx, lc->cert_file) != 1)
        return tls_fail(srv, ctx, "cannot load certificate", lc->cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, lc->key_file, SSL_FILETYPE_PEM) != 1)
        return tls_fail(srv, ctx, "cannot load key", lc->key_file);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return tls_fail(srv, ctx, "key does not match certificate", lc->key_file);
    if (lc->no_resumption) {
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    int rc = load_client_ca(srv, ctx, lc);
    if (rc != IOTSEC_OK)
        return rc;
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    *out = ctx;
    return IOTSEC_OK;
}

static void subject_cn(X509 *cert, char *out, size_t cap)
{
    out[0] = '\0';
    X509_NAME *name = X509_get_subject_name(cert);
    int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    if (i < 0)
        return;
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    /* An embedded NUL would make the C string lie about the name: treat it as absent. */
    if (len > 0 && (size_t)len < cap && memchr(utf8, 0, (size_t)len) == NULL) {
        memcpy(out, utf8, (size_t)len);
        out[len] = '\0';
    }
    OPENSSL_free(utf8);
}

/* The listener's role check, once the identity is known (or not: no certificate, no role). */
static void judge_role(struct http_conn *c)
{
    c->role_refused = c->l->role && !c->l->role(&c->peer, c->l->role_user);
    if (c->role_refused)
        hlog(c->w->srv, HTTP_LOG_INFO, NULL,
             "client %s: certificate %.16s has not the role this interface serves", c->peer_addr,
             c->peer.has_cert ? c->peer.cert_sha256_hex : "(none)");
}

bool http_peer_has_san_uri(const struct http_peer *peer, const char *prefix)
{
    if (peer == NULL || !peer->has_cert || peer->cert == NULL)
        return false;
    GENERAL_NAMES *names = X509_get_ext_d2i(peer->cert, NID_subject_alt_name, NULL, NULL);
    bool found = false;
    size_t plen = strlen(prefix);
    for (int i = 0; names && !found && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *n = sk_GENERAL_NAME_value(names, i);
        if (n->type != GEN_URI)
            continue;
        const unsigned char *u = ASN1_STRING_get0_data(n->d.uniformResourceIdentifier);
        int len = ASN1_STRING_length(n->d.uniformResourceIdentifier);
        found = len > (int)plen && memcmp(u, prefix, plen) == 0 && !memchr(u, 0, (size_t)len);
    }
    GENERAL_NAMES_free(names);
    return found;
}

static void peer_identity(struct http_conn *c)
{
    struct http_peer *p = &c->peer;
    p->tls = true;
    X509 *cert = SSL_get1_peer_certificate(c->ssl);
    if (!cert)
        return;
    /* A chain that does not verify counts only on a client_cert_any listener, where the
     * callback accepted it and the application judges it. */
    bool verified = SSL_get_verify_result(c->ssl) == X509_V_OK;
    if (!verified && !c->l->any_client_cert) {
        X509_free(cert);
        return;
    }
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha256(), p->cert_sha256, &len) != 1 || len != 32) {
        X509_free(cert);
        ERR_clear_error();
        return;
    }
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        p->cert_sha256_hex[2 * i] = hex[p->cert_sha256[i] >> 4];
        p->cert_sha256_hex[2 * i + 1] = hex[p->cert_sha256[i] & 15];
    }
    p->cert_sha256_hex[64] = '\0';
    subject_cn(cert, c->peer_cn, sizeof(c->peer_cn));
    p->subject_cn = c->peer_cn[0] ? c->peer_cn : NULL;
    p->cert = cert; /* freed with the connection */
    p->chain = SSL_get_peer_cert_chain(c->ssl); /* owned by the session */
    p->has_cert = true;
    p->cert_verified = verified && !c->l->any_client_cert;
}

void htls_peer_identity(struct http_conn *c)
{
    peer_identity(c);
    judge_role(c);
}
