/* The SBI's access-token gate (TS 33.501 §13.4.1.1.2, TS 29.500 §6.7, RFC 6750 §3.1):
 *   - no Bearer credentials: 401 with a bare `WWW-Authenticate: Bearer` (RFC 6750 §3.1:
 *     a request without authentication information gets no error code);
 *   - a malformed Authorization header: 400 invalid_request;
 *   - a token that fails the signature, the claims, the issuer, the time, the audience, or
 *     the binding to the client certificate: 401 invalid_token;
 *   - a valid token without the route's service in its scope: 403 insufficient_scope.
 * Verified tokens are cached (nrf_cache.c), keyed by the token and the client certificate. */
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "crypto/hmac_sha256.h"
#include "http/http.h"
#include "jose/jws.h"
#include "nrf/nrf_int.h"

enum outcome {
    OUT_ALLOWED,
    OUT_CACHE_HIT,
    OUT_MISSING,
    OUT_MALFORMED,
    OUT_INVALID,
    OUT_SCOPE,
    OUT_COUNT
};

struct nrf_auth {
    EVP_PKEY *keys[NRF_LIST_MAX];
    size_t n_keys;
    char iss[NRF_UUID_LEN + 1];
    struct nrf_ids ids;
    bool cert_identity;
    int64_t leeway;
    char *exempt[NRF_LIST_MAX];
    size_t n_exempt;
    /* One cache per worker thread, made at its first request: a consumer's connections all
     * carry the same token, so one shared entry would be one hot lock between workers. */
    struct nrf_cache *_Atomic cache[NRF_WORKERS_MAX];
    size_t cache_entries;
    _Atomic uint64_t count[OUT_COUNT];
};

/* NRF tokens often carry no kid (TS 29.510 does not require one), so each configured key
 * (one, or two during a rollover) is tried in turn; each key pins its own algorithm. */
struct try_ctx {
    struct nrf_auth *a;
    size_t i;
};

static EVP_PKEY *lookup_nth(void *ctx, const char *kid)
{
    struct try_ctx *t = ctx;
    (void)kid;
    EVP_PKEY *k = t->a->keys[t->i];
    return EVP_PKEY_up_ref(k) ? k : NULL;
}

int nrf_auth_new(const struct nrf_auth_config *c, struct nrf_auth **out)
{
    if (c->n_keys == 0 || c->n_keys > NRF_LIST_MAX || c->nrf_instance_id == NULL ||
        !nrf_uuid_valid(c->nrf_instance_id) || c->leeway_s > 300 || c->n_exempt > NRF_LIST_MAX)
        return IOTSEC_ERR_INVALID;
    struct nrf_auth *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return IOTSEC_ERR_NOMEM;
    int rc = IOTSEC_OK;
    for (size_t i = 0; rc == IOTSEC_OK && i < c->n_keys; i++) {
        rc = jws_key_load_pem(c->key_files[i], &a->keys[i]);
        if (rc == IOTSEC_OK)
            a->n_keys++;
    }
    for (size_t i = 0; rc == IOTSEC_OK && i < c->n_exempt; i++) {
        if ((a->exempt[i] = strdup(c->exempt[i])) == NULL)
            rc = IOTSEC_ERR_NOMEM;
        a->n_exempt = i + 1;
    }
    memcpy(a->iss, c->nrf_instance_id, NRF_UUID_LEN + 1);
    a->ids = c->ids;
    a->cert_identity = c->cert_identity;
    a->leeway = c->leeway_s;
    a->cache_entries = c->cache_entries ? c->cache_entries : 1024;
    if (rc != IOTSEC_OK) {
        nrf_auth_free(a);
        return rc;
    }
    *out = a;
    return IOTSEC_OK;
}

void nrf_auth_free(struct nrf_auth *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_keys; i++)
        EVP_PKEY_free(a->keys[i]);
    for (size_t i = 0; i < a->n_exempt; i++)
        free(a->exempt[i]);
    for (size_t i = 0; i < NRF_WORKERS_MAX; i++)
        nrf_cache_free(atomic_load(&a->cache[i]));
    free(a);
}

static void count(struct nrf_auth *a, enum outcome o)
{
    atomic_fetch_add_explicit(&a->count[o], 1, memory_order_relaxed);
}

/* Answers 400/401/403 with the RFC 6750 challenge. error NULL: a bare challenge. */
static bool refuse(struct nrf_auth *a, struct http_request *req, enum outcome o, int status,
                   const char *error, const char *scope, const char *detail)
{
    char challenge[160] = "Bearer";
    if (error != NULL && scope != NULL)
        snprintf(challenge, sizeof(challenge), "Bearer error=\"%s\", scope=\"%s\"", error, scope);
    else if (error != NULL)
        snprintf(challenge, sizeof(challenge), "Bearer error=\"%s\"", error);
    count(a, o);
    http_response_header(req, "www-authenticate", challenge);
    http_respond_problem(req, status, NULL, detail, NULL, NULL, 0);
    return false;
}

/* The client certificate names the NF instance sub (TS 33.310: URI SAN urn:uuid:<id>). */
static bool cert_names(X509 *cert, const char *sub)
{
    if (cert == NULL)
        return false;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    bool ok = false;
    for (int i = 0; !ok && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type != GEN_URI)
            continue;
        const char *uri = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
        int len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
        ok = len == 9 + NRF_UUID_LEN && strncasecmp(uri, "urn:uuid:", 9) == 0 &&
             strncasecmp(uri + 9, sub, NRF_UUID_LEN) == 0;
    }
    GENERAL_NAMES_free(names);
    return ok;
}

