/* The PIN messages (crypto/pin_crypto.h). HMACs on the repo's pad-state HMAC; the byte strings
 * to sign are built with the provisioning codec's writer (length prefixes, overflow flag). */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/hmac_sha256.h"
#include "crypto/pin_crypto.h"
#include "crypto/provision_crypto.h"

static void update_lp(struct hmac_sha256_run *run, const void *data, size_t len)
{
    uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};
    hmac_sha256_update(run, prefix, sizeof(prefix));
    if (len)
        hmac_sha256_update(run, data, len);
}

int pin_id_ok(const char *s)
{
    size_t n = s ? strnlen(s, PIN_ID_MAX + 1) : 0;
    if (n == 0 || n > PIN_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

int pin_ue_key(const uint8_t *k, size_t k_len, const char *supi, uint32_t cred_version,
               uint8_t uk[PIN_KEY_LEN])
{
    size_t n = supi ? strnlen(supi, PIN_SUPI_MAX + 1) : 0;
    if (k == NULL || k_len == 0 || n == 0 || n > PIN_SUPI_MAX)
        return IOTSEC_ERR_INVALID;
    static const char label[] = PIN_LABEL " ue-key";
    uint8_t v[4] = {(uint8_t)(cred_version >> 24), (uint8_t)(cred_version >> 16),
                    (uint8_t)(cred_version >> 8), (uint8_t)cred_version};
    struct hmac_sha256 h;
    struct hmac_sha256_run run;
    hmac_sha256_init(&h, k, k_len);
    hmac_sha256_start(&h, &run);
    update_lp(&run, label, sizeof(label) - 1);
    update_lp(&run, supi, n);
    hmac_sha256_update(&run, v, sizeof(v));
    hmac_sha256_finish(&h, &run, uk);
    hmac_sha256_wipe(&h);
    return IOTSEC_OK;
}

int pin_request_mac(const uint8_t uk[PIN_KEY_LEN], const char *op,
                    const uint8_t nonce[PIN_NONCE_LEN], const void *request, size_t request_len,
                    uint8_t mac[PIN_MAC_LEN])
{
    if (!pin_id_ok(op) || request_len > PIN_REQUEST_MAX || (request == NULL && request_len))
        return IOTSEC_ERR_INVALID;
    static const char label[] = PIN_LABEL " request";
    struct hmac_sha256 h;
    struct hmac_sha256_run run;
    hmac_sha256_init(&h, uk, PIN_KEY_LEN);
    hmac_sha256_start(&h, &run);
    update_lp(&run, label, sizeof(label) - 1);
    update_lp(&run, op, strlen(op));
    update_lp(&run, nonce, PIN_NONCE_LEN);
    update_lp(&run, request, request_len);
    hmac_sha256_finish(&h, &run, mac);
    hmac_sha256_wipe(&h);
    return IOTSEC_OK;
}

int pin_request_verify(const uint8_t uk[PIN_KEY_LEN], const char *op,
                       const uint8_t nonce[PIN_NONCE_LEN], const void *request, size_t request_len,
                       const uint8_t mac[PIN_MAC_LEN])
{
    uint8_t want[PIN_MAC_LEN];
    int rc = pin_request_mac(uk, op, nonce, request, request_len, want);
    if (rc == IOTSEC_OK && !ct_equal(want, mac, PIN_MAC_LEN))
        rc = IOTSEC_ERR_AUTH;
    secure_wipe(want, sizeof(want));
    return rc;
}

static void put_label(struct prov_writer *w, const char *suffix)
{
    char label[64];
    size_t n = (size_t)snprintf(label, sizeof(label), "%s %s", PIN_LABEL, suffix);
    prov_put_lp(w, label, n);
}

static int finish(const struct prov_writer *w, size_t *len)
{
    if (w->overflow)
        return IOTSEC_ERR_INVALID;
    *len = w->len;
    return IOTSEC_OK;
}

int pin_msg_join(const char *pin_id, const char *name, const uint8_t pub[PIN_PUB_LEN],
                 uint8_t out[PIN_MSG_MAX], size_t *len)
{
    if (!pin_id_ok(pin_id) || !pin_id_ok(name) || pub == NULL)
        return IOTSEC_ERR_INVALID;
    struct prov_writer w = {out, PIN_MSG_MAX, 0, false};
    put_label(&w, "join");
    prov_put_lp(&w, pin_id, strlen(pin_id));
    prov_put_lp(&w, name, strlen(name));
    prov_put(&w, pub, PIN_PUB_LEN);
    return finish(&w, len);
}

int pin_msg_auth(const char *pin_id, const char *pine_id, const char *gw_id,
                 const uint8_t nonce[PIN_NONCE_LEN], uint8_t out[PIN_MSG_MAX], size_t *len)
{
    if (!pin_id_ok(pin_id) || !pin_id_ok(pine_id) || !pin_id_ok(gw_id) || nonce == NULL)
        return IOTSEC_ERR_INVALID;
    struct prov_writer w = {out, PIN_MSG_MAX, 0, false};
    put_label(&w, "pine-auth");
    prov_put_lp(&w, pin_id, strlen(pin_id));
    prov_put_lp(&w, pine_id, strlen(pine_id));
    prov_put_lp(&w, gw_id, strlen(gw_id));
    prov_put_lp(&w, nonce, PIN_NONCE_LEN);
    return finish(&w, len);
}

int pin_msg_cert(const char *pin_id, const char *pine_id, const uint8_t pub[PIN_PUB_LEN],
                 uint8_t out[PIN_MSG_MAX], size_t *len)
{
    if (!pin_id_ok(pin_id) || !pin_id_ok(pine_id) || pub == NULL)
        return IOTSEC_ERR_INVALID;
    struct prov_writer w = {out, PIN_MSG_MAX, 0, false};
    put_label(&w, "pine-cert");
    prov_put_lp(&w, pin_id, strlen(pin_id));
    prov_put_lp(&w, pine_id, strlen(pine_id));
    prov_put(&w, pub, PIN_PUB_LEN);
    return finish(&w, len);
}

int pin_msg_decision(const char *decision, size_t decision_len, uint8_t *out, size_t cap,
                     size_t *len)
{
    if (decision == NULL || decision_len == 0 || decision_len > PIN_REQUEST_MAX)
        return IOTSEC_ERR_INVALID;
    struct prov_writer w = {out, cap, 0, false};
    put_label(&w, "decision");
    prov_put_lp(&w, decision, decision_len);
    return finish(&w, len);
}

int pin_code_ok(const char *code)
{
    size_t n = code ? strnlen(code, PIN_CODE_MAX + 1) : 0;
    if (n < PIN_CODE_MIN || n > PIN_CODE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= '2' && code[i] <= '7')))
            return 0;
    return 1;
}

