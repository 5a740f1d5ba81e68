/* The device face of PINs: POST /device/v1/pin/nonce, and POST /device/v1/pin/{op} whose body
 * is the envelope {supi, nonce, request, mac} (docs/pin.md). Every operation is proved by a
 * MAC under a key derived from the subscription's current K, over the op, a single-use server
 * nonce and the exact inner request bytes; then the subscription's roles decide. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/provision_crypto.h"
#include "crypto/supi.h"
#include "pin/pin_int.h"

#define NONCE_TTL_MS 120000
#define NONCES_MAX   100000
#define CAKEYS_MAX   4096 /* PINs whose opened CA key an instance keeps */

int64_t pin_now(void)
{
    return (int64_t)time(NULL);
}

int64_t pin_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pin_problem(struct http_request *req, int status, const char *cause, const char *detail,
                 const char *param)
{
    struct http_invalid_param ip = {param, detail};
    if (status == 503)
        http_response_header(req, "Retry-After", "1");
    http_respond_problem(req, status, NULL, detail, cause, param ? &ip : NULL, param ? 1 : 0);
}

void pin_failed(struct http_request *req, int rc)
{
    switch (rc) {
    case IOTSEC_ERR_NOTFOUND:
        pin_problem(req, 404, "NOT_FOUND", "no such item", NULL);
        break;
    case IOTSEC_ERR_CONFLICT:
        pin_problem(req, 409, "CONFLICT", "it exists already", NULL);
        break;
    case IOTSEC_ERR_INVALID:
        pin_problem(req, 400, "MALFORMED_BODY", "invalid request", NULL);
        break;
    case IOTSEC_ERR_BUSY:
        pin_problem(req, 503, "BUSY", "try again", NULL);
        break;
    default:
        pin_problem(req, 500, "INTERNAL", iotsec_strerror(rc), NULL);
    }
}

struct submitted {
    struct pin_write w;
    struct http_request *req;
    int status;
    json_t *answer;
};

static void submitted_done(void *arg, int rc)
{
    struct submitted *s = arg;
    if (rc == IOTSEC_OK)
        http_respond_json(s->req, s->status, s->answer);
    else {
        json_decref(s->answer);
        pin_failed(s->req, rc);
    }
    free(s);
}

void pin_submit(struct pin_ctx *x, struct pin_write *w, int status, json_t *answer)
{
    struct submitted *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        json_decref(answer);
        pin_failed(x->req, IOTSEC_ERR_NOMEM);
        return;
    }
    s->w = *w;
    s->w.now = pin_now();
    s->req = x->req;
    s->status = status;
    s->answer = answer;
    struct store_job job = {pin_write_run, submitted_done, s};
    if (http_request_defer(x->req) != IOTSEC_OK) {
        json_decref(answer);
        free(s);
        pin_failed(x->req, IOTSEC_ERR_STATE);
        return;
    }
    int rc = store_submit(x->p->store, &job);
    if (rc != IOTSEC_OK)
        submitted_done(s, rc);
}

const char *pin_in_id(struct pin_ctx *x, const char *name)
{
    const char *v = json_string_value(json_object_get(x->in, name));
    if (!pin_id_ok(v)) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "missing or not an identifier", name);
        return NULL;
    }
    return v;
}

static void handle_nonce(struct http_request *req, void *user)
{
    struct pin *p = user;
    uint8_t n[PIN_NONCE_LEN];
    if (pin_nonce_issue(p->nonces, pin_now_ms(), n) != IOTSEC_OK) {
        pin_problem(req, 503, "BUSY", "too many outstanding nonces", NULL);
        return;
    }
    char b[64];
    b64url_encode(n, sizeof(n), b);
    http_respond_json(req, 200,
                      json_pack("{s:s, s:i}", "nonce", b, "expires_in", NONCE_TTL_MS / 1000));
}

enum role { ROLE_ANY, ROLE_GATEWAY, ROLE_MANAGER };

