/* Symmetric PINE credentials (crypto/pin_crypto.h, docs/pin.md "PINEs without public-key
 * crypto"): every message is one HMAC-SHA-256 over a label and length-prefixed fields, so a
 * PINE needs SHA-256 and nothing else. */
#include <string.h>

#include "base/err.h"
#include "crypto/hmac_sha256.h"
#include "crypto/pin_crypto.h"

struct field {
    const void *p;
    size_t len;
};

/* HMAC-SHA-256(key, lp(label) || lp(f[0]) || ... ) */
static void mac_lp(const uint8_t *key, size_t key_len, const char *label, const struct field *f,
                   size_t n, uint8_t out[PIN_MAC_LEN])
{
    struct hmac_sha256 h;
    struct hmac_sha256_run run;
    hmac_sha256_init(&h, key, key_len);
    hmac_sha256_start(&h, &run);
    size_t ll = strlen(label);
    uint8_t prefix[2] = {(uint8_t)(ll >> 8), (uint8_t)ll};
    hmac_sha256_update(&run, prefix, 2);
    hmac_sha256_update(&run, label, ll);
    for (size_t i = 0; i < n; i++) {
        prefix[0] = (uint8_t)(f[i].len >> 8);
        prefix[1] = (uint8_t)f[i].len;
        hmac_sha256_update(&run, prefix, 2);
        if (f[i].len)
            hmac_sha256_update(&run, f[i].p, f[i].len);
    }
    hmac_sha256_finish(&h, &run, out);
    hmac_sha256_wipe(&h);
}

int pin_sym_join_proof(const uint8_t code_hash[PIN_MAC_LEN], const char *pin_id, const char *name,
                       uint8_t out[PIN_MAC_LEN])
{
    if (!pin_id_ok(pin_id) || !pin_id_ok(name))
        return IOTSEC_ERR_INVALID;
    struct field f[] = {{pin_id, strlen(pin_id)}, {name, strlen(name)}};
    mac_lp(code_hash, PIN_MAC_LEN, PIN_LABEL " join-sym", f, 2, out);
    return IOTSEC_OK;
}

int pin_sym_key(const uint8_t code_hash[PIN_MAC_LEN], const char *pin_id, const char *pine_id,
                const uint8_t salt[PIN_SALT_LEN], uint8_t key[PIN_KEY_LEN])
{
    if (!pin_id_ok(pin_id) || !pin_id_ok(pine_id))
        return IOTSEC_ERR_INVALID;
    struct field f[] = {{pin_id, strlen(pin_id)}, {pine_id, strlen(pine_id)}, {salt, PIN_SALT_LEN}};
    mac_lp(code_hash, PIN_MAC_LEN, PIN_LABEL " pine-sym-key", f, 3, key);
    return IOTSEC_OK;
}

int pin_sym_confirm(const uint8_t key[PIN_KEY_LEN], const char *pin_id, const char *pine_id,
                    uint8_t out[PIN_MAC_LEN])
{
    if (!pin_id_ok(pin_id) || !pin_id_ok(pine_id))
        return IOTSEC_ERR_INVALID;
    struct field f[] = {{pin_id, strlen(pin_id)}, {pine_id, strlen(pine_id)}};
    mac_lp(key, PIN_KEY_LEN, PIN_LABEL " sym-confirm", f, 2, out);
    return IOTSEC_OK;
}

int pin_sym_auth_mac(const uint8_t key[PIN_KEY_LEN], const char *pin_id, const char *pine_id,
                     const char *gw_id, const uint8_t nonce[PIN_NONCE_LEN],
                     uint8_t out[PIN_MAC_LEN])
{
    if (!pin_id_ok(pin_id) || !pin_id_ok(pine_id) || !pin_id_ok(gw_id))
        return IOTSEC_ERR_INVALID;
    struct field f[] = {{pin_id, strlen(pin_id)},
                        {pine_id, strlen(pine_id)},
                        {gw_id, strlen(gw_id)},
                        {nonce, PIN_NONCE_LEN}};
    mac_lp(key, PIN_KEY_LEN, PIN_LABEL " pine-auth-sym", f, 4, out);
    return IOTSEC_OK;
}

int pin_sym_decision_mac(const uint8_t key[PIN_KEY_LEN], const char *decision, size_t len,
                         uint8_t out[PIN_MAC_LEN])
{
    if (decision == NULL || len == 0 || len > 0xffff)
        return IOTSEC_ERR_INVALID;
    struct field f[] = {{decision, len}};
    mac_lp(key, PIN_KEY_LEN, PIN_LABEL " decision-sym", f, 1, out);
    return IOTSEC_OK;
}