int pin_code_hash(const char *code, const char *pin_id, const char *name, uint8_t out[PIN_MAC_LEN])
{
    if (!pin_code_ok(code) || !pin_id_ok(pin_id) || !pin_id_ok(name))
        return IOTSEC_ERR_INVALID;
    static const char label[] = PIN_LABEL " enrol-code";
    struct hmac_sha256 h;
    struct hmac_sha256_run run;
    hmac_sha256_init(&h, (const uint8_t *)code, strlen(code));
    hmac_sha256_start(&h, &run);
    update_lp(&run, label, sizeof(label) - 1);
    update_lp(&run, pin_id, strlen(pin_id));
    update_lp(&run, name, strlen(name));
    hmac_sha256_finish(&h, &run, out);
    hmac_sha256_wipe(&h);
    return IOTSEC_OK;
}

int pin_code_proof(const uint8_t code_hash[PIN_MAC_LEN], const char *pin_id, const char *name,
                   const uint8_t pub[PIN_PUB_LEN], uint8_t out[PIN_MAC_LEN])
{
    if (!pin_id_ok(pin_id) || !pin_id_ok(name) || pub == NULL)
        return IOTSEC_ERR_INVALID;
    static const char label[] = PIN_LABEL " join-code";
    struct hmac_sha256 h;
    struct hmac_sha256_run run;
    hmac_sha256_init(&h, code_hash, PIN_MAC_LEN);
    hmac_sha256_start(&h, &run);
    update_lp(&run, label, sizeof(label) - 1);
    update_lp(&run, pin_id, strlen(pin_id));
    update_lp(&run, name, strlen(name));
    hmac_sha256_update(&run, pub, PIN_PUB_LEN);
    hmac_sha256_finish(&h, &run, out);
    hmac_sha256_wipe(&h);
    return IOTSEC_OK;
}