static const struct op {
    const char *name;
    enum role role;
    void (*fn)(struct pin_ctx *);
} ops[] = {
    {"create", ROLE_MANAGER, pin_op_create},
    {"list", ROLE_ANY, pin_op_list},
    {"get", ROLE_ANY, pin_op_get},
    {"update", ROLE_MANAGER, pin_op_update},
    {"delete", ROLE_MANAGER, pin_op_delete},
    {"suspend-gateway", ROLE_MANAGER, pin_op_gw_suspend},
    {"resume-gateway", ROLE_MANAGER, pin_op_gw_resume},
    {"add-gateway", ROLE_MANAGER, pin_op_gw_add},
    {"remove-gateway", ROLE_MANAGER, pin_op_gw_remove},
    {"join", ROLE_GATEWAY, pin_op_join},
    {"approve", ROLE_MANAGER, pin_op_approve},
    {"refuse", ROLE_MANAGER, pin_op_refuse},
    {"remove", ROLE_MANAGER, pin_op_remove},
    {"auth", ROLE_GATEWAY, pin_op_auth},
    {"check", ROLE_GATEWAY, pin_op_check},
    {"grant-af", ROLE_MANAGER, pin_op_grant_af},
    {"enrol-code", ROLE_MANAGER, pin_op_enrol_code},
    {"revoke-af", ROLE_MANAGER, pin_op_revoke_af},
};

/* A base64url member of exactly want bytes (want 0: 1..cap bytes). */
static bool b64_member(json_t *o, const char *name, uint8_t *out, size_t cap, size_t want,
                       size_t *len)
{
    const char *s = json_string_value(json_object_get(o, name));
    size_t n = 0;
    if (s == NULL || b64url_decode(s, strlen(s), out, cap, &n) != IOTSEC_OK || n == 0 ||
        (want && n != want))
        return false;
    if (len)
        *len = n;
    return true;
}

/* The subscription's proof of the envelope: IOTSEC_OK, IOTSEC_ERR_AUTH (wrong MAC, unknown
 * subscription), IOTSEC_ERR_STATE (not allowed to authenticate now). */
static int verify_proof(struct pin_ctx *x, const char *op, const uint8_t *request,
                        size_t request_len, const uint8_t mac[PIN_MAC_LEN])
{
    struct sub_keys keys;
    int rc = subscriber_get_keys(x->p->store, x->p->kek, x->supi, &x->sub, &keys);
    if (rc == IOTSEC_ERR_NOTFOUND)
        return IOTSEC_ERR_AUTH;
    if (rc != IOTSEC_OK)
        return rc;
    uint8_t uk[PIN_KEY_LEN];
    rc = pin_ue_key(keys.k, sizeof(keys.k), x->supi, x->sub.cred_version, uk);
    secure_wipe(&keys, sizeof(keys));
    if (rc == IOTSEC_OK)
        rc = pin_request_verify(uk, op, x->nonce, request, request_len, mac);
    secure_wipe(uk, sizeof(uk));
    if (rc == IOTSEC_OK && sub_may_authenticate(&x->sub, pin_now()) != IOTSEC_OK)
        rc = IOTSEC_ERR_STATE;
    return rc;
}

