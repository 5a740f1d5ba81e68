/* The device face (docs/provisioning.md): its routes, the nonce endpoint, and the helpers
 * its handlers share (prov_onboard_http.c, prov_cred_http.c). Handlers decode and check
 * everything they can on the worker (proofs, certificates, enrollment, limits), then hand one
 * write job to the store and answer from its completion, after the commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "crypto/ct.h"
#include "http/http.h"
#include "provision/prov_device.h"

int64_t dev_now_s(void)
{
    return (int64_t)time(NULL);
}

int64_t dev_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dev_problem(struct http_request *req, int status, const char *cause, const char *detail)
{
    if (status == 429 || status == 503)
        prov_count(PROV_C_LIMITED);
    else if (status < 500)
        prov_count(PROV_C_REFUSED);
    http_respond_problem(req, status, NULL, detail, cause, NULL, 0);
}

void dev_bad_field(struct http_request *req, const char *field, const char *reason)
{
    prov_count(PROV_C_REFUSED);
    char ptr[80];
    snprintf(ptr, sizeof(ptr), "%s%s", field[0] == '/' ? "" : "/", field);
    http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", ptr, reason);
}

void dev_retry_after(struct http_request *req, uint32_t s)
{
    char v[16];
    snprintf(v, sizeof(v), "%u", s);
    http_response_header(req, "Retry-After", v);
}

void dev_store_problem(struct http_request *req, int rc)
{
    if (rc == IOTSEC_ERR_BUSY || rc == IOTSEC_ERR_FULL || rc == IOTSEC_ERR_NOMEM)
        prov_count(PROV_C_LIMITED);
    else
        log_msg(LOG_ERROR, http_request_id(req), "provisioning store failure: %s",
                iotsec_strerror(rc));
    http_respond_error(req, rc, "provisioning");
}

/* ---- decoding ---- */

bool dev_parse_body(struct http_request *req, struct dev_body *b)
{
    b->o = http_request_json(req);
    if (b->o == NULL)
        prov_count(PROV_C_REFUSED);
    return b->o != NULL;
}

const char *dev_str_field(struct http_request *req, json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    if (v == NULL)
        dev_bad_field(req, name, "a string is required");
    return v;
}

bool dev_bin_field(struct http_request *req, json_t *o, const char *name, uint8_t *out,
                      size_t want)
{
    const char *v = json_string_value(json_object_get(o, name));
    size_t got = 0;
    if (v == NULL || b64url_decode(v, strlen(v), out, want, &got) != IOTSEC_OK || got != want) {
        char reason[64];
        snprintf(reason, sizeof(reason), "%zu bytes in base64url without padding", want);
        dev_bad_field(req, name, reason);
        return false;
    }
    return true;
}

bool dev_reg_id_field(struct http_request *req, json_t *o, char out[PROV_REG_ID_MAX + 1])
{
    const char *v = dev_str_field(req, o, "registration_id");
    if (v == NULL)
        return false;
    if (!prov_id_valid(v, strlen(v))) {
        dev_bad_field(req, "registration_id", "1..128 visible ASCII characters");
        return false;
    }
    snprintf(out, PROV_REG_ID_MAX + 1, "%s", v);
    return true;
}

/* ---- relay ---- */

/* The gateway behind a relayed request, or 0 after answering 403. */
int64_t dev_relay_gateway(struct http_request *req, struct store_conn *c)
{
    const struct http_peer *peer = http_request_peer(req);
    int64_t id = peer->has_cert ? prov_gateway_by_cert(c, peer->cert_sha256_hex) : 0;
    if (id == 0)
        dev_problem(req, 403, "GATEWAY_NOT_REGISTERED",
                "relaying needs the client certificate of a registered gateway");
    return id;
}

bool dev_gateway_allowed(struct http_request *req, struct store_conn *c, int64_t gw,
                            int64_t enrollment)
{
    bool ok = prov_gateway_serves(c, gw, enrollment);
    if (!ok)
        dev_problem(req, 403, "GATEWAY_NOT_ALLOWED",
                "this gateway may not relay for the device's enrollment");
    return ok;
}

/* ---- answers ---- */

void dev_respond_envelope(struct http_request *req, const uint8_t *env, size_t len)
{
    char *b64 = malloc(b64url_len(len) + 1);
    if (b64 == NULL) {
        dev_problem(req, 503, "BUSY", "out of memory");
        return;
    }
    b64url_encode(env, len, b64);
    http_respond_json(req, 200, json_pack("{s:s}", "envelope", b64));
    free(b64);
}

