/* The request-authorisation interface (northbound.h): authentication of the AF (certificate,
 * bound bearer token, scope), external-ID resolution, the single decision point and its audit
 * record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "expose/nb_int.h"

static void principal_of(const struct http_peer *peer, const struct nb_af *af, bool known,
                         char *out, size_t cap)
{
    if (known)
        snprintf(out, cap, "%s", af->af_id);
    else
        snprintf(out, cap, "cert:%.16s", peer->has_cert ? peer->cert_sha256_hex : "none");
}

/* 401/403/400 per RFC 6750 §3 with a ProblemDetails body, and the audit record. */
static int refuse(struct expose_nb *nb, struct http_request *req, const char *principal, int status,
                  const char *error, const char *reason, const char *detail)
{
    char www[256];
    if (error)
        snprintf(www, sizeof(www),
                 "Bearer realm=\"iotsec\", error=\"%s\", error_description=\"%s\"", error, detail);
    else
        snprintf(www, sizeof(www), "Bearer realm=\"iotsec\"");
    http_response_header(req, "WWW-Authenticate", www);
    nb_audit_add(&nb->audit, nb_now_ms(), principal, "authenticate", http_request_route(req), false,
                 reason, http_request_id(req));
    http_respond_problem(req, status, NULL, detail, reason, NULL, 0);
    return IOTSEC_ERR_AUTH;
}

/* The audit reason of a refused token: stable codes, not prose. */
static const char *token_code(enum jwt_reason r)
{
    static const char *const codes[] = {
        [JWT_R_OK] = "TOKEN_OK",
        [JWT_R_PARAMS] = "TOKEN_PARAMS",
        [JWT_R_TOO_LARGE] = "TOKEN_TOO_LARGE",
        [JWT_R_MALFORMED] = "TOKEN_MALFORMED",
        [JWT_R_BASE64] = "TOKEN_BASE64",
        [JWT_R_JSON] = "TOKEN_JSON",
        [JWT_R_JSON_DUPLICATE] = "TOKEN_JSON_DUPLICATE",
        [JWT_R_ALG] = "TOKEN_ALG",
        [JWT_R_TYP] = "TOKEN_TYP",
        [JWT_R_CRIT] = "TOKEN_CRIT",
        [JWT_R_KID] = "TOKEN_KID",
        [JWT_R_SIG_FORMAT] = "TOKEN_SIG_FORMAT",
        [JWT_R_SIGNATURE] = "TOKEN_SIGNATURE",
        [JWT_R_CLAIM_MISSING] = "TOKEN_CLAIM_MISSING",
        [JWT_R_CLAIM_INVALID] = "TOKEN_CLAIM_INVALID",
        [JWT_R_EXPIRED] = "TOKEN_EXPIRED",
        [JWT_R_NOT_YET_VALID] = "TOKEN_NOT_YET_VALID",
        [JWT_R_LIFETIME] = "TOKEN_LIFETIME",
        [JWT_R_ISSUER] = "TOKEN_ISSUER",
        [JWT_R_AUDIENCE] = "TOKEN_AUDIENCE",
        [JWT_R_BINDING] = "TOKEN_BINDING",
        [JWT_R_SUBJECT] = "TOKEN_SUBJECT",
        [JWT_R_INTERNAL] = "TOKEN_INTERNAL",
    };
    if ((size_t)r < sizeof(codes) / sizeof(codes[0]) && codes[r] != NULL)
        return codes[r];
    return "TOKEN_INVALID";
}

/* "Bearer <token>": the token, or NULL (with *malformed when a header is there but wrong). */
static const char *bearer(struct http_request *req, size_t *len, bool *malformed)
{
    const char *h = http_request_header(req, "authorization");
    *malformed = false;
    if (h == NULL)
        return NULL;
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        *malformed = true;
        return NULL;
    }
    const char *t = h + 7;
    while (*t == ' ')
        t++;
    *len = strlen(t);
    while (*len > 0 && t[*len - 1] == ' ')
        (*len)--;
    if (*len == 0 || memchr(t, ' ', *len)) {
        *malformed = true;
        return NULL;
    }
    return t;
}

/* The scope's resource words ("<prefix>:<id>", expose_nb_set_resources), space-separated. A
 * token whose resource words do not fit is cut at a word boundary: it then carries fewer
 * resources, never more (we never issue one). */
static void resource_words(const char *scope, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (const char *p = scope; *p;) {
        size_t n = strcspn(p, " ");
        if (n > 0 && memchr(p, ':', n) != NULL) {
            if (o + n + 2 > cap)
                return;
            if (o)
                out[o++] = ' ';
            memcpy(out + o, p, n);
            o += n;
            out[o] = 0;
        }
        p += n;
        p += strspn(p, " ");
    }
}

