/* Onboarding messages (docs/provisioning.md): building requests, checking answers. Pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/hmac_sha256.h"
#include "onboard.h"

#define CERT_PROOF_LABEL "iotsec-onboard-v1 cert-proof"
#define ROTATE_KEY_LABEL "iotsec-onboard-v1 rotate-key"
#define SIG_MAX          160   /* ECDSA P-384 DER is at most 104 bytes; Ed25519 64 */
#define CERT_MAX         16384 /* a factory certificate, DER */

void onboard_device_wipe(struct onboard_device *d)
{
    secure_wipe(d->device_key, sizeof(d->device_key));
}

void onboard_attempt_wipe(struct onboard_attempt *a)
{
    secure_wipe(a->priv, sizeof(a->priv));
    free(a->request);
    if (a->plain) {
        secure_wipe(a->plain, a->plain_len);
        free(a->plain);
    }
    prov_bundle_wipe(&a->bundle);
    memset(a, 0, sizeof(*a));
}

int onboard_parse_nonce(const char *body, size_t len, uint8_t nonce[PROV_NONCE_LEN])
{
    const char *v;
    size_t vlen, got;
    bool str;
    if (json_member(body, len, "nonce", &v, &vlen, &str) != IOTSEC_OK || !str ||
        b64url_decode(v, vlen, nonce, PROV_NONCE_LEN, &got) != IOTSEC_OK || got != PROV_NONCE_LEN)
        return IOTSEC_ERR_INVALID;
    return IOTSEC_OK;
}

/* Appends "name":"b64u(data)" to a growing body; p is the write position. */
static char *put_b64(char *p, const char *name, const uint8_t *data, size_t n)
{
    p += sprintf(p, ",\"%s\":\"", name);
    b64url_encode(data, n, p);
    p += strlen(p);
    *p++ = '"';
    *p = '\0';
    return p;
}

