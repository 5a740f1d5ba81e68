#include "aka/aka_eap.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/eap_aka_prime.h"
#include "crypto/hmac_sha256.h"
#include "crypto/rand.h"

#define EAP_HEADER 8 /* code, id, length(2), type, subtype, reserved(2) */
#define EAP_MAX 512

char *aka_base64_encode(const uint8_t *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

int aka_base64_decode(const char *b64, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = strlen(b64);
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap)
        return IOTSEC_ERR_INVALID;
    int got = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
    if (got < 0)
        return IOTSEC_ERR_INVALID;
    /* EVP_DecodeBlock counts the padding as zero bytes: take them off. */
    size_t pad = (b64[n - 1] == '=') + (b64[n - 2] == '=');
    *len = (size_t)got - pad;
    return IOTSEC_OK;
}

void aka_eap_mac(const uint8_t k_aut[32], const uint8_t *pkt, size_t len, uint8_t mac[16])
{
    struct hmac_sha256 h;
    uint8_t full[SHA256_LEN];
    hmac_sha256_init(&h, k_aut, 32);
    hmac_sha256(&h, pkt, len, full);
    memcpy(mac, full, 16);
    hmac_sha256_wipe(&h);
    secure_wipe(full, sizeof(full));
}

int aka_eap_find_attr(const uint8_t *pkt, size_t len, uint8_t at, const uint8_t **value,
                      size_t *value_len)
{
    size_t off = EAP_HEADER;
    while (off + 2 <= len) {
        size_t alen = (size_t)pkt[off + 1] * 4;
        if (alen == 0 || off + alen > len)
            return IOTSEC_ERR_INVALID;
        if (pkt[off] == at) {
            *value = pkt + off + 2;
            *value_len = alen - 2;
            return IOTSEC_OK;
        }
        off += alen;
    }
    return IOTSEC_ERR_NOTFOUND;
}

static size_t put_attr(uint8_t *p, uint8_t type, const uint8_t *reserved2, const uint8_t *data,
                       size_t len)
{
    size_t total = (2 + 2 + len + 3) / 4 * 4;
    memset(p, 0, total);
    p[0] = type;
    p[1] = (uint8_t)(total / 4);
    if (reserved2)
        memcpy(p + 2, reserved2, 2);
    if (len)
        memcpy(p + 4, data, len);
    return total;
}

int aka_eap_challenge(struct auth_ctx *ctx, const char *supi, const uint8_t rand[16],
                      const uint8_t autn[16], const uint8_t xres[8], const uint8_t ck_prime[16],
                      const uint8_t ik_prime[16], char **payload)
{
    const char *identity = strchr(supi, '-') ? strchr(supi, '-') + 1 : supi;
    struct eap_aka_prime_keys keys;
    int rc = eap_aka_prime_keys(ck_prime, ik_prime, identity, strlen(identity), &keys);
    size_t snn_len = strlen(ctx->snn);
    if (rc != IOTSEC_OK || snn_len > 200)
        return rc != IOTSEC_OK ? rc : IOTSEC_ERR_INVALID;
    uint8_t id;
    if (crypto_random(&id, 1) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    uint8_t pkt[EAP_MAX], zero2[2] = {0, 0}, kdf[2] = {0, 1}, name_len[2];
    size_t n = EAP_HEADER;
    n += put_attr(pkt + n, EAP_AT_RAND, zero2, rand, 16);
    n += put_attr(pkt + n, EAP_AT_AUTN, zero2, autn, 16);
    name_len[0] = (uint8_t)(snn_len >> 8);
    name_len[1] = (uint8_t)snn_len;
    n += put_attr(pkt + n, EAP_AT_KDF_INPUT, name_len, (const uint8_t *)ctx->snn, snn_len);
    n += put_attr(pkt + n, EAP_AT_KDF, kdf, NULL, 0);
    size_t mac_at = n + 4;
    uint8_t zero16[16] = {0};
    n += put_attr(pkt + n, EAP_AT_MAC, zero2, zero16, 16);
    pkt[0] = EAP_CODE_REQUEST;
    pkt[1] = id;
    pkt[2] = (uint8_t)(n >> 8);
    pkt[3] = (uint8_t)n;
    pkt[4] = EAP_TYPE_AKA_PRIME;
    pkt[5] = EAP_SUBTYPE_CHALLENGE;
    pkt[6] = pkt[7] = 0;
    aka_eap_mac(keys.k_aut, pkt, n, pkt + mac_at);

    memcpy(ctx->rand, rand, 16);
    memcpy(ctx->xres_star, xres, 8);
    ctx->res_len = 8;
    memcpy(ctx->k_aut, keys.k_aut, 32);
    memcpy(ctx->kausf, keys.emsk, 32);
    ctx->eap_id = id;
    secure_wipe(&keys, sizeof(keys));
    *payload = aka_base64_encode(pkt, n);
    return *payload ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
}

static int reply_packet(uint8_t code, uint8_t id, char **reply)
{
    uint8_t pkt[4] = {code, id, 0, 4};
    *reply = aka_base64_encode(pkt, sizeof(pkt));
    return *reply ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
}

int aka_eap_check_response(const struct auth_ctx *ctx, const char *payload, bool *success,
                           char **reply)
{
    uint8_t pkt[EAP_MAX];
    size_t len;
    *success = false;
    *reply = NULL;
    if (payload == NULL || aka_base64_decode(payload, pkt, sizeof(pkt), &len) != IOTSEC_OK ||
        len < EAP_HEADER || pkt[0] != EAP_CODE_RESPONSE || pkt[1] != ctx->eap_id ||
        ((size_t)pkt[2] << 8 | pkt[3]) != len || pkt[4] != EAP_TYPE_AKA_PRIME)
        return IOTSEC_ERR_INVALID;
    if (pkt[5] != EAP_SUBTYPE_CHALLENGE) /* reject, synch failure, client error: no success */
        return reply_packet(EAP_CODE_FAILURE, ctx->eap_id, reply);

    const uint8_t *mac, *res;
    size_t mac_len, res_len;
    if (aka_eap_find_attr(pkt, len, EAP_AT_MAC, &mac, &mac_len) != IOTSEC_OK || mac_len != 18 ||
        aka_eap_find_attr(pkt, len, EAP_AT_RES, &res, &res_len) != IOTSEC_OK || res_len < 2)
        return IOTSEC_ERR_INVALID;
    uint8_t got_mac[16], want_mac[16];
    memcpy(got_mac, mac + 2, 16);
    memset((uint8_t *)mac + 2, 0, 16);
    aka_eap_mac(ctx->k_aut, pkt, len, want_mac);
    size_t res_bits = (size_t)res[0] << 8 | res[1];
    bool mac_ok = ct_equal(got_mac, want_mac, 16);
    bool res_ok = res_bits == ctx->res_len * 8 && res_len - 2 >= ctx->res_len &&
                  ct_equal(res + 2, ctx->xres_star, ctx->res_len);
    *success = mac_ok && res_ok;
    return reply_packet(*success ? EAP_CODE_SUCCESS : EAP_CODE_FAILURE, ctx->eap_id, reply);
}
