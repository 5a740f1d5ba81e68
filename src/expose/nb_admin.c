/* The operator's side of exposure, on the admin face (pinned admin certificate):
 *   POST /admin/v1/afs                          register {name, cert_pem, services[],
 *                                               allow_destinations[] (optional)}
 *   GET  /admin/v1/afs[?state=active|disabled&service=&after=&limit=]  {"afs": [...], "next"}
 *   GET  /admin/v1/afs/{afId}                   one AF
 *   PATCH /admin/v1/afs/{afId}                  {allow_destinations[]}: replaces the list
 *   POST /admin/v1/afs/{afId}/disable|enable
 *   POST /admin/v1/expose/signing-keys/rotate   new signing key; the old ones still verify
 *   POST /admin/v1/expose/signing-keys/{kid}/retire
 * (consents and groups: nb_consent.c; audit: nb_audit_http.c). Writes are small jobs that
 * this handler waits for (store_write_sync): the admin face has its own worker and these are
 * rare operator actions; the in-memory state is updated after the commit. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/rand.h"
#include "expose/nb_admin.h"
#include "http/query.h"

bool nb_admin_ok(struct http_request *req, struct expose_nb *nb)
{
    if (http_request_principal(req) != NULL) /* named by the face's gate (account.h) */
        return true;
    const struct http_peer *peer = http_request_peer(req);
    if (peer->has_cert && nb->admin_fp && strcmp(peer->cert_sha256_hex, nb->admin_fp) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL,
                         0);
    return false;
}

void nb_random_id(const char *prefix, char *out, size_t cap)
{
    uint8_t r[8];
    char hex[17];
    crypto_random(r, sizeof(r));
    hex_encode(r, sizeof(r), hex);
    snprintf(out, cap, "%s%s", prefix, hex);
}

void nb_store_failed(struct http_request *req, int rc)
{
    http_respond_error(req, rc, NULL);
}

void nb_admin_audit(struct expose_nb *nb, struct http_request *req, const char *action,
                    const char *resource)
{
    /* the change is committed already: a full queue loses the record, not the change */
    const char *who = http_request_principal(req); /* the operator's account, or "admin" */
    nb_audit_add(&nb->audit, nb_now_ms(), who ? who : "admin", action, resource, true, "ALLOW_ADMIN",
                 http_request_id(req));
}

bool nb_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > EXPOSE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* ---- AFs ---- */

struct af_job {
    const char *af_id, *name, *pem, *fp, *state;
    const char *dest; /* allow_destinations as text ("" none) */
    uint32_t services;
};

static int af_insert(struct store_conn *c, void *arg)
{
    struct af_job *j = arg;
    struct store_stmt *st;
    int rc = store_stmt(c, "INSERT INTO expose_afs (af_id, name, cert_sha256, cert_pem, services,"
                           " state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    int64_t now = nb_now();
    store_bind_text(st, 1, j->af_id, -1);
    store_bind_text(st, 2, j->name, -1);
    store_bind_text(st, 3, j->fp, -1);
    store_bind_text(st, 4, j->pem, -1);
    store_bind_int64(st, 5, j->services);
    store_bind_int64(st, 6, now);
    store_bind_int64(st, 7, now);
    int s = store_step(st);
    store_reset(st);
    if (s != STORE_DONE)
        return store_error(c, s);
    return j->dest[0] ? nb_store_af_set_destinations(c, j->af_id, j->dest) : IOTSEC_OK;
}

static int af_set_dest(struct store_conn *c, void *arg)
{
    struct af_job *j = arg;
    return nb_store_af_set_destinations(c, j->af_id, j->dest);
}

/* allow_destinations: an array of "CIDR[:port]" strings (absent: none) -> text. */
static bool dest_decode(const json_t *arr, char *text, size_t cap)
{
    struct outbound_rules r = {0};
    const char *why;
    size_t i;
    json_t *v;
    if (arr == NULL) {
        text[0] = 0;
        return true;
    }
    if (!json_is_array(arr) || json_array_size(arr) > OUTBOUND_ALLOW_MAX)
        return false;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || strchr(s, ',') || *s == 0 || r.n_allow != i ||
            outbound_allow_parse(s, &r, &why) != IOTSEC_OK || r.n_allow != i + 1)
            return false;
    }
    outbound_allow_format(&r, text, cap);
    return true;
}

static int af_set_state(struct store_conn *c, void *arg)
{
    struct af_job *j = arg;
    return nb_store_af_set_state(c, j->af_id, j->state);
}

