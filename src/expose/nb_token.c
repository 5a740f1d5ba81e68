/* The authorisation server on the northbound face:
 *   POST /oauth2/token         RFC 6749 §4.4 client credentials over mTLS (RFC 8705): the AF
 *                              is the registered owner of the connection's certificate
 *   GET  /oauth2/jwks          the public signing keys (RFC 7517), also at
 *   GET  /.well-known/jwks.json
 * A token names one API (aud) and the services of the scope for that API; it lives
 * nb->lifetime seconds and is bound to the certificate by cnf.x5t#S256. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "expose/nb_int.h"

#define FORM_FIELD_MAX 512

void nb_json_error(struct http_request *req, int status, const char *error, const char *desc)
{
    http_response_header(req, "Cache-Control", "no-store");
    if (status == 401)
        http_response_header(req, "WWW-Authenticate", "Bearer realm=\"iotsec\"");
    http_respond_json(req, status, json_pack("{s:s, s:s}", "error", error, "error_description",
                                             desc));
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Finds name in an application/x-www-form-urlencoded body and decodes its value. Returns 1
 * found, 0 absent, -1 malformed or repeated (RFC 6749 §3.2: parameters MUST NOT repeat). */
static int form_get(const char *body, size_t len, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name), i = 0;
    int found = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        const char *eq = memchr(body + i, '=', end - i);
        size_t klen = eq ? (size_t)(eq - (body + i)) : end - i;
        if (klen == nlen && memcmp(body + i, name, nlen) == 0) {
            if (found++ || eq == NULL)
                return -1;
            size_t o = 0;
            for (const char *p = eq + 1; p < body + end; p++) {
                char c = *p;
                if (c == '+')
                    c = ' ';
                else if (c == '%') {
                    if (body + end - p < 3)
                        return -1;
                    int h = hexval(p[1]), l = hexval(p[2]);
                    if (h < 0 || l < 0)
                        return -1;
                    c = (char)(h * 16 + l);
                    p += 2;
                }
                if ((unsigned char)c < 0x20 || o + 1 >= cap)
                    return -1;
                out[o++] = c;
            }
            out[o] = 0;
        }
        i = end + 1;
    }
    return found;
}

void expose_nb_set_resources(struct expose_nb *nb, uint32_t service, const char *prefix,
                             expose_resources_fn fn, void *user)
{
    nb->res_service = service;
    snprintf(nb->res_prefix, sizeof(nb->res_prefix), "%s", prefix);
    nb->res_fn = fn;
    nb->res_user = user;
}

/* Splits a requested scope into its service words and the ids of its "<prefix>:<id>" words.
 * IOTSEC_ERR_INVALID for a word with ':' of another prefix, or an empty id. */
static int nb_scope_split(const struct expose_nb *nb, const char *scope, char *services, char *ids,
                          size_t cap)
{
    size_t plen = strlen(nb->res_prefix), so = 0, io = 0;
    for (const char *p = scope; *p;) {
        size_t n = strcspn(p, " ");
        if (n > 0) {
            const char *colon = memchr(p, ':', n);
            bool res = colon != NULL;
            if (res && (nb->res_fn == NULL || (size_t)(colon - p) != plen ||
                        memcmp(p, nb->res_prefix, plen) != 0 || n == plen + 1))
                return IOTSEC_ERR_INVALID;
            char *dst = res ? ids : services;
            size_t *o = res ? &io : &so;
            const char *w = res ? colon + 1 : p;
            size_t wn = res ? n - plen - 1 : n;
            if (*o + wn + 2 > cap)
                return IOTSEC_ERR_INVALID;
            if (*o)
                dst[(*o)++] = ' ';
            memcpy(dst + *o, w, wn);
            *o += wn;
            dst[*o] = 0;
        }
        p += n;
        p += strspn(p, " ");
    }
    return IOTSEC_OK;
}

/* Appends " <prefix>:<id>" for each id of the space-separated list; false when the resource
 * words would not fit EXPOSE_RESOURCES_MAX (what a verified token keeps of them). */
