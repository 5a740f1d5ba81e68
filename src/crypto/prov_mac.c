/* The onboarding protocol's MACs: derived device keys, the device's proof of possession, and
 * the confirmation under the new K. Every MAC input starts with its own label and
 * length-prefixes every field, so no two different (label, fields) tuples give the same
 * bytes. HMAC runs on the repo's own pad-state HMAC (no provider dispatch, no allocation). */
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/hmac_sha256.h"
#include "crypto/provision_crypto.h"

#define LABEL_PROOF       PROV_LABEL_ONBOARD " proof"
#define LABEL_CONFIRM_KEY PROV_LABEL_ONBOARD " confirm-key"
#define LABEL_CONFIRM     PROV_LABEL_ONBOARD " confirm"

/* Callers pass fields of at most a few hundred bytes, so the u16 prefix never truncates. */
static void update_lp(struct hmac_sha256_run *run, const void *data, size_t len)
{
    uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};
    hmac_sha256_update(run, prefix, sizeof(prefix));
    if (len)
        hmac_sha256_update(run, data, len);
}

static void update_u32(struct hmac_sha256_run *run, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    hmac_sha256_update(run, b, sizeof(b));
}

int prov_device_key(const uint8_t *group_key, size_t group_key_len, const char *reg_id,
                    size_t reg_id_len, uint8_t key[PROV_KEY_LEN])
{
    if (group_key == NULL || group_key_len < PROV_GROUP_KEY_MIN ||
        group_key_len > PROV_GROUP_KEY_MAX || !prov_id_valid(reg_id, reg_id_len))
        return IOTSEC_ERR_INVALID;
    struct hmac_sha256 h;
    hmac_sha256_init(&h, group_key, group_key_len);
    hmac_sha256(&h, reg_id, reg_id_len, key);
    hmac_sha256_wipe(&h);
    return IOTSEC_OK;
}

int prov_proof_compute(const uint8_t device_key[PROV_KEY_LEN], const struct prov_onboard_ctx *ctx,
                       uint8_t mac[PROV_MAC_LEN])
{
    if (!prov_id_valid(ctx->reg_id, ctx->reg_id_len))
        return IOTSEC_ERR_INVALID;
    struct hmac_sha256 h;
    struct hmac_sha256_run run;
    hmac_sha256_init(&h, device_key, PROV_KEY_LEN);
    hmac_sha256_start(&h, &run);
    update_lp(&run, LABEL_PROOF, strlen(LABEL_PROOF));
    update_lp(&run, ctx->server_nonce, PROV_NONCE_LEN);
    update_lp(&run, ctx->reg_id, ctx->reg_id_len);
    update_lp(&run, ctx->device_pub, PROV_X25519_LEN);
    hmac_sha256_finish(&h, &run, mac);
    hmac_sha256_wipe(&h);
    return IOTSEC_OK;
}

int prov_proof_verify(const uint8_t device_key[PROV_KEY_LEN], const struct prov_onboard_ctx *ctx,
                      const uint8_t mac[PROV_MAC_LEN])
{
    uint8_t want[PROV_MAC_LEN];
    int rc = prov_proof_compute(device_key, ctx, want);
    if (rc == IOTSEC_OK && !ct_equal(want, mac, PROV_MAC_LEN))
        rc = IOTSEC_ERR_AUTH;
    secure_wipe(want, sizeof(want));
    return rc;
}

/* The fields the confirmation key and MAC share. */
static void update_credential(struct hmac_sha256_run *run, const struct prov_confirm_ctx *c)
{
    update_lp(run, c->cred_id, c->cred_id_len);
    update_u32(run, c->cred_version);
    update_lp(run, c->server_nonce, PROV_NONCE_LEN);
}

int prov_confirm_compute(const uint8_t *k, size_t k_len, const struct prov_confirm_ctx *c,
                         uint8_t mac[PROV_MAC_LEN])
{
    if (k == NULL || (k_len != 16 && k_len != 32) || !prov_id_valid(c->reg_id, c->reg_id_len) ||
        !prov_id_valid(c->cred_id, c->cred_id_len))
        return IOTSEC_ERR_INVALID;
    /* A key of its own rather than a MAC under K: K only ever keys Milenage/TUAK otherwise. */
    struct hmac_sha256 h;
    struct hmac_sha256_run run;
    uint8_t ck[PROV_KEY_LEN];
    hmac_sha256_init(&h, k, k_len);
    hmac_sha256_start(&h, &run);
    update_lp(&run, LABEL_CONFIRM_KEY, strlen(LABEL_CONFIRM_KEY));
    update_credential(&run, c);
    hmac_sha256_finish(&h, &run, ck);

    hmac_sha256_init(&h, ck, sizeof(ck));
    secure_wipe(ck, sizeof(ck));
    hmac_sha256_start(&h, &run);
    update_lp(&run, LABEL_CONFIRM, strlen(LABEL_CONFIRM));
    update_lp(&run, c->reg_id, c->reg_id_len);
    update_credential(&run, c);
    hmac_sha256_finish(&h, &run, mac);
    hmac_sha256_wipe(&h);
    return IOTSEC_OK;
}

int prov_confirm_verify(const uint8_t *k, size_t k_len, const struct prov_confirm_ctx *c,
                        const uint8_t mac[PROV_MAC_LEN])
{
    uint8_t want[PROV_MAC_LEN];
    int rc = prov_confirm_compute(k, k_len, c, want);
    if (rc == IOTSEC_OK && !ct_equal(want, mac, PROV_MAC_LEN))
        rc = IOTSEC_ERR_AUTH;
    secure_wipe(want, sizeof(want));
    return rc;
}