/* The SHA-256 (hex) of the DER of the one certificate in pem. */
static int pem_fingerprint(const char *pem, char hex[65])
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (x == NULL)
        return IOTSEC_ERR_INVALID;
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    X509_free(x);
    if (len <= 0)
        return IOTSEC_ERR_INVALID;
    uint8_t fp[JWT_X5T_LEN];
    jwt_cert_thumbprint(der, (size_t)len, fp);
    OPENSSL_free(der);
    hex_encode(fp, sizeof(fp), hex);
    return IOTSEC_OK;
}

static json_t *af_json(const struct nb_af *a)
{
    char scope[128], text[OUTBOUND_ALLOW_TEXT];
    nb_services_scope(a->services, scope, sizeof(scope));
    outbound_allow_format(&a->dest, text, sizeof(text));
    json_t *dest = json_array();
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, ",");
        json_array_append_new(dest, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "af_id", a->af_id, "name", a->name,
                     "cert_sha256", a->cert_sha256_hex, "services", scope, "state",
                     a->active ? "active" : "disabled", "allow_destinations", dest);
}

static const char DEST_HINT[] = "an array of at most 16 \"CIDR[:port]\" (a.b.c.d[/n][:port], "
                                "[v6addr][/n][:port])";

static void handle_af_add(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    json_t *o = http_request_json(req);
    if (o == NULL)
        return;
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *pem = json_string_value(json_object_get(o, "cert_pem"));
    json_t *svcs = json_object_get(o, "services");
    uint32_t services = 0;
    bool bad_service = !json_is_array(svcs) || json_array_size(svcs) == 0;
    size_t i;
    json_t *v;
    json_array_foreach(svcs, i, v)
    {
        uint32_t s = expose_service_from_name(json_string_value(v));
        bad_service |= s == 0;
        services |= s;
    }
    char dest[OUTBOUND_ALLOW_TEXT];
    bool dest_ok = dest_decode(json_object_get(o, "allow_destinations"), dest, sizeof(dest));
    struct af_job j = {.name = name, .pem = pem, .services = services, .dest = dest};
    char fp[65], af_id[EXPOSE_ID_MAX + 1];
    struct http_invalid_param ip[1];
    if (name == NULL || strlen(name) == 0 || strlen(name) > EXPOSE_AF_NAME_MAX)
        ip[0] = (struct http_invalid_param){"name", "1 to 128 characters"};
    else if (pem == NULL || pem_fingerprint(pem, fp) != IOTSEC_OK)
        ip[0] = (struct http_invalid_param){"cert_pem", "not a PEM certificate"};
    else if (bad_service)
        ip[0] = (struct http_invalid_param){"services", "known services: monitoring-event, "
                                                        "as-session-with-qos, pin"};
    else if (!dest_ok)
        ip[0] = (struct http_invalid_param){"allow_destinations", DEST_HINT};
    else
        ip[0].param = NULL;
    if (ip[0].param) {
        http_respond_problem(req, 400, NULL, "invalid application function", NULL, ip, 1);
        json_decref(o);
        return;
    }
    struct nb_af existing;
    pthread_rwlock_rdlock(&nb->lock);
    bool full = nb->n_afs >= NB_AF_MAX;
    pthread_rwlock_unlock(&nb->lock);
    if (full) { /* the registry in memory holds every AF: refuse rather than lose one */
        http_respond_problem(req, 409, NULL, "the AF registry is full", NULL, NULL, 0);
        json_decref(o);
        return;
    }
    if (nb_af_find(nb, NULL, fp, &existing)) {
        http_respond_problem(req, 409, NULL, "this certificate is registered to another AF",
                             NULL, NULL, 0);
        json_decref(o);
        return;
    }
    nb_random_id("af-", af_id, sizeof(af_id));
    j.af_id = af_id;
    j.fp = fp;
    int rc = nb_write_sync(nb, af_insert, &j);
    json_decref(o);
    if (rc == IOTSEC_OK)
        rc = nb_afs_reload(nb);
    if (rc != IOTSEC_OK) {
        nb_store_failed(req, rc);
        return;
    }
    char res[128];
    snprintf(res, sizeof(res), "af:%s", af_id);
    nb_admin_audit(nb, req, "af.register", res);
    http_respond_json(req, 201, json_pack("{s:s, s:s}", "af_id", af_id, "cert_sha256", fp));
}

static int af_id_cmp(const void *a, const void *b)
{
    const struct nb_af *x = *(const struct nb_af *const *)a, *y = *(const struct nb_af *const *)b;
    return strcmp(x->af_id, y->af_id);
}

static bool af_svc_ok(const char *s)
{
    return expose_services_from_scope(s) != 0;
}

