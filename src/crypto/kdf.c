#include "crypto/kdf.h"

#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"

int kdf_3gpp(const struct hmac_sha256 *key, uint8_t fc, const struct kdf_param *params,
             size_t nparams, uint8_t out[KDF_KEY_LEN])
{
    for (size_t i = 0; i < nparams; i++) {
        if (params[i].len > KDF_MAX_PARAM)
            return IOTSEC_ERR_INVALID;
    }
    struct hmac_sha256_run run;
    hmac_sha256_start(key, &run);
    hmac_sha256_update(&run, &fc, 1);
    for (size_t i = 0; i < nparams; i++) {
        uint8_t len_be[2] = {(uint8_t)(params[i].len >> 8), (uint8_t)params[i].len};
        if (params[i].len)
            hmac_sha256_update(&run, params[i].data, params[i].len);
        hmac_sha256_update(&run, len_be, 2);
    }
    hmac_sha256_finish(key, &run, out);
    return IOTSEC_OK;
}

void kdf_ck_ik_key(const uint8_t ck[16], const uint8_t ik[16], struct hmac_sha256 *ck_ik)
{
    uint8_t key[32];
    memcpy(key, ck, 16);
    memcpy(key + 16, ik, 16);
    hmac_sha256_init(ck_ik, key, sizeof(key));
    secure_wipe(key, sizeof(key));
}

/* Derivations keyed by a 32-byte key held in a plain buffer. */
static int kdf_with_key(const uint8_t key[32], uint8_t fc, const struct kdf_param *params,
                        size_t nparams, uint8_t out[KDF_KEY_LEN])
{
    struct hmac_sha256 h;
    hmac_sha256_init(&h, key, 32);
    int rc = kdf_3gpp(&h, fc, params, nparams, out);
    hmac_sha256_wipe(&h);
    return rc;
}

int kdf_kausf(const struct hmac_sha256 *ck_ik, const char *snn, size_t snn_len,
              const uint8_t sqn_xor_ak[6], uint8_t kausf[32])
{
    const struct kdf_param p[] = {{snn, snn_len}, {sqn_xor_ak, 6}};
    return kdf_3gpp(ck_ik, KDF_FC_KAUSF, p, 2, kausf);
}

int kdf_res_star(const struct hmac_sha256 *ck_ik, const char *snn, size_t snn_len,
                 const uint8_t rand[16], const uint8_t *res, size_t res_len,
                 uint8_t res_star[16])
{
    if (res_len < 4 || res_len > 16)
        return IOTSEC_ERR_INVALID;
    const struct kdf_param p[] = {{snn, snn_len}, {rand, 16}, {res, res_len}};
    uint8_t full[KDF_KEY_LEN];
    int rc = kdf_3gpp(ck_ik, KDF_FC_RES_STAR, p, 3, full);
    if (rc == IOTSEC_OK)
        memcpy(res_star, full + 16, 16);
    secure_wipe(full, sizeof(full));
    return rc;
}

void kdf_hres_star(const uint8_t rand[16], const uint8_t res_star[16], uint8_t hres_star[16])
{
    uint8_t digest[SHA256_LEN];
    sha256_2(rand, 16, res_star, 16, digest);
    memcpy(hres_star, digest + 16, 16);
}

int kdf_kseaf(const uint8_t kausf[32], const char *snn, size_t snn_len, uint8_t kseaf[32])
{
    const struct kdf_param p[] = {{snn, snn_len}};
    return kdf_with_key(kausf, KDF_FC_KSEAF, p, 1, kseaf);
}

int kdf_kamf(const uint8_t kseaf[32], const char *supi_value, size_t supi_len,
             const uint8_t *abba, size_t abba_len, uint8_t kamf[32])
{
    const struct kdf_param p[] = {{supi_value, supi_len}, {abba, abba_len}};
    return kdf_with_key(kseaf, KDF_FC_KAMF, p, 2, kamf);
}

int kdf_knas(const uint8_t kamf[32], enum kdf_nas_alg_type type, uint8_t alg_id,
             uint8_t knas[16])
{
    uint8_t type_byte = (uint8_t)type;
    const struct kdf_param p[] = {{&type_byte, 1}, {&alg_id, 1}};
    uint8_t full[KDF_KEY_LEN];
    int rc = kdf_with_key(kamf, KDF_FC_KNAS, p, 2, full);
    if (rc == IOTSEC_OK)
        memcpy(knas, full + 16, 16);
    secure_wipe(full, sizeof(full));
    return rc;
}

int kdf_kgnb(const uint8_t kamf[32], uint32_t ul_nas_count, uint8_t access_type,
             uint8_t kgnb[32])
{
    uint8_t count_be[4] = {(uint8_t)(ul_nas_count >> 24), (uint8_t)(ul_nas_count >> 16),
                           (uint8_t)(ul_nas_count >> 8), (uint8_t)ul_nas_count};
    const struct kdf_param p[] = {{count_be, 4}, {&access_type, 1}};
    return kdf_with_key(kamf, KDF_FC_KGNB, p, 2, kgnb);
}
