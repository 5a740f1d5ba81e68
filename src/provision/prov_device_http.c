/* The device face (docs/provisioning.md): nonces, onboarding, confirmation, rotation, and the
 * same three relayed by a registered gateway. Handlers decode and check everything they can
 * on the worker (proofs, certificates, enrollment, limits), then hand one write job to the
 * store and answer from its completion, after the commit. */
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aka/aka.h"
#include "base/err.h"
#include "base/log.h"
#include "crypto/ct.h"
#include "http/http.h"
#include "provision/prov_int.h"
#include "subscriber/subscriber.h"

#define MAX_CANDIDATES 64
#define MAX_MANUFACTURERS 16
#define CERT_DER_MAX 8192
#define CHAIN_MAX 4

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void problem(struct http_request *req, int status, const char *cause, const char *detail)
{
    http_respond_problem(req, status, NULL, detail, cause, NULL, 0);
}

static void bad_field(struct http_request *req, const char *field, const char *reason)
{
    struct http_invalid_param ip = {field, reason};
    char detail[128];
    snprintf(detail, sizeof(detail), "%s: %s", field, reason);
    http_respond_problem(req, 400, NULL, detail, "MALFORMED_BODY", &ip, 1);
}

static void retry_after(struct http_request *req, uint32_t s)
{
    char v[16];
    snprintf(v, sizeof(v), "%u", s);
    http_response_header(req, "Retry-After", v);
}

static void store_problem(struct http_request *req, int rc)
{
    if (rc == IOTSEC_ERR_BUSY) {
        retry_after(req, 1);
        problem(req, 503, "BUSY", "the database is busy");
        return;
    }
    log_msg(LOG_ERROR, http_request_id(req), "provisioning store failure: %s",
            iotsec_strerror(rc));
    problem(req, 500, NULL, "internal error");
}

/* ---- decoding ---- */

struct body {
    json_t *o;
};

static bool parse_body(struct http_request *req, struct body *b)
{
    size_t len;
    const char *s = http_request_body(req, &len);
    json_error_t err;
    b->o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &err);
    if (b->o == NULL || !json_is_object(b->o)) {
        json_decref(b->o);
        b->o = NULL;
        bad_field(req, "/", "the body is not a JSON object");
        return false;
    }
    return true;
}

static const char *str_field(struct http_request *req, json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    if (v == NULL)
        bad_field(req, name, "a string is required");
    return v;
}

static bool bin_field(struct http_request *req, json_t *o, const char *name, uint8_t *out,
                      size_t want)
{
    const char *v = json_string_value(json_object_get(o, name));
    size_t got = 0;
    if (v == NULL || prov_b64_decode(v, strlen(v), out, want, &got) != IOTSEC_OK || got != want) {
        char reason[64];
        snprintf(reason, sizeof(reason), "%zu bytes in base64url without padding", want);
        bad_field(req, name, reason);
        return false;
    }
    return true;
}

static bool reg_id_field(struct http_request *req, json_t *o, char out[PROV_REG_ID_MAX + 1])
{
    const char *v = str_field(req, o, "registration_id");
    if (v == NULL)
        return false;
    if (!prov_id_valid(v, strlen(v))) {
        bad_field(req, "registration_id", "1..128 visible ASCII characters");
        return false;
    }
    snprintf(out, PROV_REG_ID_MAX + 1, "%s", v);
    return true;
}

/* ---- relay ---- */