int expose_nb_authenticate(struct expose_nb *nb, struct http_request *req, uint32_t service,
                           struct expose_af *out)
{
    memset(out, 0, sizeof(*out));
    const struct http_peer *peer = http_request_peer(req);
    struct nb_af af;
    bool known = peer->has_cert && nb_af_find(nb, NULL, peer->cert_sha256_hex, &af);
    char principal[80];
    principal_of(peer, &af, known, principal, sizeof(principal));
    const char *aud = nb_service_audience(service);
    if (aud == NULL) {
        http_respond_problem(req, 500, NULL, "the API names no single service", NULL, NULL, 0);
        return IOTSEC_ERR_INVALID;
    }
    size_t len = 0;
    bool malformed;
    const char *token = bearer(req, &len, &malformed);
    if (token == NULL && !malformed)
        return refuse(nb, req, principal, 401, NULL, "NO_TOKEN",
                      "an access token is required (Authorization: Bearer)");
    if (token == NULL)
        return refuse(nb, req, principal, 400, "invalid_request", "MALFORMED_AUTHORIZATION",
                      "the Authorization header is not a Bearer token");
    if (!known)
        return refuse(nb, req, principal, 401, "invalid_token", "UNKNOWN_CLIENT_CERTIFICATE",
                      "the client certificate is not registered");
    if (!af.active)
        return refuse(nb, req, principal, 401, "invalid_token", "AF_DISABLED",
                      "the application function is disabled");
    int64_t now = nb_now();
    struct nb_cache_entry e;
    nb_cache_key(token, len, peer->cert_sha256, e.key);
    if (!nb_cache_get(nb->cache, e.key, now, &e) || e.service != service) {
        struct jwt_expect ex = {.iss = nb->issuer,
                                .aud = aud,
                                .x5t_s256 = peer->cert_sha256,
                                .now = now,
                                .leeway = 0,
                                .max_lifetime = nb->lifetime};
        struct jwt_verified v;
        enum jwt_reason why = JWT_R_INTERNAL;
        int rc = jwt_verify(nb->keys, token, len, &ex, &v, &why);
        if (rc != IOTSEC_OK) {
            return refuse(nb, req, principal, 401, "invalid_token", token_code(why),
                          "the access token is invalid, expired or not bound to this "
                          "connection's certificate");
        }
        snprintf(e.sub, sizeof(e.sub), "%s", v.sub);
        snprintf(e.jti, sizeof(e.jti), "%s", v.jti);
        e.scopes = expose_services_from_scope(v.scope);
        e.exp = v.exp;
        e.service = service;
        e.token_gen = v.token_gen;
        resource_words(v.scope, e.resources, sizeof(e.resources));
        nb_cache_put(nb->cache, &e, now);
    }
    if (strcmp(e.sub, af.af_id) != 0)
        return refuse(nb, req, principal, 401, "invalid_token", "TOKEN_OTHER_AF",
                      "the access token was issued to another application function");
    /* Checked on every request against the registry as it is now: a token from before the
     * AF's last disable stays dead after it is enabled again. */
    if (e.token_gen != af.token_gen)
        return refuse(nb, req, principal, 401, "invalid_token", "TOKEN_REVOKED",
                      "the access token was issued before the application function was last "
                      "disabled");
    if (!(e.scopes & service) || !(af.services & service))
        return refuse(nb, req, principal, 403, "insufficient_scope", "INSUFFICIENT_SCOPE",
                      "the token's scope or the AF's registration does not cover this API");
    snprintf(out->af_id, sizeof(out->af_id), "%s", af.af_id);
    snprintf(out->jti, sizeof(out->jti), "%s", e.jti);
    snprintf(out->cert_sha256_hex, sizeof(out->cert_sha256_hex), "%s", peer->cert_sha256_hex);
    snprintf(out->resources, sizeof(out->resources), "%s", e.resources);
    out->services = af.services;
    out->token_scopes = e.scopes;
    out->token_exp = e.exp;
    out->principal.kind = PRINCIPAL_AF;
    out->principal.services = af.services;
    out->principal.token_scopes = e.scopes;
    expose_af_fix(out);
    return IOTSEC_OK;
}