/* ?state=active|disabled&service=&after=&limit= ; by af_id (the registry is in memory and
 * bounded: NB_AF_MAX). */
static void handle_af_list(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    static const char *const states[] = {"active", "disabled", NULL};
    static const struct http_qspec spec[] = {
        HTTP_QSPEC_AFTER_KEY,
        HTTP_QSPEC_LIMIT,
        {.name = "state", .type = HTTP_Q_ENUM, .values = states, .reason = "active or disabled"},
        {.name = "service", .type = HTTP_Q_STR, .valid = af_svc_ok,
         .reason = "monitoring-event, as-session-with-qos or pin"},
    };
    struct http_qval q[4];
    if (!nb_admin_ok(req, nb) || !http_query_parse(req, spec, 4, q))
        return;
    size_t limit = http_query_limit(&q[1]);
    uint32_t svc = q[3].set ? expose_services_from_scope(q[3].s) : 0;
    json_t *arr = json_array();
    char last[EXPOSE_ID_MAX + 1] = "";
    pthread_rwlock_rdlock(&nb->lock);
    const struct nb_af **pick = malloc((nb->n_afs + 1) * sizeof(*pick));
    size_t n = 0;
    for (size_t i = 0; pick && i < nb->n_afs; i++) {
        const struct nb_af *a = &nb->afs[i];
        if ((q[0].set && strcmp(a->af_id, q[0].s) <= 0) ||
            (q[2].set && a->active != (q[2].i == 0)) || (svc && (a->services & svc) != svc))
            continue;
        pick[n++] = a;
    }
    if (pick)
        qsort(pick, n, sizeof(*pick), af_id_cmp);
    for (size_t i = 0; i < n && i < limit; i++) {
        json_array_append_new(arr, af_json(pick[i]));
        snprintf(last, sizeof(last), "%s", pick[i]->af_id);
    }
    pthread_rwlock_unlock(&nb->lock);
    if (pick == NULL) {
        json_decref(arr);
        http_respond_error(req, IOTSEC_ERR_NOMEM, "afs");
        return;
    }
    free(pick);
    http_respond_page(req, "afs", arr, limit, json_string(last));
}

static void handle_af_show(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb) || !http_query_parse(req, NULL, 0, NULL))
        return;
    const char *id = http_request_param(req, "afId");
    struct nb_af af;
    if (!nb_id_valid(id) || !nb_af_find(nb, id, NULL, &af)) {
        http_respond_problem(req, 404, NULL, "no such AF", "AF_NOT_FOUND", NULL, 0);
        return;
    }
    http_respond_json(req, 200, af_json(&af));
}

static void handle_af_state(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    const char *action = http_request_param(req, "action");
    struct af_job j = {.af_id = http_request_param(req, "afId")};
    if (strcmp(action, "disable") == 0)
        j.state = "disabled";
    else if (strcmp(action, "enable") == 0)
        j.state = "active";
    else {
        http_respond_problem(req, 404, NULL, "unknown action (disable, enable)", NULL, NULL, 0);
        return;
    }
    int rc = nb_write_sync(nb, af_set_state, &j);
    if (rc == IOTSEC_OK)
        rc = nb_afs_reload(nb);
    if (rc != IOTSEC_OK) {
        nb_store_failed(req, rc);
        return;
    }
    nb_cache_clear(nb->cache);
    char res[128], act[32];
    snprintf(res, sizeof(res), "af:%s", j.af_id);
    snprintf(act, sizeof(act), "af.%s", action);
    nb_admin_audit(nb, req, act, res);
    struct nb_af a;
    if (!nb_af_find(nb, j.af_id, NULL, &a)) {
        nb_store_failed(req, IOTSEC_ERR_NOTFOUND);
        return;
    }
    http_respond_json(req, 200, af_json(&a));
}

static void handle_af_update(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    json_t *o = http_request_json(req);
    if (o == NULL)
        return;
    char dest[OUTBOUND_ALLOW_TEXT];
    json_t *arr = json_object_get(o, "allow_destinations");
    bool ok = arr && json_object_size(o) == 1 && dest_decode(arr, dest, sizeof(dest));
    json_decref(o);
    if (!ok) {
        struct http_invalid_param ip = {"allow_destinations", DEST_HINT};
        http_respond_problem(req, 400, NULL, "only allow_destinations can be changed", NULL, &ip,
                             1);
        return;
    }
    struct af_job j = {.af_id = http_request_param(req, "afId"), .dest = dest};
    int rc = nb_write_sync(nb, af_set_dest, &j);
    if (rc == IOTSEC_OK)
        rc = nb_afs_reload(nb);
    struct nb_af a;
    if (rc == IOTSEC_OK && !nb_af_find(nb, j.af_id, NULL, &a))
        rc = IOTSEC_ERR_NOTFOUND;
    if (rc != IOTSEC_OK) {
        nb_store_failed(req, rc);
        return;
    }
    char res[128];
    snprintf(res, sizeof(res), "af:%s", j.af_id);
    nb_admin_audit(nb, req, "af.allow_destinations", res);
    http_respond_json(req, 200, af_json(&a));
}