static void handle_op(struct http_request *req, void *user)
{
    struct pin *p = user;
    const char *name = http_request_param(req, "op");
    const struct op *op = NULL;
    for (size_t i = 0; name && i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i].name, name) == 0)
            op = &ops[i];
    if (op == NULL) {
        pin_problem(req, 404, "UNKNOWN_OPERATION", "no such PIN operation", NULL);
        return;
    }
    size_t len;
    const char *body = http_request_body(req, &len);
    json_t *env = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    uint8_t mac[PIN_MAC_LEN], *request = malloc(PIN_REQUEST_MAX);
    size_t request_len = 0;
    struct pin_ctx x = {.p = p, .req = req};
    const char *supi = json_string_value(json_object_get(env, "supi"));
    struct supi parsed;
    const char *bad = NULL;
    if (request == NULL) {
        pin_failed(req, IOTSEC_ERR_NOMEM);
        json_decref(env);
        return;
    }
    if (!json_is_object(env))
        bad = "body";
    else if (supi == NULL || strlen(supi) > PIN_SUPI_MAX || supi_parse(supi, &parsed) != IOTSEC_OK)
        bad = "supi";
    else if (!b64_member(env, "nonce", x.nonce, sizeof(x.nonce), PIN_NONCE_LEN, NULL))
        bad = "nonce";
    else if (!b64_member(env, "mac", mac, sizeof(mac), PIN_MAC_LEN, NULL))
        bad = "mac";
    else if (!b64_member(env, "request", request, PIN_REQUEST_MAX, 0, &request_len))
        bad = "request";
    int rc = IOTSEC_OK;
    if (bad) {
        pin_problem(req, 400, "MALFORMED_BODY", "missing or wrongly encoded", bad);
        goto out;
    }
    /* the SUPI as the store writes it (canonical form) */
    supi_format(&parsed, x.supi, sizeof(x.supi));
    /* MAC before nonce: a forged request must not burn the legitimate client's nonce */
    rc = verify_proof(&x, op->name, request, request_len, mac);
    if (rc == IOTSEC_ERR_AUTH) {
        pin_problem(req, 401, "PROOF_INVALID", "the subscription's proof did not verify", NULL);
        goto out;
    }
    if (rc == IOTSEC_ERR_STATE) {
        pin_problem(req, 403, "SUBSCRIPTION_NOT_ACTIVE", "the subscription may not act now", NULL);
        goto out;
    }
    if (rc != IOTSEC_OK) {
        pin_failed(req, rc);
        goto out;
    }
    if (pin_nonce_take(p->nonces, pin_now_ms(), x.nonce) != IOTSEC_OK) {
        pin_problem(req, 401, "NONCE_INVALID", "nonce unknown, expired or used", NULL);
        goto out;
    }
    if ((rc = pin_roles_get(p->store, x.supi, &x.gateway, &x.manager)) != IOTSEC_OK) {
        pin_failed(req, rc);
        goto out;
    }
    if ((op->role == ROLE_GATEWAY && !x.gateway) || (op->role == ROLE_MANAGER && !x.manager) ||
        (op->role == ROLE_ANY && !x.gateway && !x.manager)) {
        pin_problem(req, 403, "ROLE_REQUIRED",
                    op->role == ROLE_GATEWAY   ? "the subscription has no PIN gateway role"
                    : op->role == ROLE_MANAGER ? "the subscription has no PIN manager role"
                                               : "the subscription has no PIN role",
                    NULL);
        goto out;
    }
    x.in = json_loadb((const char *)request, request_len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(x.in)) {
        pin_problem(req, 400, "MALFORMED_BODY", "the request is not a JSON object", "request");
        goto out;
    }
    op->fn(&x);
out:
    json_decref(x.in);
    json_decref(env);
    secure_wipe(request, PIN_REQUEST_MAX);
    free(request);
}

int pin_new(const struct pin_config *cfg, struct pin **out)
{
    *out = NULL;
    struct pin *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return IOTSEC_ERR_NOMEM;
    p->store = cfg->store;
    p->kek = cfg->kek;
    p->nb = cfg->nb;
    memcpy(p->admin_fp, cfg->admin_cert_sha256, sizeof(p->admin_fp));
    int rc = pin_nonces_new(NONCES_MAX, NONCE_TTL_MS, &p->nonces);
    if (rc == IOTSEC_OK)
        rc = pin_cakeys_new(CAKEYS_MAX, &p->cakeys);
    if (rc == IOTSEC_OK)
        rc = pin_views_new(&p->views);
    if (rc != IOTSEC_OK) {
        pin_nonces_free(p->nonces);
        pin_cakeys_free(p->cakeys);
        free(p);
        return rc;
    }
    *out = p;
    return IOTSEC_OK;
}

void pin_free(struct pin *p)
{
    if (p == NULL)
        return;
    pin_nonces_free(p->nonces);
    pin_cakeys_free(p->cakeys);
    pin_views_free(p->views);
    free(p);
}

void pin_tick(struct pin *p, int64_t now_ms)
{
    (void)p;
    (void)now_ms; /* nonces expire lazily (rebuilds); nothing is cached */
}

int pin_device_routes(struct pin *p, struct http_server *dev)
{
    int rc = http_server_route(dev, "POST", "/device/v1/pin/nonce", handle_nonce, p);
    if (rc == IOTSEC_OK)
        rc = http_server_route(dev, "POST", "/device/v1/pin/{op}", handle_op, p);
    return rc;
}