/* Signature (any configured key), claims, certificate identity. */
static const char *verify(struct nrf_auth *a, const struct http_peer *peer, const char *token,
                          size_t len, struct nrf_token_info *info)
{
    json_t *claims = NULL;
    enum jws_reason jr = JWS_R_KID;
    for (size_t i = 0; i < a->n_keys && jr != JWS_R_OK; i++) {
        struct try_ctx t = {a, i};
        struct jws_rules rules = {.lookup = lookup_nth, .lookup_ctx = &t};
        jr = jws_verify(token, len, &rules, NULL, &claims);
    }
    if (jr != JWS_R_OK)
        return jws_reason_str(jr);
    struct nrf_token_expect ex = {
        .iss = a->iss, .ids = &a->ids, .now = (int64_t)time(NULL), .leeway = a->leeway};
    enum nrf_token_reason r = nrf_token_check(claims, &ex, info);
    json_decref(claims);
    if (r != NRF_TOKEN_OK)
        return nrf_token_reason_str(r);
    if (a->cert_identity && !cert_names(peer->cert, info->sub))
        return "the token's subject is not the client certificate's NF instance";
    return NULL;
}

/* RFC 6750 §2.1: "Bearer" 1*SP b64token; b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
 * "~" / "+" / "/" ) *"=". A table: this runs over every byte of every request's token. */
static bool b64token(const char *s, size_t *len)
{
    static const bool ok[256] = {['A' ... 'Z'] = true, ['a' ... 'z'] = true, ['0' ... '9'] = true,
                                 ['-'] = true,         ['.'] = true,         ['_'] = true,
                                 ['~'] = true,         ['+'] = true,         ['/'] = true};
    size_t n = 0;
    while (ok[(unsigned char)s[n]])
        n++;
    size_t body = n;
    while (s[n] == '=')
        n++;
    *len = n;
    return body > 0 && s[n] == '\0';
}

static const char *service_of(const char *route, char *buf, size_t cap)
{
    const char *p = route[0] == '/' ? route + 1 : route;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= cap)
        return NULL;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

/* The worker's own cache (only that worker makes or uses it); NULL when out of memory. */
static struct nrf_cache *worker_cache(struct nrf_auth *a, const struct http_request *req)
{
    unsigned w = http_request_worker(req) % NRF_WORKERS_MAX;
    struct nrf_cache *c = atomic_load_explicit(&a->cache[w], memory_order_acquire);
    if (c == NULL && (c = nrf_cache_new(a->cache_entries)) != NULL)
        atomic_store_explicit(&a->cache[w], c, memory_order_release);
    return c;
}

bool nrf_auth_gate(struct http_request *req, void *user)
{
    struct nrf_auth *a = user;
    const char *route = http_request_route(req);
    for (size_t i = 0; i < a->n_exempt; i++) {
        if (strcmp(route, a->exempt[i]) == 0)
            return true;
    }
    const char *h = http_request_header(req, "authorization");
    if (h == NULL || strncasecmp(h, "bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\0'))
        return refuse(a, req, OUT_MISSING, 401, NULL, NULL,
                      "an access token from the NRF is required (Authorization: Bearer)");
    const char *tok = h + 6;
    while (*tok == ' ')
        tok++;
    size_t len;
    if (!b64token(tok, &len))
        return refuse(a, req, OUT_MALFORMED, 400, "invalid_request", NULL,
                      "malformed Authorization header");
    char svc_buf[64];
    const char *service = service_of(route, svc_buf, sizeof(svc_buf));
    if (service == NULL)
        return refuse(a, req, OUT_SCOPE, 403, "insufficient_scope", NULL,
                      "no service scope protects this resource");
    const struct http_peer *peer = http_request_peer(req);
    uint8_t key[32];
    sha256_2(tok, len, peer->has_cert ? peer->cert_sha256 : NULL, peer->has_cert ? 32 : 0, key);
    struct nrf_token_info info;
    int64_t now = (int64_t)time(NULL);
    struct nrf_cache *cache = worker_cache(a, req);
    bool hit = cache != NULL && nrf_cache_get(cache, key, &info);
    if (hit && (info.exp <= now - a->leeway || info.nbf > now + a->leeway))
        return refuse(a, req, OUT_INVALID, 401, "invalid_token", NULL, "token expired");
    if (!hit) {
        const char *why = verify(a, peer, tok, len, &info);
        if (why != NULL)
            return refuse(a, req, OUT_INVALID, 401, "invalid_token", NULL, why);
        if (cache != NULL)
            nrf_cache_put(cache, key, &info);
    }
    if ((info.aud & nrf_aud_needed(service)) == 0)
        return refuse(a, req, OUT_INVALID, 401, "invalid_token", NULL,
                      "token not issued for the NF that offers this service");
    if (!nrf_scope_has(info.scope, service))
        return refuse(a, req, OUT_SCOPE, 403, "insufficient_scope", service,
                      "the token's scope does not include this service");
    count(a, hit ? OUT_CACHE_HIT : OUT_ALLOWED);
    return true;
}

int nrf_auth_metrics(struct nrf_auth *a, struct strbuf *out)
{
    static const char *const name[OUT_COUNT] = {"verified",  "cache_hit",     "missing",
                                                "malformed", "invalid_token", "insufficient_scope"};
    int rc = strbuf_appendf(out, "# HELP iotsec_sbi_oauth2_requests_total SBI requests by "
                                 "access-token outcome.\n"
                                 "# TYPE iotsec_sbi_oauth2_requests_total counter\n");
    for (int i = 0; rc == IOTSEC_OK && i < OUT_COUNT; i++)
        rc = strbuf_appendf(
            out, "iotsec_sbi_oauth2_requests_total{outcome=\"%s\"} %llu\n", name[i],
            (unsigned long long)atomic_load_explicit(&a->count[i], memory_order_relaxed));
    return rc;
}