/* "registration_id":"..." with JSON escapes (ids are visible ASCII, so only " and \). */
static char *put_reg_id(char *p, const char *reg_id)
{
    p += sprintf(p, "{\"registration_id\":\"");
    for (const char *s = reg_id; *s; s++) {
        if (*s == '"' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p++ = '"';
    *p = '\0';
    return p;
}

static int new_ephemeral(const struct onboard_device *d, const uint8_t nonce[PROV_NONCE_LEN],
                         struct onboard_attempt *a, struct prov_onboard_ctx *ctx)
{
    if (!prov_id_valid(d->reg_id, strlen(d->reg_id)))
        return IOTSEC_ERR_INVALID;
    onboard_attempt_wipe(a);
    memcpy(a->nonce, nonce, PROV_NONCE_LEN);
    int rc = prov_x25519_keygen(a->priv, a->pub);
    if (rc != IOTSEC_OK)
        return rc;
    ctx->reg_id = d->reg_id;
    ctx->reg_id_len = strlen(d->reg_id);
    memcpy(ctx->server_nonce, nonce, PROV_NONCE_LEN);
    memcpy(ctx->device_pub, a->pub, PROV_X25519_LEN);
    return IOTSEC_OK;
}

static int sign_cert_proof(const struct onboard_device *d, const struct prov_onboard_ctx *ctx,
                           uint8_t *sig, size_t *sig_len)
{
    uint8_t msg[64 + PROV_NONCE_LEN + PROV_REG_ID_MAX + PROV_X25519_LEN];
    struct prov_writer w = {.buf = msg, .cap = sizeof(msg)};
    prov_put_lp(&w, CERT_PROOF_LABEL, strlen(CERT_PROOF_LABEL));
    prov_put_lp(&w, ctx->server_nonce, PROV_NONCE_LEN);
    prov_put_lp(&w, ctx->reg_id, ctx->reg_id_len);
    prov_put_lp(&w, ctx->device_pub, PROV_X25519_LEN);
    if (w.overflow || !d->sign)
        return IOTSEC_ERR_INVALID;
    return d->sign(d->sign_user, msg, w.len, sig, SIG_MAX, sig_len);
}

int onboard_build_request(const struct onboard_device *d, const uint8_t nonce[PROV_NONCE_LEN],
                          struct onboard_attempt *a)
{
    struct prov_onboard_ctx ctx;
    int rc = new_ephemeral(d, nonce, a, &ctx);
    if (rc != IOTSEC_OK)
        return rc;
    if (d->attest == ONBOARD_ATTEST_X509_SIG &&
        (!d->cert_der || d->cert_der_len == 0 || d->cert_der_len > CERT_MAX))
        return IOTSEC_ERR_INVALID;
    size_t cap = 512 + 2 * PROV_REG_ID_MAX + b64url_len(SIG_MAX) +
                 (d->attest == ONBOARD_ATTEST_X509_SIG ? b64url_len(d->cert_der_len) : 0);
    char *body = malloc(cap), *p = body;
    if (!body)
        return IOTSEC_ERR_NOMEM;
    p = put_reg_id(p, d->reg_id);
    p = put_b64(p, "nonce", nonce, PROV_NONCE_LEN);
    p = put_b64(p, "device_pub", a->pub, PROV_X25519_LEN);
    if (d->attest == ONBOARD_ATTEST_TLS) {
        p += sprintf(p, ",\"attestation\":\"tls\"");
    } else if (d->attest == ONBOARD_ATTEST_DERIVED_KEY) {
        uint8_t mac[PROV_MAC_LEN];
        rc = prov_proof_compute(d->device_key, &ctx, mac);
        p += sprintf(p, ",\"attestation\":\"derived_key\"");
        p = put_b64(p, "mac", mac, sizeof(mac));
    } else {
        uint8_t sig[SIG_MAX];
        size_t sig_len = 0;
        rc = sign_cert_proof(d, &ctx, sig, &sig_len);
        if (rc == IOTSEC_OK && (sig_len == 0 || sig_len > SIG_MAX))
            rc = IOTSEC_ERR_CRYPTO;
        if (rc == IOTSEC_OK) {
            p += sprintf(p, ",\"attestation\":\"x509_signature\"");
            p = put_b64(p, "certificate", d->cert_der, d->cert_der_len);
            p = put_b64(p, "signature", sig, sig_len);
        }
    }
    if (rc != IOTSEC_OK) {
        free(body);
        return rc;
    }
    *p++ = '}';
    *p = '\0';
    a->request = body;
    a->request_len = (size_t)(p - body);
    return IOTSEC_OK;
}

int onboard_build_rotate(const struct onboard_device *d, const struct prov_bundle *cur,
                         const uint8_t nonce[PROV_NONCE_LEN], struct onboard_attempt *a)
{
    struct prov_onboard_ctx ctx;
    if (!cur || (cur->k_len != 16 && cur->k_len != 32))
        return IOTSEC_ERR_INVALID;
    int rc = new_ephemeral(d, nonce, a, &ctx);
    if (rc != IOTSEC_OK)
        return rc;
    /* rk = HMAC(K_current, lp(label) || lp(cred_id) || u32(cred_version)) */
    uint8_t in[64 + PROV_CRED_ID_MAX + 8], rk[PROV_KEY_LEN], mac[PROV_MAC_LEN];
    struct prov_writer w = {.buf = in, .cap = sizeof(in)};
    prov_put_lp(&w, ROTATE_KEY_LABEL, strlen(ROTATE_KEY_LABEL));
    prov_put_lp(&w, cur->cred_id, strlen(cur->cred_id));
    prov_put_u32(&w, cur->cred_version);
    if (w.overflow)
        return IOTSEC_ERR_INVALID;
    struct hmac_sha256 h;
    hmac_sha256_init(&h, cur->k, cur->k_len);
    hmac_sha256(&h, in, w.len, rk);
    hmac_sha256_wipe(&h);
    rc = prov_proof_compute(rk, &ctx, mac);
    secure_wipe(rk, sizeof(rk));
    if (rc != IOTSEC_OK)
        return rc;
    char *body = malloc(640 + 2 * PROV_REG_ID_MAX + 2 * PROV_CRED_ID_MAX), *p = body;
    if (!body)
        return IOTSEC_ERR_NOMEM;
    p = put_reg_id(p, d->reg_id);
    p = put_b64(p, "nonce", nonce, PROV_NONCE_LEN);
    p = put_b64(p, "device_pub", a->pub, PROV_X25519_LEN);
    /* cred ids are visible ASCII, so escape like the registration id */
    p += sprintf(p, ",\"credential_id\":\"");
    for (const char *s = cur->cred_id; *s; s++) {
        if (*s == '"' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    p += sprintf(p, "\",\"credential_version\":%u", (unsigned)cur->cred_version);
    p = put_b64(p, "mac", mac, sizeof(mac));
    *p++ = '}';
    *p = '\0';
    a->request = body;
    a->request_len = (size_t)(p - body);
    return IOTSEC_OK;
}

int onboard_open_answer(const struct onboard_device *d, struct onboard_attempt *a, const char *body,
                        size_t len)
{
    const char *v;
    size_t vlen, env_len;
    bool str;
    if (json_member(body, len, "envelope", &v, &vlen, &str) != IOTSEC_OK || !str ||
        vlen > b64url_len(PROV_PLAINTEXT_MAX + PROV_ENVELOPE_OVERHEAD + PROV_REG_ID_MAX))
        return IOTSEC_ERR_INVALID;
    uint8_t *env = malloc(vlen / 4 * 3 + 3);
    if (!env)
        return IOTSEC_ERR_NOMEM;
    if (b64url_decode(v, vlen, env, vlen / 4 * 3 + 3, &env_len) != IOTSEC_OK) {
        free(env);
        return IOTSEC_ERR_INVALID;
    }
    struct prov_onboard_ctx ctx = {.reg_id = d->reg_id, .reg_id_len = strlen(d->reg_id)};
    memcpy(ctx.server_nonce, a->nonce, PROV_NONCE_LEN);
    memcpy(ctx.device_pub, a->pub, PROV_X25519_LEN);
    if (a->plain) {
        secure_wipe(a->plain, a->plain_len);
        free(a->plain);
        a->plain = NULL;
        a->plain_len = 0;
    }
    size_t pt_max = env_len; /* the plaintext is shorter than its envelope */
    uint8_t *pt = malloc(pt_max ? pt_max : 1);
    if (!pt) {
        free(env);
        return IOTSEC_ERR_NOMEM;
    }
    size_t pt_len = 0;
    int rc = prov_envelope_open(d->pinned_pub, a->priv, &ctx, env, env_len, pt, pt_max, &pt_len);
    free(env);
    if (rc == IOTSEC_OK)
        rc = prov_bundle_parse(pt, pt_len, &a->bundle);
    if (rc != IOTSEC_OK) {
        secure_wipe(pt, pt_max);
        free(pt);
        return rc;
    }
    a->plain = pt;
    a->plain_len = pt_len;
    return IOTSEC_OK;
}

int onboard_build_confirm(const struct onboard_device *d, const struct onboard_attempt *a,
                          char **body, size_t *len)
{
    *body = NULL;
    *len = 0;
    const struct prov_bundle *b = &a->bundle;
    if (!a->plain)
        return IOTSEC_ERR_STATE;
    struct prov_confirm_ctx c = {.reg_id = d->reg_id,
                                 .reg_id_len = strlen(d->reg_id),
                                 .cred_id = b->cred_id,
                                 .cred_id_len = strlen(b->cred_id),
                                 .cred_version = b->cred_version};
    memcpy(c.server_nonce, a->nonce, PROV_NONCE_LEN);
    uint8_t mac[PROV_MAC_LEN];
    int rc = prov_confirm_compute(b->k, b->k_len, &c, mac);
    if (rc != IOTSEC_OK)
        return rc;
    char *out = malloc(512 + 2 * PROV_REG_ID_MAX + 2 * PROV_CRED_ID_MAX), *p = out;
    if (!out)
        return IOTSEC_ERR_NOMEM;
    p = put_reg_id(p, d->reg_id);
    p = put_b64(p, "nonce", a->nonce, PROV_NONCE_LEN);
    p += sprintf(p, ",\"credential_id\":\"");
    for (const char *s = b->cred_id; *s; s++) {
        if (*s == '"' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    p += sprintf(p, "\",\"credential_version\":%u", (unsigned)b->cred_version);
    p = put_b64(p, "mac", mac, sizeof(mac));
    *p++ = '}';
    *p = '\0';
    *body = out;
    *len = (size_t)(p - out);
    return IOTSEC_OK;
}

uint32_t onboard_backoff_ms(const struct onboard_backoff *b, uint32_t retry, uint32_t retry_after_s,
                            uint32_t rnd)
{
    uint32_t base = b && b->base_ms ? b->base_ms : 200;
    uint32_t max = b && b->max_ms ? b->max_ms : 30000;
    if (base > max)
        base = max;
    uint64_t exp = (uint64_t)base << (retry > 20 ? 20 : retry);
    uint32_t cap = exp > max ? max : (uint32_t)exp;
    /* equal jitter: cap/2 + uniform[0, cap/2] */
    uint32_t half = cap / 2;
    uint32_t delay = half + (uint32_t)((uint64_t)rnd * (cap - half + 1) >> 32);
    if (retry_after_s > 0) {
        uint64_t floor_ms = (uint64_t)retry_after_s * 1000;
        if (floor_ms > 3600u * 1000)
            floor_ms = 3600u * 1000; /* a device does not sleep more than an hour per try */
        uint32_t spread = (max - base) / 4;
        uint64_t ra = floor_ms + ((uint64_t)rnd * (spread + 1) >> 32);
        if (ra > delay)
            delay = (uint32_t)ra;
    }
    return delay;
}