int expose_nb_resolve_quiet(struct expose_nb *nb, const char *af_id, const char *external_id,
                            char *supi, size_t cap)
{
    struct store_conn *c;
    int rc = store_reader_get(nb->store, &c);
    if (rc != IOTSEC_OK)
        return rc;
    return expose_external_id_resolve(&nb->extid_key, af_id, external_id, nb->domain,
                                      nb_store_extid_lookup, c, supi, cap);
}

int expose_nb_resolve(struct expose_nb *nb, struct http_request *req, const struct expose_af *af,
                      const char *external_id, char *supi, size_t cap)
{
    int rc = external_id ? expose_nb_resolve_quiet(nb, af->af_id, external_id, supi, cap)
                         : IOTSEC_ERR_INVALID;
    if (rc == IOTSEC_OK)
        return rc;
    char res[NB_AUDIT_TEXT];
    snprintf(res, sizeof(res), "device:%.200s", external_id ? external_id : "");
    const char *reason = rc == IOTSEC_ERR_INVALID    ? "MALFORMED_EXTERNAL_ID"
                         : rc == IOTSEC_ERR_NOTFOUND ? "UNKNOWN_EXTERNAL_ID"
                                                     : "STORE_ERROR";
    nb_audit_add(&nb->audit, nb_now_ms(), af->af_id, "extid.resolve", res, false, reason,
                 http_request_id(req));
    if (rc == IOTSEC_ERR_INVALID) {
        struct http_invalid_param ip = {"externalId", "not <pseudonym>@<domain> of this network"};
        http_respond_problem(req, 400, NULL, "malformed external identifier",
                             "MALFORMED_EXTERNAL_ID", &ip, 1);
    } else if (rc == IOTSEC_ERR_NOTFOUND) {
        /* unknown and another AF's are the same answer: an ID proves nothing across AFs */
        http_respond_problem(req, 403, NULL,
                             "no device with this external identifier is "
                             "visible to this application function",
                             "UNKNOWN_EXTERNAL_ID", NULL, 0);
    } else {
        http_respond_unavailable(req, "NF_CONGESTION", "the store is unavailable", 1);
    }
    return rc;
}

int expose_nb_external_id(struct expose_nb *nb, const char *af_id, const char *supi,
                          char out[EXTID_MAX])
{
    return expose_external_id(&nb->extid_key, af_id, supi, nb->domain, out);
}

static void resource_text(const struct expose_target *t, char *out, size_t cap)
{
    const char *kind = t->kind == RESOURCE_DEVICE  ? "device"
                       : t->kind == RESOURCE_GROUP ? "group"
                       : t->kind == RESOURCE_AREA  ? "area"
                                                   : "none";
    const char *id = t->external_id                             ? t->external_id
                     : t->kind == RESOURCE_GROUP && t->group_id ? t->group_id
                                                                : "";
    if (t->subscription_id)
        snprintf(out, cap, "%s:%.100s subscription:%.100s", kind, id, t->subscription_id);
    else
        snprintf(out, cap, "%s:%.200s", kind, id);
}

/* What the store says about the target (consents, groups, the device's opt-out), from the
 * consent cache when no write has happened since it was read (nb_dcache.c). */
static int targets_of(struct expose_nb *nb, const struct expose_target *t, struct nb_consents *cs,
                      bool *opted_out)
{
    const char *id = t->kind == RESOURCE_DEVICE  ? t->supi
                     : t->kind == RESOURCE_GROUP ? t->group_id
                                                 : NULL;
    *opted_out = false;
    if (id == NULL) { /* an area: no consent to read */
        cs->n = cs->n_groups = cs->used = 0;
        return IOTSEC_OK;
    }
    if (nb_dcache_get(nb->dcache, t, id, cs, opted_out))
        return IOTSEC_OK;
    uint64_t gen = nb_dcache_gen(nb->dcache); /* before reading: a write after it voids us */
    struct store_conn *c;
    int rc = store_reader_get(nb->store, &c);
    if (rc == IOTSEC_OK)
        rc = nb_store_consents(c, t, cs);
    if (rc == IOTSEC_OK && t->kind == RESOURCE_DEVICE)
        rc = nb_store_opted_out(c, t->supi, opted_out);
    if (rc == IOTSEC_OK)
        nb_dcache_put(nb->dcache, gen, t, id, cs, *opted_out);
    return rc;
}