static bool nb_scope_add_resources(const struct expose_nb *nb, const char *ids, char *canon,
                                   size_t cap)
{
    size_t o = strlen(canon), start = o;
    for (const char *p = ids; *p;) {
        size_t n = strcspn(p, " ");
        if (n > 0) {
            int w = snprintf(canon + o, cap - o, " %s:%.*s", nb->res_prefix, (int)n, p);
            if (w < 0 || (size_t)w >= cap - o)
                return false;
            o += (size_t)w;
        }
        p += n;
        p += strspn(p, " ");
    }
    return o - start <= EXPOSE_RESOURCES_MAX;
}

static void audit_token(struct expose_nb *nb, struct http_request *req, const char *principal,
                        bool allow, const char *reason)
{
    nb_audit_add(&nb->audit, nb_now_ms(), principal, "oauth2.token", "token", allow, reason,
                 http_request_id(req));
}

static void handle_token(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    const struct http_peer *peer = http_request_peer(req);
    struct nb_af af;
    char principal[80];
    snprintf(principal, sizeof(principal), "cert:%.16s", peer->has_cert ? peer->cert_sha256_hex : "none");
    if (!peer->has_cert || !nb_af_find(nb, NULL, peer->cert_sha256_hex, &af)) {
        audit_token(nb, req, principal, false, "UNKNOWN_CLIENT_CERTIFICATE");
        nb_json_error(req, 401, "invalid_client", "the client certificate is not registered");
        return;
    }
    if (!af.active) {
        audit_token(nb, req, af.af_id, false, "AF_DISABLED");
        nb_json_error(req, 401, "invalid_client", "the application function is disabled");
        return;
    }
    const char *ct = http_request_header(req, "content-type");
    if (ct == NULL || strncmp(ct, "application/x-www-form-urlencoded", 33) != 0 ||
        (ct[33] != 0 && ct[33] != ';')) {
        audit_token(nb, req, af.af_id, false, "BAD_REQUEST");
        nb_json_error(req, 400, "invalid_request",
                      "the body must be application/x-www-form-urlencoded");
        return;
    }
    size_t len;
    const char *body = http_request_body(req, &len);
    char grant[FORM_FIELD_MAX], scope[FORM_FIELD_MAX], client_id[FORM_FIELD_MAX];
    int g = form_get(body, len, "grant_type", grant, sizeof(grant));
    int s = form_get(body, len, "scope", scope, sizeof(scope));
    int c = form_get(body, len, "client_id", client_id, sizeof(client_id));
    if (g <= 0 || s < 0 || c < 0) {
        audit_token(nb, req, af.af_id, false, "BAD_REQUEST");
        nb_json_error(req, 400, "invalid_request",
                      g == 0 ? "grant_type is required" : "a parameter is malformed or repeated");
        return;
    }
    if (strcmp(grant, "client_credentials") != 0) {
        audit_token(nb, req, af.af_id, false, "UNSUPPORTED_GRANT_TYPE");
        nb_json_error(req, 400, "unsupported_grant_type", "only client_credentials is supported");
        return;
    }
    if (c == 1 && strcmp(client_id, af.af_id) != 0) {
        audit_token(nb, req, af.af_id, false, "CLIENT_ID_MISMATCH");
        nb_json_error(req, 401, "invalid_client",
                      "client_id does not name the owner of the client certificate");
        return;
    }
    /* The scope: known services only, all registered, one API (the token's aud). Without a
     * scope: the registered services, if they are one API. Words "<prefix>:<id>" name
     * resources of a resource-narrowed service (expose_nb_set_resources). */
    char services[FORM_FIELD_MAX] = "", asked[FORM_FIELD_MAX] = "";
    if (s == 1 && nb_scope_split(nb, scope, services, asked, sizeof(services)) != IOTSEC_OK)
        s = -2; /* a resource word of an unknown kind */
    uint32_t want = s == 1 ? expose_services_from_scope(services) : s == 0 ? af.services : 0;
    char canon[FORM_FIELD_MAX];
    nb_services_scope(want, canon, sizeof(canon));
    bool unknown_word = s == -2;
    if (s == 1) {
        char again[FORM_FIELD_MAX];
        nb_services_scope(want, again, sizeof(again));
        /* every word must be a service name: compare word counts */
        size_t words = 0, known = 0;
        for (const char *p = services; *p;) {
            size_t n = strcspn(p, " ");
            words += n > 0;
            p += n;
            p += strspn(p, " ");
        }
        for (const char *p = again; *p;) {
            size_t n = strcspn(p, " ");
            known += n > 0;
            p += n;
            p += strspn(p, " ");
        }
        unknown_word = words != known || words == 0;
    }
    const char *aud = nb_service_audience(want);
    if (unknown_word || want == 0 || (want & ~af.services) != 0 || aud == NULL ||
        (asked[0] && want != nb->res_service)) {
        audit_token(nb, req, af.af_id, false, "INVALID_SCOPE");
        nb_json_error(req, 400, "invalid_scope",
                      aud == NULL && want && !(want & ~af.services)
                          ? "a token covers one API: ask for one service per token"
                          : "the scope names a service this AF is not registered for");
        return;
    }
    /* a resource-narrowed service: the token carries the granted resources (all, or those
     * named), never one the AF holds no grant for */
    if (nb->res_fn != NULL && want == nb->res_service) {
        char granted[EXPOSE_RESOURCES_MAX + 1] = "";
        int r = nb->res_fn(nb->res_user, af.af_id, asked, granted, sizeof(granted));
        if (r == IOTSEC_OK && !nb_scope_add_resources(nb, granted, canon, sizeof(canon)))
            r = IOTSEC_ERR_INVALID;
        if (r != IOTSEC_OK) {
            audit_token(nb, req, af.af_id, false,
                        r == IOTSEC_ERR_AUTH ? "RESOURCE_NOT_GRANTED" : "INVALID_SCOPE");
            nb_json_error(req, 400, "invalid_scope",
                          r == IOTSEC_ERR_AUTH
                              ? "the scope names a resource not granted to this AF"
                              : "too many resources for one token: name some in the scope");
            return;
        }
    }
    int64_t now = nb_now();
    struct jwt_claims cl = {.iss = nb->issuer, .sub = af.af_id, .aud = aud, .scope = canon,
                            .client_id = af.af_id, .iat = now, .exp = now + nb->lifetime,
                            .token_gen = af.token_gen};
    memcpy(cl.x5t_s256, peer->cert_sha256, JWT_X5T_LEN);
    char *token = NULL;
    if (jwt_sign(nb->keys, &cl, &token) != IOTSEC_OK) {
        http_respond_problem(req, 500, NULL, "the token could not be signed", NULL, NULL, 0);
        return;
    }
    if (nb_audit_add(&nb->audit, nb_now_ms(), af.af_id, "oauth2.token", aud, true, "ISSUED",
                     http_request_id(req)) != IOTSEC_OK) {
        free(token);
        http_respond_unavailable(req, "NF_CONGESTION", "the audit log is busy", 1);
        return;
    }
    http_response_header(req, "Cache-Control", "no-store");
    http_response_header(req, "Pragma", "no-cache");
    http_respond_json(req, 200, json_pack("{s:s, s:s, s:I, s:s}", "access_token", token,
                                          "token_type", "Bearer", "expires_in",
                                          (json_int_t)nb->lifetime, "scope", canon));
    free(token);
}

static void handle_jwks(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    char *json = NULL;
    if (jwt_keyset_jwks(nb->keys, &json) != IOTSEC_OK) {
        http_respond_problem(req, 500, NULL, "the key set is unavailable", NULL, NULL, 0);
        return;
    }
    http_response_header(req, "Cache-Control", "max-age=60");
    http_respond(req, 200, "application/jwk-set+json", json, strlen(json));
    free(json);
}

int expose_nb_routes(struct expose_nb *nb, struct http_server *north)
{
    nb->north = north;
    int rc = http_server_route(north, "POST", "/oauth2/token", handle_token, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(north, "GET", "/oauth2/jwks", handle_jwks, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(north, "GET", "/.well-known/jwks.json", handle_jwks, nb);
    if (rc == IOTSEC_OK)
        rc = nb_probe_routes(nb);
    return rc;
}
