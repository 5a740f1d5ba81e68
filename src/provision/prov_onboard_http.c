/* Onboarding on the device face (docs/provisioning.md): the proof (TLS factory certificate,
 * certificate signature, or derived-key MAC), the enrollment it matches, the replay of a
 * stored answer, the nonce and the limits, then the write job. */
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aka/aka.h"
#include "base/err.h"
#include "crypto/ct.h"
#include "http/http.h"
#include "provision/prov_device.h"

#define MAX_CANDIDATES 64
#define MAX_MANUFACTURERS 16
#define CERT_DER_MAX 8192
#define CHAIN_MAX 4

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

/* The certificate of an x509_signature proof, with its chain; NULL after answering. */
static X509 *decode_cert(struct http_request *req, json_t *o, STACK_OF(X509) **chain)
{
    uint8_t *der = malloc(CERT_DER_MAX);
    size_t len = 0;
    const char *v = json_string_value(json_object_get(o, "certificate"));
    X509 *cert = NULL;
    if (der && v && b64url_decode(v, strlen(v), der, CERT_DER_MAX, &len) == IOTSEC_OK) {
        const unsigned char *q = der;
        cert = d2i_X509(NULL, &q, (long)len);
    }
    if (cert == NULL) {
        free(der);
        dev_bad_field(req, "certificate", "a DER X.509 certificate in base64url");
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
        if (ok && v && b64url_decode(v, strlen(v), der, CERT_DER_MAX, &len) == IOTSEC_OK) {
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
        dev_bad_field(req, "chain", "an array of at most 4 DER certificates in base64url");
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

bool prov_dev_cert_proof(struct http_request *req, json_t *o, const char *att, bool relayed,
                         struct onboard_req *r)
{
    const struct http_peer *peer = http_request_peer(req);
    if (strcmp(att, "tls") == 0) {
        if (relayed || !peer->has_cert) {
            dev_problem(req, 400, "ATTESTATION_UNSUPPORTED",
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
        if (v == NULL || b64url_decode(v, strlen(v), sig, sizeof(sig), &sig_len) != IOTSEC_OK) {
            dev_bad_field(req, "signature", "a signature in base64url");
            return false;
        }
        if ((r->cert = decode_cert(req, o, &r->chain)) == NULL)
            return false;
        r->own_cert = true;
        uint8_t msg[512];
        size_t len;
        if (cert_proof_msg(&r->octx, msg, sizeof(msg), &len) != IOTSEC_OK ||
            prov_x509_verify_sig(r->cert, msg, len, sig, sig_len) != IOTSEC_OK) {
            dev_problem(req, 401, "PROOF_INVALID", "the signature does not verify with the certificate");
            return false;
        }
    }
    if (prov_x509_names(r->cert, r->cn, sizeof(r->cn), r->serial, sizeof(r->serial), r->sha256) !=
            IOTSEC_OK ||
        strcmp(r->cn, r->reg_id) != 0) {
        dev_problem(req, 401, "PROOF_INVALID",
                "the certificate's subject CN must equal registration_id");
        return false;
    }
    return true;
}

/* Checks the certificate proof (tls or x509_signature) and that it chains to a manufacturer:
 * false after answering. */
static bool check_cert(struct provision *p, struct http_request *req, struct store_conn *c,
                       json_t *o, const char *att, bool relayed, struct onboard_req *r,
                       int64_t *mfr, size_t *n_mfr)
{
    if (!prov_dev_cert_proof(req, o, att, relayed, r))
        return false;
    if (prov_x509_manufacturers(p->cas, c, r->cert, r->chain, mfr, MAX_MANUFACTURERS, n_mfr) !=
            IOTSEC_OK ||
        *n_mfr == 0) {
        dev_problem(req, 403, "CERT_UNTRUSTED", "the certificate chains to no manufacturer CA");
        return false;
    }
    return true;
}

bool prov_dev_decode_onboard(struct http_request *req, json_t *o, struct onboard_req *r,
                             const char **att)
{
    if (!dev_reg_id_field(req, o, r->reg_id) ||
        !dev_bin_field(req, o, "nonce", r->octx.server_nonce, PROV_NONCE_LEN) ||
        !dev_bin_field(req, o, "device_pub", r->octx.device_pub, PROV_X25519_LEN) ||
        (*att = dev_str_field(req, o, "attestation")) == NULL)
        return false;
    r->octx.reg_id = r->reg_id;
    r->octx.reg_id_len = strlen(r->reg_id);
    r->derived = strcmp(*att, "derived_key") == 0;
    if (!r->derived && strcmp(*att, "tls") != 0 && strcmp(*att, "x509_signature") != 0) {
        dev_bad_field(req, "attestation", "tls, derived_key or x509_signature");
        return false;
    }
    return !r->derived || dev_bin_field(req, o, "mac", r->mac, PROV_MAC_LEN);
}

/* After the proof and the enrollment: replay, nonce, rate, quota, then the write. */
static void onboard_admit(struct provision *p, struct http_request *req, struct store_conn *c,
                          struct onboard_req *r, const struct prov_enrollment *e, int64_t gw)
{
    struct prov_registration reg;
    int rc = prov_registration_load(c, r->reg_id, &reg);
    bool exists = rc == IOTSEC_OK;
    if (rc != IOTSEC_OK && rc != IOTSEC_ERR_NOTFOUND) {
        dev_store_problem(req, rc);
        return;
    }
    if (exists && reg.has_request &&
        prov_same_request(reg.nonce, reg.device_pub, r->octx.server_nonce, r->octx.device_pub)) {
        uint8_t *env = NULL;
        size_t len = 0;
        if ((rc = prov_registration_envelope(c, reg.id, false, &env, &len)) == IOTSEC_OK) {
            dev_respond_envelope(req, env, len);
            prov_count(PROV_C_REPLAYS);
        } else
            dev_store_problem(req, rc);
        free(env);
        return;
    }
    if (exists && !prov_same_device(reg.enrollment_id, reg.cert_sha256, e->id, e->individual,
                                    r->derived ? "" : r->sha256)) {
        dev_problem(req, 409, "REGISTRATION_CONFLICT",
                    "this registration id belongs to a device registered otherwise");
        return;
    }
    int64_t now = dev_now_s();
    if (!prov_nonce_valid(p->nonces, r->octx.server_nonce, now)) {
        dev_problem(req, 401, "NONCE_INVALID", "the nonce is unknown, expired or used");
        return;
    }
    if (exists && e->reprovision == PROV_REPROV_NEVER) {
        dev_problem(req, 409, "REPROVISION_REFUSED", "the device may not be provisioned again");
        return;
    }
    if (!exists && e->quota > 0 && e->devices >= e->quota) {
        dev_retry_after(req, 3600);
        dev_problem(req, 429, "QUOTA_EXCEEDED", "the enrollment's device quota is used up");
        return;
    }
    uint32_t wait = 1;
    if (!prov_limiter_take(p->limiter, e->id, e->rate_per_s, dev_now_ms(), &wait)) {
        dev_retry_after(req, wait);
        dev_problem(req, 429, "RATE_LIMITED", "too many onboardings for this enrollment");
        return;
    }
    struct prov_job *j = dev_job_new(req, PROV_JOB_ONBOARD);
    if (j == NULL)
        return;
    if (!prov_nonce_take(p->nonces, r->octx.server_nonce, now)) {
        free(j);
        dev_problem(req, 401, "NONCE_INVALID", "the nonce is unknown, expired or used");
        return;
    }
    j->enrollment_id = e->id;
    j->gateway_id = gw;
    snprintf(j->reg_id, sizeof(j->reg_id), "%s", r->reg_id);
    snprintf(j->cert_sha256, sizeof(j->cert_sha256), "%s", r->derived ? "" : r->sha256);
    snprintf(j->serial, sizeof(j->serial), "%s", r->derived ? "" : r->serial);
    memcpy(j->nonce, r->octx.server_nonce, PROV_NONCE_LEN);
    memcpy(j->device_pub, r->octx.device_pub, PROV_X25519_LEN);
    aka_hn_keys_list(p->store, dev_add_hn_key, &j->hn);
    dev_submit(p, req, j);
}

void prov_dev_onboard(struct provision *p, struct http_request *req, bool relayed)
{
    struct store_conn *c;
    if (store_reader_get(p->store, &c) != IOTSEC_OK) {
        dev_store_problem(req, IOTSEC_ERR_BUSY);
        return;
    }
    int64_t gw = relayed ? dev_relay_gateway(req, c) : 0;
    if (relayed && gw == 0)
        return;
    struct dev_body b;
    if (!dev_parse_body(req, &b))
        return;
    struct onboard_req r;
    memset(&r, 0, sizeof(r));
    const char *att = NULL;
    int64_t mfr[MAX_MANUFACTURERS];
    size_t n_mfr = 0;
    struct prov_enrollment *cands = NULL;
    if (!prov_dev_decode_onboard(req, b.o, &r, &att) ||
        (!r.derived && !check_cert(p, req, c, b.o, att, relayed, &r, mfr, &n_mfr)))
        goto out;
    struct prov_identity id = {r.reg_id, r.derived ? NULL : r.sha256, r.derived ? NULL : r.serial,
                               r.derived};
    size_t n = 0, at = 0;
    cands = calloc(MAX_CANDIDATES, sizeof(*cands));
    int rc = cands ? prov_enrollment_candidates(c, MAX_CANDIDATES, &id, cands, &n)
                   : IOTSEC_ERR_NOMEM;
    if (rc != IOTSEC_OK) {
        dev_store_problem(req, rc);
        goto out;
    }
    struct proof_ctx pc = {p, c, mfr, n_mfr, r.mac, &r.octx, 0};
    if (prov_enrollment_match(cands, n, &id, proves, &pc, &at) != IOTSEC_OK) {
        if (r.derived && pc.tried > 0)
            dev_problem(req, 401, "PROOF_INVALID", "the derived-key MAC does not verify");
        else
            dev_problem(req, 403, "ENROLLMENT_NOT_FOUND", "no enrollment matches the device");
        goto out;
    }
    if (!cands[at].enabled)
        dev_problem(req, 403, "ENROLLMENT_DISABLED", "the device's enrollment is disabled");
    else if (!relayed || dev_gateway_allowed(req, c, gw, cands[at].id))
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

