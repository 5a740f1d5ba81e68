#include "crypto/eap_aka_prime.h"

#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/hmac_sha256.h"
#include "crypto/kdf.h"

#define EAP_AKA_PRIME_LABEL "EAP-AKA'"
#define MK_LEN (16 + 32 + 32 + 64 + 64)
#define IDENTITY_MAX 1024

int eap_aka_prime_ck_ik_prime(const uint8_t ck[16], const uint8_t ik[16],
                              const char *network_name, size_t name_len,
                              const uint8_t sqn_xor_ak[6], uint8_t ck_prime[16],
                              uint8_t ik_prime[16])
{
    struct hmac_sha256 key;
    kdf_ck_ik_key(ck, ik, &key);
    const struct kdf_param p[] = {{network_name, name_len}, {sqn_xor_ak, 6}};
    uint8_t out[KDF_KEY_LEN];
    int rc = kdf_3gpp(&key, KDF_FC_CK_IK_PRIME, p, 2, out);
    if (rc == IOTSEC_OK) {
        memcpy(ck_prime, out, 16);
        memcpy(ik_prime, out + 16, 16);
    }
    secure_wipe(out, sizeof(out));
    hmac_sha256_wipe(&key);
    return rc;
}

int eap_aka_prime_prf(const uint8_t *key, size_t key_len, const void *s, size_t s_len,
                      uint8_t *out, size_t out_len)
{
    if (out_len > 255 * SHA256_LEN)
        return IOTSEC_ERR_INVALID;
    struct hmac_sha256 h;
    hmac_sha256_init(&h, key, key_len);
    uint8_t t[SHA256_LEN];
    size_t done = 0;
    for (unsigned n = 1; done < out_len; n++) {
        struct hmac_sha256_run run;
        uint8_t counter = (uint8_t)n;
        hmac_sha256_start(&h, &run);
        if (n > 1)
            hmac_sha256_update(&run, t, sizeof(t));
        hmac_sha256_update(&run, s, s_len);
        hmac_sha256_update(&run, &counter, 1);
        hmac_sha256_finish(&h, &run, t);
        size_t take = out_len - done < sizeof(t) ? out_len - done : sizeof(t);
        memcpy(out + done, t, take);
        done += take;
    }
    secure_wipe(t, sizeof(t));
    hmac_sha256_wipe(&h);
    return IOTSEC_OK;
}

int eap_aka_prime_keys(const uint8_t ck_prime[16], const uint8_t ik_prime[16],
                       const char *identity, size_t identity_len,
                       struct eap_aka_prime_keys *out)
{
    if (identity_len > IDENTITY_MAX)
        return IOTSEC_ERR_INVALID;
    uint8_t key[32], s[sizeof(EAP_AKA_PRIME_LABEL) - 1 + IDENTITY_MAX], mk[MK_LEN];
    memcpy(key, ik_prime, 16); /* IK' || CK': the order is IK first (RFC 5448 §3.3) */
    memcpy(key + 16, ck_prime, 16);
    size_t label_len = sizeof(EAP_AKA_PRIME_LABEL) - 1;
    memcpy(s, EAP_AKA_PRIME_LABEL, label_len);
    if (identity_len)
        memcpy(s + label_len, identity, identity_len);
    int rc = eap_aka_prime_prf(key, sizeof(key), s, label_len + identity_len, mk, sizeof(mk));
    if (rc == IOTSEC_OK) {
        const uint8_t *p = mk;
        memcpy(out->k_encr, p, 16);
        memcpy(out->k_aut, p += 16, 32);
        memcpy(out->k_re, p += 32, 32);
        memcpy(out->msk, p += 32, 64);
        memcpy(out->emsk, p + 64, 64);
    }
    secure_wipe(key, sizeof(key));
    secure_wipe(mk, sizeof(mk));
    return rc;
}