static void job_done(void *arg, int rc)
{
    struct prov_job *j = arg;
    struct http_request *req = j->req;
    switch (j->fail) {
    case PROV_FAIL_NONE:
        break;
    case PROV_FAIL_DISABLED:
        dev_problem(req, 403, "ENROLLMENT_DISABLED", "the device's enrollment is disabled");
        goto out;
    case PROV_FAIL_QUOTA:
        dev_retry_after(req, 3600);
        dev_problem(req, 429, "QUOTA_EXCEEDED", "the enrollment's device quota is used up");
        goto out;
    case PROV_FAIL_EXHAUSTED:
        dev_retry_after(req, 3600);
        dev_problem(req, 503, "SUPI_RANGE_EXHAUSTED", "the enrollment's SUPI range is used up");
        goto out;
    case PROV_FAIL_REPROVISION:
        dev_problem(req, 409, "REPROVISION_REFUSED", "the device may not be provisioned again");
        goto out;
    case PROV_FAIL_SUPI_TAKEN:
        dev_problem(req, 409, "SUPI_CONFLICT",
                "the SUPI pre-bound to this device by bulk activation is in use");
        goto out;
    case PROV_FAIL_OTHER_DEVICE:
        dev_problem(req, 409, "REGISTRATION_CONFLICT",
                    "this registration id belongs to a device registered otherwise");
        goto out;
    case PROV_FAIL_NOTFOUND:
        dev_problem(req, 404, "REGISTRATION_NOT_FOUND", "the device never onboarded");
        goto out;
    case PROV_FAIL_VERSION:
        dev_problem(req, 401, j->kind == PROV_JOB_CONFIRM ? "CONFIRMATION_INVALID" : "PROOF_INVALID",
                "not the current credential version");
        goto out;
    }
    if (rc == IOTSEC_OK) {
        prov_count(j->kind == PROV_JOB_CONFIRM  ? PROV_C_CONFIRMED
                   : j->kind == PROV_JOB_ROTATE ? PROV_C_ROTATIONS
                                                : PROV_C_ONBOARD_NEW);
        if (j->kind == PROV_JOB_ONBOARD && j->gateway_id)
            prov_count(PROV_C_RELAYED);
    }
    if (rc != IOTSEC_OK)
        dev_store_problem(req, rc);
    else if (j->kind == PROV_JOB_CONFIRM)
        http_respond_json(req, 200, json_pack("{s:s, s:I}", "state", j->sub_state,
                                              "credential_version", (json_int_t)j->out_version));
    else
        dev_respond_envelope(req, j->envelope, j->envelope_len);
out:
    prov_job_free(j);
}

void dev_submit(struct provision *p, struct http_request *req, struct prov_job *j)
{
    j->p = p;
    j->req = req;
    http_request_defer(req);
    struct store_job sj = {prov_job_run, job_done, j};
    int rc = store_submit(p->store, &sj);
    if (rc != IOTSEC_OK)
        job_done(j, rc);
}

void dev_add_hn_key(enum suci_scheme scheme, uint8_t key_id, const uint8_t *pub,
                       size_t pub_len, void *ctx)
{
    struct prov_hn_list *l = ctx;
    if (l->n >= PROV_HN_KEYS_MAX || pub_len > PROV_HN_PUB_MAX || scheme == SUCI_SCHEME_NULL)
        return;
    size_t at = 0; /* ids strictly increasing in a bundle: keep them sorted, one per id */
    while (at < l->n && l->keys[at].id < key_id)
        at++;
    if (at < l->n && l->keys[at].id == key_id)
        return;
    memmove(&l->keys[at + 1], &l->keys[at], (l->n - at) * sizeof(l->keys[0]));
    l->keys[at] = (struct prov_hn_key){.id = key_id, .scheme = (uint8_t)scheme,
                                       .pub_len = (uint8_t)pub_len};
    memcpy(l->keys[at].pub, pub, pub_len);
    l->n++;
}

struct prov_job *dev_job_new(struct http_request *req, enum prov_job_kind kind)
{
    struct prov_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        dev_problem(req, 503, "BUSY", "out of memory");
    else {
        j->kind = kind;
        j->now = dev_now_s();
    }
    return j;
}

/* ---- nonce ---- */

static void handle_nonce(struct http_request *req, void *user)
{
    struct provision *p = user;
    uint8_t n[PROV_NONCE_LEN];
    int rc = prov_nonce_issue(p->nonces, dev_now_s(), n);
    if (rc == IOTSEC_OK)
        prov_count(PROV_C_NONCES);
    if (rc != IOTSEC_OK) {
        dev_retry_after(req, 1);
        dev_problem(req, 503, "BUSY", "too many outstanding nonces");
        return;
    }
    char b64[64];
    b64url_encode(n, sizeof(n), b64);
    http_respond_json(req, 200, json_pack("{s:s, s:i}", "nonce", b64, "expires_in",
                                          PROV_NONCE_TTL_S));
}

static void h_onboard(struct http_request *req, void *u) { prov_dev_onboard(u, req, false); }
static void h_confirm(struct http_request *req, void *u) { prov_dev_confirm(u, req, false); }
static void h_rotate(struct http_request *req, void *u) { prov_dev_rotate(u, req, false); }
static void h_relay_onboard(struct http_request *req, void *u) { prov_dev_onboard(u, req, true); }
static void h_relay_confirm(struct http_request *req, void *u) { prov_dev_confirm(u, req, true); }
static void h_relay_rotate(struct http_request *req, void *u) { prov_dev_rotate(u, req, true); }

int provision_device_routes(struct provision *p, struct http_server *dev)
{
    static const struct {
        const char *path;
        http_handler_fn fn;
    } routes[] = {
        {"/device/v1/nonce", handle_nonce},
        {"/device/v1/onboard", h_onboard},
        {"/device/v1/confirm", h_confirm},
        {"/device/v1/rotate", h_rotate},
        {"/device/v1/relay/onboard", h_relay_onboard},
        {"/device/v1/relay/confirm", h_relay_confirm},
        {"/device/v1/relay/rotate", h_relay_rotate},
    };
    int rc = IOTSEC_OK;
    for (size_t i = 0; rc == IOTSEC_OK && i < sizeof(routes) / sizeof(routes[0]); i++)
        rc = http_server_route(dev, "POST", routes[i].path, routes[i].fn, p);
    return rc;
}