/* ---- signing keys ---- */

struct key_job {
    struct expose_nb *nb;
    struct jwt_key *key;
    const char *kid;
};

/* The keyset holds JWT_KEYSET_MAX keys: a rotation past that is refused here, in the same
 * transaction as the insert, so that the stored keys always fit at the next start. */
static int key_insert(struct store_conn *c, void *arg)
{
    struct key_job *j = arg;
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT count(*) FROM expose_signing_keys WHERE retired_at IS NULL",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    int s = store_step(st);
    int64_t n = s == STORE_ROW ? store_col_int64(st, 0) : -1;
    store_reset(st);
    if (n < 0)
        return store_error(c, s);
    if (n >= JWT_KEYSET_MAX)
        return IOTSEC_ERR_BUSY;
    return nb_store_key_insert(j->nb, c, j->key);
}

static int key_retire(struct store_conn *c, void *arg)
{
    struct key_job *j = arg;
    return nb_store_stamp(c, "UPDATE expose_signing_keys SET retired_at = ? WHERE kid = ? AND"
                             " retired_at IS NULL", nb_now(), j->kid);
}

static void handle_key_rotate(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    struct key_job j = {.nb = nb};
    int rc = jwt_key_generate(NULL, &j.key);
    if (rc == IOTSEC_OK)
        rc = nb_write_sync(nb, key_insert, &j);
    if (rc == IOTSEC_OK) {
        char kid[JWT_KID_MAX + 1];
        snprintf(kid, sizeof(kid), "%s", jwt_key_kid(j.key));
        rc = jwt_keyset_rotate(nb->keys, j.key);
        if (rc == IOTSEC_OK) {
            char res[128];
            snprintf(res, sizeof(res), "kid:%s", kid);
            nb_admin_audit(nb, req, "key.rotate", res);
            http_respond_json(req, 200, json_pack("{s:s}", "kid", kid));
            return;
        }
    }
    jwt_key_free(j.key);
    if (rc == IOTSEC_ERR_BUSY) {
        http_respond_problem(req, 409, NULL, "8 signing keys are accepted at most: retire an old "
                             "one first", NULL, NULL, 0);
        return;
    }
    nb_store_failed(req, rc);
}

static void handle_key_retire(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    struct key_job j = {.nb = nb, .kid = http_request_param(req, "kid")};
    /* the signing key cannot go: the keyset says so before the row changes */
    int rc = jwt_keyset_remove(nb->keys, j.kid);
    if (rc == IOTSEC_ERR_STATE) {
        http_respond_problem(req, 409, NULL, "the current signing key cannot be retired: rotate "
                             "first", NULL, NULL, 0);
        return;
    }
    if (rc == IOTSEC_OK)
        rc = nb_write_sync(nb, key_retire, &j);
    if (rc != IOTSEC_OK) {
        nb_store_failed(req, rc);
        return;
    }
    nb_cache_clear(nb->cache); /* tokens under that kid must now be refused */
    char res[128];
    snprintf(res, sizeof(res), "kid:%s", j.kid);
    nb_admin_audit(nb, req, "key.retire", res);
    http_respond_json(req, 200, json_pack("{s:s, s:b}", "kid", j.kid, "retired", 1));
}

int expose_admin_routes(struct expose_nb *nb, struct http_server *adm,
                        const char *admin_cert_sha256_hex)
{
    nb->admin_fp = admin_cert_sha256_hex;
    int rc = http_server_route(adm, "POST", "/admin/v1/afs", handle_af_add, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/afs", handle_af_list, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/afs/{afId}", handle_af_show, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "POST", "/admin/v1/afs/{afId}/{action}", handle_af_state, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "PATCH", "/admin/v1/afs/{afId}", handle_af_update, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "POST", "/admin/v1/expose/signing-keys/rotate",
                               handle_key_rotate, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "POST", "/admin/v1/expose/signing-keys/{kid}/retire",
                               handle_key_retire, nb);
    if (rc == IOTSEC_OK)
        rc = nb_consent_routes(nb, adm);
    if (rc == IOTSEC_OK)
        rc = nb_audit_routes(nb, adm);
    return rc;
}
