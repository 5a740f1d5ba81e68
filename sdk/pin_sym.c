/* libiotsec-device: a PINE without public-key crypto (sdk/pin.h, docs/pin.md). Everything here
 * is HMAC-SHA-256, so a PINE with no ECC (and no AES) joins with its one-time code and
 * authenticates through its PEGC with a MAC over the network's nonce. */
#include <stdio.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/ct.h"
#include "onboard.h"
#include "pin.h"
#include "pin_int.h"

int pin_sym_join_request(struct pin_sym_pine *p, const char *pin_id, const char *name,
                         const char *code, char *out, size_t cap)
{
    memset(p, 0, sizeof(*p));
    uint8_t proof[PIN_MAC_LEN];
    if (!pin_id_ok(pin_id) || !pin_id_ok(name))
        return IOTSEC_ERR_INVALID;
    snprintf(p->pin_id, sizeof(p->pin_id), "%s", pin_id);
    snprintf(p->name, sizeof(p->name), "%s", name);
    int rc = pin_code_hash(code, pin_id, name, p->code_hash);
    if (rc == IOTSEC_OK)
        rc = pin_sym_join_proof(p->code_hash, pin_id, name, proof);
    if (rc != IOTSEC_OK)
        return rc;
    char p64[64];
    b64url_encode(proof, sizeof(proof), p64);
    int n = snprintf(out, cap,
                     "{\"pin_id\":\"%s\",\"name\":\"%s\",\"credential\":\"symmetric\","
                     "\"code_proof\":\"%s\"}",
                     pin_id, name, p64);
    return n > 0 && (size_t)n < cap ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

int pin_sym_pine_accept(struct pin_sym_pine *p, const char *answer, size_t len)
{
    const char *v;
    size_t vl;
    bool str;
    uint8_t salt[PIN_SALT_LEN], confirm[PIN_MAC_LEN], want[PIN_MAC_LEN];
    if (json_member(answer, len, "pine_id", &v, &vl, &str) != IOTSEC_OK || !str || vl == 0 ||
        vl > PIN_ID_MAX || pin_member_b64(answer, len, "salt", salt, sizeof(salt)) != IOTSEC_OK ||
        pin_member_b64(answer, len, "confirm", confirm, sizeof(confirm)) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    memcpy(p->pine_id, v, vl);
    p->pine_id[vl] = 0;
    int rc = pin_sym_key(p->code_hash, p->pin_id, p->pine_id, salt, p->key);
    if (rc == IOTSEC_OK)
        rc = pin_sym_confirm(p->key, p->pin_id, p->pine_id, want);
    if (rc == IOTSEC_OK && !ct_equal(want, confirm, PIN_MAC_LEN))
        rc = IOTSEC_ERR_AUTH;
    secure_wipe(want, sizeof(want));
    if (rc != IOTSEC_OK) {
        secure_wipe(p->key, sizeof(p->key));
        p->pine_id[0] = 0;
        return rc;
    }
    secure_wipe(p->code_hash, sizeof(p->code_hash)); /* single use: the key replaces it */
    return IOTSEC_OK;
}

int pin_sym_auth_request(const struct pin_sym_pine *p, const char *gw_id,
                         const uint8_t nonce[PIN_NONCE_LEN], char *out, size_t cap)
{
    uint8_t mac[PIN_MAC_LEN];
    int rc = pin_sym_auth_mac(p->key, p->pin_id, p->pine_id, gw_id, nonce, mac);
    if (rc != IOTSEC_OK)
        return rc;
    char m64[64];
    b64url_encode(mac, sizeof(mac), m64);
    int n = snprintf(out, cap, "{\"pin_id\":\"%s\",\"pine_id\":\"%s\",\"mac\":\"%s\"}", p->pin_id,
                     p->pine_id, m64);
    return n > 0 && (size_t)n < cap ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

int pin_sym_decision_check(const struct pin_sym_pine *p, const char *answer, size_t len)
{
    const char *v;
    size_t vl, dl;
    bool str;
    char d[2048];
    uint8_t mac[PIN_MAC_LEN], want[PIN_MAC_LEN];
    if (json_member(answer, len, "decision", &v, &vl, &str) != IOTSEC_OK || !str ||
        pin_unescape(v, vl, d, sizeof(d), &dl) != IOTSEC_OK ||
        pin_member_b64(answer, len, "pine_mac", mac, sizeof(mac)) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    int rc = pin_sym_decision_mac(p->key, d, dl, want);
    if (rc == IOTSEC_OK && !ct_equal(want, mac, PIN_MAC_LEN))
        rc = IOTSEC_ERR_AUTH;
    secure_wipe(want, sizeof(want));
    return rc;
}

void pin_sym_pine_wipe(struct pin_sym_pine *p)
{
    secure_wipe(p, sizeof(*p));
}