/* The gateway behind a relayed request, or 0 after answering 403. */
static int64_t relay_gateway(struct http_request *req, struct store_conn *c)
{
    const struct http_peer *peer = http_request_peer(req);
    int64_t id = 0;
    sqlite3_stmt *st;
    if (peer->has_cert &&
        store_stmt(c, "SELECT id FROM prov_gateways WHERE cert_sha256 = ?", &st) == IOTSEC_OK) {
        sqlite3_bind_text(st, 1, peer->cert_sha256_hex, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    if (id == 0)
        problem(req, 403, "GATEWAY_NOT_REGISTERED",
                "relaying needs the client certificate of a registered gateway");
    return id;
}

static bool gateway_allowed(struct http_request *req, struct store_conn *c, int64_t gw,
                            int64_t enrollment)
{
    sqlite3_stmt *st;
    bool ok = false;
    if (store_stmt(c, "SELECT 1 FROM prov_gateway_enrollments WHERE gateway_id = ?"
                      " AND enrollment_id = ?", &st) == IOTSEC_OK) {
        sqlite3_bind_int64(st, 1, gw);
        sqlite3_bind_int64(st, 2, enrollment);
        ok = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
    }
    if (!ok)
        problem(req, 403, "GATEWAY_NOT_ALLOWED",
                "this gateway may not relay for the device's enrollment");
    return ok;
}

/* ---- answers ---- */

static void respond_envelope(struct http_request *req, const uint8_t *env, size_t len)
{
    char *b64 = malloc(prov_b64_len(len) + 1);
    if (b64 == NULL) {
        problem(req, 503, "BUSY", "out of memory");
        return;
    }
    prov_b64_encode(env, len, b64);
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
        problem(req, 403, "ENROLLMENT_DISABLED", "the device's enrollment is disabled");
        goto out;
    case PROV_FAIL_QUOTA:
        retry_after(req, 3600);
        problem(req, 429, "QUOTA_EXCEEDED", "the enrollment's device quota is used up");
        goto out;
    case PROV_FAIL_EXHAUSTED:
        retry_after(req, 3600);
        problem(req, 503, "SUPI_RANGE_EXHAUSTED", "the enrollment's SUPI range is used up");
        goto out;
    case PROV_FAIL_REPROVISION:
        problem(req, 409, "REPROVISION_REFUSED", "the device may not be provisioned again");
        goto out;
    case PROV_FAIL_SUPI_TAKEN:
        problem(req, 409, "SUPI_CONFLICT",
                "the SUPI pre-bound to this device by bulk activation is in use");
        goto out;
    case PROV_FAIL_NOTFOUND:
        problem(req, 404, "REGISTRATION_NOT_FOUND", "the device never onboarded");
        goto out;
    case PROV_FAIL_VERSION:
        problem(req, 401, j->kind == PROV_JOB_CONFIRM ? "CONFIRMATION_INVALID" : "PROOF_INVALID",
                "not the current credential version");
        goto out;
    }
    if (rc != IOTSEC_OK)
        store_problem(req, rc);
    else if (j->kind == PROV_JOB_CONFIRM)
        http_respond_json(req, 200, json_pack("{s:s, s:I}", "state", j->sub_state,
                                              "credential_version", (json_int_t)j->out_version));
    else
        respond_envelope(req, j->envelope, j->envelope_len);
out:
    prov_job_free(j);
}

static void submit(struct provision *p, struct http_request *req, struct prov_job *j)
{
    j->p = p;
    j->req = req;
    http_request_defer(req);
    struct store_job sj = {prov_job_run, job_done, j};
    int rc = store_submit(p->store, &sj);
    if (rc != IOTSEC_OK)
        job_done(j, rc);
}

static void add_hn_key(enum suci_scheme scheme, uint8_t key_id, const uint8_t *pub,
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

static struct prov_job *job_new(struct http_request *req, enum prov_job_kind kind)
{
    struct prov_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        problem(req, 503, "BUSY", "out of memory");
    else {
        j->kind = kind;
        j->now = now_s();
    }
    return j;
}

/* ---- nonce ---- */

static void handle_nonce(struct http_request *req, void *user)
{
    struct provision *p = user;
    uint8_t n[PROV_NONCE_LEN];
    int rc = prov_nonce_issue(p->nonces, now_s(), n);
    if (rc != IOTSEC_OK) {
        retry_after(req, 1);
        problem(req, 503, "BUSY", "too many outstanding nonces");
        return;
    }
    char b64[64];
    prov_b64_encode(n, sizeof(n), b64);
    http_respond_json(req, 200, json_pack("{s:s, s:i}", "nonce", b64, "expires_in",
                                          PROV_NONCE_TTL_S));
}

/* ---- onboarding ---- */

struct proof_ctx {
    struct provision *p;
    struct store_conn *c;
    const int64_t *mfr; /* manufacturers the certificate chains to */
    size_t n_mfr;
    const uint8_t *mac; /* derived key */
    const struct prov_onboard_ctx *octx;
    size_t tried; /* derived-key enrollments whose key was tried */
};

static bool proves(const struct prov_enrollment *e, void *arg)
{
    struct proof_ctx *pc = arg;
    if (!e->derived_key) {
        for (size_t i = 0; i < pc->n_mfr; i++)
            if (e->manufacturer_id == 0 ? e->individual : e->manufacturer_id == pc->mfr[i])
                return true;
        return false;
    }
    uint8_t gk[PROV_GROUP_KEY_MAX], dk[PROV_KEY_LEN];
    size_t gk_len = 0;
    bool ok = false;
    if (prov_group_key_get(pc->c, pc->p->kek, e->id, gk, &gk_len) == IOTSEC_OK) {
        pc->tried++;
        ok = prov_device_key(gk, gk_len, pc->octx->reg_id, pc->octx->reg_id_len, dk) ==
                 IOTSEC_OK &&
             prov_proof_verify(dk, pc->octx, pc->mac) == IOTSEC_OK;
    }
    secure_wipe(gk, sizeof(gk));
    secure_wipe(dk, sizeof(dk));
    return ok;
}

static int load_candidates(struct store_conn *c, const struct prov_identity *id,
                           struct prov_enrollment *out, size_t *n)
{
    sqlite3_stmt *st;
    int rc = store_stmt(c, "SELECT " PROV_ENROLLMENT_COLS " FROM prov_enrollments WHERE"
                           " (kind = 'individual' AND (reg_id = ? OR cert_sha256 = ? OR serial = ?))"
                           " OR (kind = 'group' AND attestation = ?) ORDER BY id LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    sqlite3_bind_text(st, 1, id->reg_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id->cert_sha256 ? id->cert_sha256 : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id->serial ? id->serial : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, id->derived_key ? "derived_key" : "x509", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, MAX_CANDIDATES);
    int s;
    *n = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW)
        prov_enrollment_row(st, &out[(*n)++]);
    sqlite3_reset(st);
    return s == SQLITE_DONE ? IOTSEC_OK : store_error(c, s);
}

/* The certificate of an x509_signature proof, with its chain; NULL after answering. */
static X509 *decode_cert(struct http_request *req, json_t *o, STACK_OF(X509) **chain)
{
    uint8_t *der = malloc(CERT_DER_MAX);
    size_t len = 0;
    const char *v = json_string_value(json_object_get(o, "certificate"));
    X509 *cert = NULL;
    if (der && v && prov_b64_decode(v, strlen(v), der, CERT_DER_MAX, &len) == IOTSEC_OK) {
        const unsigned char *q = der;
        cert = d2i_X509(NULL, &q, (long)len);
    }
    if (cert == NULL) {
        free(der);
        bad_field(req, "certificate", "a DER X.509 certificate in base64url");
        return NULL;
    }
    json_t *arr = json_object_get(o, "chain");
    *chain = sk_X509_new_null();
    size_t i;
    json_t *it;
    bool ok = *chain != NULL && (arr == NULL || (json_is_array(arr) &&
                                                 json_array_size(arr) <= CHAIN_MAX));
    json_array_foreach(arr, i, it) {
        v = json_string_value(it);
        X509 *x = NULL;
        if (ok && v && prov_b64_decode(v, strlen(v), der, CERT_DER_MAX, &len) == IOTSEC_OK) {
            const unsigned char *q = der;
            x = d2i_X509(NULL, &q, (long)len);
        }
        if (x == NULL || !sk_X509_push(*chain, x)) {
            X509_free(x);
            ok = false;
        }
    }
    free(der);
    if (!ok) {
        X509_free(cert);
        sk_X509_pop_free(*chain, X509_free);
        *chain = NULL;
        bad_field(req, "chain", "an array of at most 4 DER certificates in base64url");
        return NULL;
    }
    return cert;
}

static int cert_proof_msg(const struct prov_onboard_ctx *o, uint8_t *out, size_t cap,
                          size_t *len)
{
    static const char label[] = PROV_LABEL_ONBOARD " cert-proof";
    struct prov_writer w = {out, cap, 0, false};
    prov_put_lp(&w, label, sizeof(label) - 1);
    prov_put_lp(&w, o->server_nonce, PROV_NONCE_LEN);
    prov_put_lp(&w, o->reg_id, o->reg_id_len);
    prov_put_lp(&w, o->device_pub, PROV_X25519_LEN);
    *len = w.len;
    return w.overflow ? IOTSEC_ERR_INVALID : IOTSEC_OK;
}

struct onboard_req {
    char reg_id[PROV_REG_ID_MAX + 1];
    char cn[PROV_REG_ID_MAX + 1], serial[PROV_SERIAL_MAX + 1], sha256[65];
    struct prov_onboard_ctx octx;
    uint8_t mac[PROV_MAC_LEN];
    bool derived;
    X509 *cert; /* owned when x509_signature */
    STACK_OF(X509) *chain;
    bool own_cert;
};

/* Checks the certificate proof (tls or x509_signature): false after answering. */
static bool check_cert(struct provision *p, struct http_request *req, struct store_conn *c,
                       json_t *o,
                       const char *att, bool relayed, struct onboard_req *r, int64_t *mfr,
                       size_t *n_mfr)
{
    const struct http_peer *peer = http_request_peer(req);
    if (strcmp(att, "tls") == 0) {
        if (relayed || !peer->has_cert) {
            problem(req, 400, "ATTESTATION_UNSUPPORTED",
                    relayed ? "a relayed device proves itself with x509_signature"
                            : "attestation tls needs the factory certificate in the handshake");
            return false;
        }
        r->cert = peer->cert;
        r->chain = peer->chain;
    } else {
        uint8_t sig[256];
        size_t sig_len = 0;
        const char *v = json_string_value(json_object_get(o, "signature"));
        if (v == NULL || prov_b64_decode(v, strlen(v), sig, sizeof(sig), &sig_len) != IOTSEC_OK) {
            bad_field(req, "signature", "a signature in base64url");
            return false;
        }
        if ((r->cert = decode_cert(req, o, &r->chain)) == NULL)
            return false;
        r->own_cert = true;
        uint8_t msg[512];
        size_t len;
        if (cert_proof_msg(&r->octx, msg, sizeof(msg), &len) != IOTSEC_OK ||
            prov_x509_verify_sig(r->cert, msg, len, sig, sig_len) != IOTSEC_OK) {
            problem(req, 401, "PROOF_INVALID", "the signature does not verify with the certificate");
            return false;
        }
    }
    if (prov_x509_names(r->cert, r->cn, sizeof(r->cn), r->serial, sizeof(r->serial), r->sha256) !=
            IOTSEC_OK ||
        strcmp(r->cn, r->reg_id) != 0) {
        problem(req, 401, "PROOF_INVALID",
                "the certificate's subject CN must equal registration_id");
        return false;
    }
    if (prov_x509_manufacturers(p->cas, c, r->cert, r->chain, mfr, MAX_MANUFACTURERS, n_mfr) !=
            IOTSEC_OK ||
        *n_mfr == 0) {
        problem(req, 403, "CERT_UNTRUSTED", "the certificate chains to no manufacturer CA");
        return false;
    }
    return true;
}

static bool decode_onboard(struct http_request *req, json_t *o, struct onboard_req *r,
                           const char **att)
{
    if (!reg_id_field(req, o, r->reg_id) ||
        !bin_field(req, o, "nonce", r->octx.server_nonce, PROV_NONCE_LEN) ||
        !bin_field(req, o, "device_pub", r->octx.device_pub, PROV_X25519_LEN) ||
        (*att = str_field(req, o, "attestation")) == NULL)
        return false;
    r->octx.reg_id = r->reg_id;
    r->octx.reg_id_len = strlen(r->reg_id);
    r->derived = strcmp(*att, "derived_key") == 0;
    if (!r->derived && strcmp(*att, "tls") != 0 && strcmp(*att, "x509_signature") != 0) {
        bad_field(req, "attestation", "tls, derived_key or x509_signature");
        return false;
    }
    return !r->derived || bin_field(req, o, "mac", r->mac, PROV_MAC_LEN);
}

/* After the proof and the enrollment: replay, nonce, rate, quota, then the write. */
static void onboard_admit(struct provision *p, struct http_request *req, struct store_conn *c,
                          struct onboard_req *r, const struct prov_enrollment *e, int64_t gw)
{
    struct prov_registration reg;
    int rc = prov_registration_load(c, r->reg_id, &reg);
    bool exists = rc == IOTSEC_OK;
    if (rc != IOTSEC_OK && rc != IOTSEC_ERR_NOTFOUND) {
        store_problem(req, rc);
        return;
    }
    if (exists && reg.has_request &&
        prov_same_request(reg.nonce, reg.device_pub, r->octx.server_nonce, r->octx.device_pub)) {
        uint8_t *env = NULL;
        size_t len = 0;
        if ((rc = prov_registration_envelope(c, reg.id, false, &env, &len)) == IOTSEC_OK)
            respond_envelope(req, env, len);
        else
            store_problem(req, rc);
        free(env);
        return;
    }
    int64_t now = now_s();
    if (!prov_nonce_valid(p->nonces, r->octx.server_nonce, now)) {
        problem(req, 401, "NONCE_INVALID", "the nonce is unknown, expired or used");
        return;
    }
    if (exists && e->reprovision == PROV_REPROV_NEVER) {
        problem(req, 409, "REPROVISION_REFUSED", "the device may not be provisioned again");
        return;
    }
    if (!exists && e->quota > 0 && e->devices >= e->quota) {
        retry_after(req, 3600);
        problem(req, 429, "QUOTA_EXCEEDED", "the enrollment's device quota is used up");
        return;
    }
    uint32_t wait = 1;
    if (!prov_limiter_take(p->limiter, e->id, e->rate_per_s, now_ms(), &wait)) {
        retry_after(req, wait);
        problem(req, 429, "RATE_LIMITED", "too many onboardings for this enrollment");
        return;
    }
    struct prov_job *j = job_new(req, PROV_JOB_ONBOARD);
    if (j == NULL)
        return;
    if (!prov_nonce_take(p->nonces, r->octx.server_nonce, now)) {
        free(j);
        problem(req, 401, "NONCE_INVALID", "the nonce is unknown, expired or used");
        return;
    }
    j->enrollment_id = e->id;
    j->gateway_id = gw;
    snprintf(j->reg_id, sizeof(j->reg_id), "%s", r->reg_id);
    snprintf(j->cert_sha256, sizeof(j->cert_sha256), "%s", r->derived ? "" : r->sha256);
    snprintf(j->serial, sizeof(j->serial), "%s", r->derived ? "" : r->serial);
    memcpy(j->nonce, r->octx.server_nonce, PROV_NONCE_LEN);
    memcpy(j->device_pub, r->octx.device_pub, PROV_X25519_LEN);
    aka_hn_keys_list(p->store, add_hn_key, &j->hn);
    submit(p, req, j);
}

static void onboard(struct provision *p, struct http_request *req, bool relayed)
{
    struct store_conn *c;
    if (store_reader_get(p->store, &c) != IOTSEC_OK) {
        store_problem(req, IOTSEC_ERR_BUSY);
        return;
    }
    int64_t gw = relayed ? relay_gateway(req, c) : 0;
    if (relayed && gw == 0)
        return;
    struct body b;
    if (!parse_body(req, &b))
        return;
    struct onboard_req r;
    memset(&r, 0, sizeof(r));
    const char *att = NULL;
    int64_t mfr[MAX_MANUFACTURERS];
    size_t n_mfr = 0;
    struct prov_enrollment *cands = NULL;
    if (!decode_onboard(req, b.o, &r, &att) ||
        (!r.derived && !check_cert(p, req, c, b.o, att, relayed, &r, mfr, &n_mfr)))
        goto out;
    struct prov_identity id = {r.reg_id, r.derived ? NULL : r.sha256, r.derived ? NULL : r.serial,
                               r.derived};
    size_t n = 0, at = 0;
    cands = calloc(MAX_CANDIDATES, sizeof(*cands));
    int rc = cands ? load_candidates(c, &id, cands, &n) : IOTSEC_ERR_NOMEM;
    if (rc != IOTSEC_OK) {
        store_problem(req, rc);
        goto out;
    }
    struct proof_ctx pc = {p, c, mfr, n_mfr, r.mac, &r.octx, 0};
    if (prov_enrollment_match(cands, n, &id, proves, &pc, &at) != IOTSEC_OK) {
        if (r.derived && pc.tried > 0)
            problem(req, 401, "PROOF_INVALID", "the derived-key MAC does not verify");
        else
            problem(req, 403, "ENROLLMENT_NOT_FOUND", "no enrollment matches the device");
        goto out;
    }
    if (!cands[at].enabled)
        problem(req, 403, "ENROLLMENT_DISABLED", "the device's enrollment is disabled");
    else if (!relayed || gateway_allowed(req, c, gw, cands[at].id))
        onboard_admit(p, req, c, &r, &cands[at], gw);
out:
    free(cands);
    if (r.own_cert) {
        X509_free(r.cert);
        sk_X509_pop_free(r.chain, X509_free);
    }
    json_decref(b.o);
    secure_wipe(&r, sizeof(r));
}

/* ---- confirmation and rotation: the device proves its credential ---- */

struct cred_req {
    char reg_id[PROV_REG_ID_MAX + 1];
    uint8_t nonce[PROV_NONCE_LEN], pub[PROV_X25519_LEN], mac[PROV_MAC_LEN];
    uint32_t version;
    struct prov_registration reg;
    struct subscription sub;
    struct sub_keys keys;
};

/* Decodes the common fields, loads the registration and checks the relay and the credential
 * id: false after answering. */
static bool cred_request(struct provision *p, struct http_request *req, struct store_conn *c,
                         json_t *o, bool relayed, bool rotate, struct cred_req *r)
{
    int64_t gw = relayed ? relay_gateway(req, c) : 0;
    if (relayed && gw == 0)
        return false;
    json_t *v = json_object_get(o, "credential_version");
    const char *cred_id;
    if (!reg_id_field(req, o, r->reg_id) || !bin_field(req, o, "nonce", r->nonce, PROV_NONCE_LEN) ||
        (rotate && !bin_field(req, o, "device_pub", r->pub, PROV_X25519_LEN)) ||
        (cred_id = str_field(req, o, "credential_id")) == NULL ||
        !bin_field(req, o, "mac", r->mac, PROV_MAC_LEN))
        return false;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > UINT32_MAX) {
        bad_field(req, "credential_version", "an integer from 1");
        return false;
    }
    r->version = (uint32_t)json_integer_value(v);
    int rc = prov_registration_load(c, r->reg_id, &r->reg);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        problem(req, 404, "REGISTRATION_NOT_FOUND", "the device never onboarded");
        return false;
    }
    if (rc != IOTSEC_OK) {
        store_problem(req, rc);
        return false;
    }
    if (relayed && !gateway_allowed(req, c, gw, r->reg.enrollment_id))
        return false;
    char expect[32];
    prov_cred_id(r->reg.id, expect);
    if (strcmp(cred_id, expect) != 0) {
        problem(req, 401, rotate ? "PROOF_INVALID" : "CONFIRMATION_INVALID",
                "unknown credential_id");
        return false;
    }
    rc = r->reg.supi[0] ? subscriber_get_keys(p->store, p->kek, r->reg.supi, &r->sub, &r->keys)
                        : IOTSEC_ERR_NOTFOUND;
    if (rc == IOTSEC_ERR_NOTFOUND) { /* transferred (erased), or deleted by the operator */
        problem(req, 409, "REPROVISION_REFUSED", "the device has no credential: onboard again");
        return false;
    }
    if (rc == IOTSEC_OK && (r->sub.state == SUB_REVOKED || r->sub.state == SUB_EXPIRED)) {
        problem(req, 409, "REPROVISION_REFUSED", "the credential is revoked or expired");
        return false;
    }
    if (rc != IOTSEC_OK) {
        store_problem(req, rc);
        return false;
    }
    r->reg.rot.current_version = r->sub.cred_version;
    return true;
}