int expose_nb_decide(struct expose_nb *nb, const struct expose_af *af, enum action a,
                     const struct expose_target *t, const char *request_id,
                     struct authz_result *res, char *consent_id_out)
{
    struct nb_af cur;
    struct principal p = af->principal;
    p.id = af->af_id;
    /* services as registered NOW (a disabled AF has none) */
    p.services = nb_af_find(nb, af->af_id, NULL, &cur) && cur.active ? cur.services : 0;
    struct nb_consents *cs = malloc(sizeof(*cs));
    if (cs == NULL)
        return IOTSEC_ERR_NOMEM;
    bool opted_out = false;
    int rc = targets_of(nb, t, cs, &opted_out);
    if (rc != IOTSEC_OK) {
        free(cs);
        return rc;
    }
    opted_out = opted_out && t->service == EXPOSE_SVC_MONITORING_EVENT;
    opted_out = opted_out || t->monitoring_opt_out;
    struct resource r = {.kind = t->kind,
                         .id = t->kind == RESOURCE_DEVICE ? t->supi : t->group_id,
                         .groups = cs->groups,
                         .n_groups = cs->n_groups,
                         .owner_af = t->owner_af,
                         .service = t->service,
                         .monitoring_opt_out = opted_out,
                         .consents = cs->c,
                         .n_consents = cs->n};
    if (t->kind == RESOURCE_AREA)
        r.id = "area";
    *res = authz_decide(&p, a, &r, nb_now());
    if (consent_id_out)
        snprintf(consent_id_out, EXPOSE_ID_MAX + 1, "%s", res->consent_id ? res->consent_id : "");
    res->consent_id = NULL;
    free(cs);
    char text[NB_AUDIT_TEXT];
    resource_text(t, text, sizeof(text));
    return nb_audit_add(&nb->audit, nb_now_ms(), af->af_id, authz_action_str(a), text, res->allow,
                        authz_reason_code(res->reason), request_id ? request_id : "notify");
}

/* The audit could not be queued: the request is not served (an allowed request would go
 * unrecorded), and the client comes back in a second. */
static int answer_busy(struct http_request *req, int rc)
{
    http_response_header(req, "Retry-After", "1");
    http_respond_problem(req, 503, NULL, "the authorisation service is busy", NULL, NULL, 0);
    return rc;
}

int expose_nb_authorize(struct expose_nb *nb, struct http_request *req, const struct expose_af *af,
                        enum action a, const struct expose_target *t, struct authz_result *res)
{
    int rc = expose_nb_decide(nb, af, a, t, http_request_id(req), res, NULL);
    if (rc != IOTSEC_OK)
        return answer_busy(req, rc);
    if (res->allow)
        return IOTSEC_OK;
    http_respond_problem(req, 403, NULL, authz_reason_str(res->reason),
                         authz_reason_code(res->reason), NULL, 0);
    return IOTSEC_ERR_AUTH;
}

int expose_nb_audit(struct expose_nb *nb, const struct expose_af *af, const char *action,
                    const char *resource, bool allow, const char *reason, const char *request_id)
{
    return nb_audit_add(&nb->audit, nb_now_ms(), af->af_id, action, resource, allow, reason,
                        request_id);
}

int expose_nb_audit_allow(struct expose_nb *nb, struct http_request *req,
                          const struct expose_af *af, const char *action, const char *resource,
                          const char *reason)
{
    int rc = expose_nb_audit(nb, af, action, resource, true, reason, http_request_id(req));
    return rc == IOTSEC_OK ? IOTSEC_OK : answer_busy(req, rc);
}

int expose_nb_af_destinations(struct expose_nb *nb, const char *af_id, struct outbound_rules *rules)
{
    bool found = false;
    pthread_rwlock_rdlock(&nb->lock);
    for (size_t i = 0; i < nb->n_afs && !found; i++)
        if (strcmp(nb->afs[i].af_id, af_id) == 0) {
            memcpy(rules->allow, nb->afs[i].dest.allow, sizeof(rules->allow));
            rules->n_allow = nb->afs[i].dest.n_allow;
            found = true;
        }
    pthread_rwlock_unlock(&nb->lock);
    return found ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

int expose_nb_af_current(struct expose_nb *nb, const char *af_id, struct expose_af *out)
{
    memset(out, 0, sizeof(*out));
    struct nb_af a;
    if (af_id == NULL || !nb_af_find(nb, af_id, NULL, &a))
        return IOTSEC_ERR_NOTFOUND;
    snprintf(out->af_id, sizeof(out->af_id), "%s", a.af_id);
    snprintf(out->cert_sha256_hex, sizeof(out->cert_sha256_hex), "%s", a.cert_sha256_hex);
    out->services = out->token_scopes = a.active ? a.services : 0;
    out->principal.kind = PRINCIPAL_AF;
    out->principal.services = out->principal.token_scopes = out->services;
    expose_af_fix(out);
    return a.active ? IOTSEC_OK : IOTSEC_ERR_STATE;
}