static void confirm(struct provision *p, struct http_request *req, bool relayed)
{
    struct store_conn *c;
    struct body b = {0};
    struct cred_req r;
    memset(&r, 0, sizeof(r));
    if (store_reader_get(p->store, &c) != IOTSEC_OK) {
        store_problem(req, IOTSEC_ERR_BUSY);
        return;
    }
    if (!parse_body(req, &b) || !cred_request(p, req, c, b.o, relayed, false, &r))
        goto out;
    enum prov_confirm_target t = prov_confirm_decide(
        r.sub.cred_version, r.reg.has_request ? r.reg.nonce : NULL, r.reg.rot.pending_version,
        r.reg.rot.has_pending_request ? r.reg.rot.pend_nonce : NULL, r.version, r.nonce);
    uint8_t k[16], opc[16];
    memcpy(k, r.keys.k, 16);
    memcpy(opc, r.keys.opc, 16);
    if (t == PROV_CONFIRM_ROTATION &&
        prov_pending_keys(c, p->kek, r.reg_id, r.version, k, opc) != IOTSEC_OK)
        t = PROV_CONFIRM_NONE;
    char cred_id[32];
    prov_cred_id(r.reg.id, cred_id);
    struct prov_confirm_ctx cc = {r.reg_id, strlen(r.reg_id), cred_id, strlen(cred_id),
                                  r.version, {0}};
    memcpy(cc.server_nonce, r.nonce, PROV_NONCE_LEN);
    if (t == PROV_CONFIRM_NONE || prov_confirm_verify(k, 16, &cc, r.mac) != IOTSEC_OK) {
        problem(req, 401, "CONFIRMATION_INVALID", "the confirmation does not verify");
    } else {
        struct prov_job *j = job_new(req, PROV_JOB_CONFIRM);
        if (j) {
            snprintf(j->reg_id, sizeof(j->reg_id), "%s", r.reg_id);
            j->version = r.version;
            j->confirm_rotation = t == PROV_CONFIRM_ROTATION;
            memcpy(j->k, k, 16);
            memcpy(j->opc, opc, 16);
            submit(p, req, j);
        }
    }
    secure_wipe(k, sizeof(k));
    secure_wipe(opc, sizeof(opc));
out:
    json_decref(b.o);
    secure_wipe(&r, sizeof(r));
}

static void rotate(struct provision *p, struct http_request *req, bool relayed)
{
    struct store_conn *c;
    struct body b = {0};
    struct cred_req r;
    memset(&r, 0, sizeof(r));
    if (store_reader_get(p->store, &c) != IOTSEC_OK) {
        store_problem(req, IOTSEC_ERR_BUSY);
        return;
    }
    if (!parse_body(req, &b) || !cred_request(p, req, c, b.o, relayed, true, &r))
        goto out;
    char cred_id[32];
    prov_cred_id(r.reg.id, cred_id);
    uint8_t rk[PROV_KEY_LEN];
    struct prov_onboard_ctx octx = {r.reg_id, strlen(r.reg_id), {0}, {0}};
    memcpy(octx.server_nonce, r.nonce, PROV_NONCE_LEN);
    memcpy(octx.device_pub, r.pub, PROV_X25519_LEN);
    bool ok = r.version == r.sub.cred_version &&
              prov_rotate_key(r.keys.k, 16, cred_id, r.version, rk) == IOTSEC_OK &&
              prov_proof_verify(rk, &octx, r.mac) == IOTSEC_OK;
    secure_wipe(rk, sizeof(rk));
    if (!ok) {
        problem(req, 401, "PROOF_INVALID", "the rotation request does not verify under the "
                                           "current credential");
        goto out;
    }
    int64_t now = now_s();
    enum prov_rot_action a = prov_rotate_decide(&r.reg.rot, r.version, r.nonce, r.pub, now);
    if (a == PROV_ROT_REPLAY) {
        uint8_t *env = NULL;
        size_t len = 0;
        int rc = prov_registration_envelope(c, r.reg.id, true, &env, &len);
        if (rc == IOTSEC_OK)
            respond_envelope(req, env, len);
        else
            store_problem(req, rc);
        free(env);
        goto out;
    }
    if (!prov_nonce_take(p->nonces, r.nonce, now)) {
        problem(req, 401, "NONCE_INVALID", "the nonce is unknown, expired or used");
        goto out;
    }
    struct prov_job *j = job_new(req, PROV_JOB_ROTATE);
    if (j) {
        snprintf(j->reg_id, sizeof(j->reg_id), "%s", r.reg_id);
        snprintf(j->serial, sizeof(j->serial), "%s", r.reg.serial);
        memcpy(j->nonce, r.nonce, PROV_NONCE_LEN);
        memcpy(j->device_pub, r.pub, PROV_X25519_LEN);
        j->version = r.version;
        aka_hn_keys_list(p->store, add_hn_key, &j->hn);
        submit(p, req, j);
    }
out:
    json_decref(b.o);
    secure_wipe(&r, sizeof(r));
}

static void h_onboard(struct http_request *req, void *u) { onboard(u, req, false); }
static void h_confirm(struct http_request *req, void *u) { confirm(u, req, false); }
static void h_rotate(struct http_request *req, void *u) { rotate(u, req, false); }
static void h_relay_onboard(struct http_request *req, void *u) { onboard(u, req, true); }
static void h_relay_confirm(struct http_request *req, void *u) { confirm(u, req, true); }
static void h_relay_rotate(struct http_request *req, void *u) { rotate(u, req, true); }

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
