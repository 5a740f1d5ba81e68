/* Key derivation: the generic 3GPP KDF (TS 33.220 Annex B.2) and the 5G key hierarchy built
 * on it (TS 33.501 Annex A). All outputs are secrets except HXRES*: wipe after use. */
#ifndef IOTSEC_CRYPTO_KDF_H
#define IOTSEC_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hmac_sha256.h"

#define KDF_KEY_LEN    32
#define KDF_RES_STAR_LEN 16
#define KDF_MAX_PARAM  0xffff /* Li is a 16-bit length */

/* One parameter Pi of S = FC || P0 || L0 || P1 || L1 ... */
struct kdf_param {
    const void *data;
    size_t len;
};

/* out = HMAC-SHA-256(key, FC || P0 || L0 || ...). Returns IOTSEC_ERR_INVALID when a
 * parameter is longer than 65535 bytes. The key is a prepared HMAC state so that callers
 * deriving several keys from one secret pay its pad compressions once. */
int kdf_3gpp(const struct hmac_sha256 *key, uint8_t fc, const struct kdf_param *params,
             size_t nparams, uint8_t out[KDF_KEY_LEN]);

/* FC values (TS 33.501 Annex A, TS 33.402 Annex A for CK'/IK'). */
enum kdf_fc {
    KDF_FC_CK_IK_PRIME = 0x20,
    KDF_FC_KNAS = 0x69,
    KDF_FC_KAUSF = 0x6a,
    KDF_FC_RES_STAR = 0x6b,
    KDF_FC_KSEAF = 0x6c,
    KDF_FC_KAMF = 0x6d,
    KDF_FC_KGNB = 0x6e,
};

/* KAUSF (A.2), for 5G AKA: key CK||IK, P0 = serving network name, P1 = SQN XOR AK. */
int kdf_kausf(const struct hmac_sha256 *ck_ik, const char *snn, size_t snn_len,
              const uint8_t sqn_xor_ak[6], uint8_t kausf[32]);

/* RES* / XRES* (A.4): key CK||IK, P0 = SNN, P1 = RAND, P2 = RES (4..16 bytes); the result is
 * the last 128 bits of the KDF output. */
int kdf_res_star(const struct hmac_sha256 *ck_ik, const char *snn, size_t snn_len,
                 const uint8_t rand[16], const uint8_t *res, size_t res_len,
                 uint8_t res_star[16]);

/* HRES* / HXRES* (A.5): the last 128 bits of SHA-256(RAND || RES*). Not a secret. */
void kdf_hres_star(const uint8_t rand[16], const uint8_t res_star[16], uint8_t hres_star[16]);

/* KSEAF (A.6): key KAUSF, P0 = SNN. */
int kdf_kseaf(const uint8_t kausf[32], const char *snn, size_t snn_len, uint8_t kseaf[32]);

/* KAMF (A.7): key KSEAF, P0 = the SUPI's value (IMSI digits or NAI, without the type
 * prefix), P1 = ABBA. */
int kdf_kamf(const uint8_t kseaf[32], const char *supi_value, size_t supi_len,
             const uint8_t *abba, size_t abba_len, uint8_t kamf[32]);

/* NAS keys (A.8): key KAMF, P0 = algorithm type distinguisher, P1 = algorithm identity;
 * the key is the last 128 bits. */
enum kdf_nas_alg_type { KDF_NAS_ENC = 0x01, KDF_NAS_INT = 0x02 };
int kdf_knas(const uint8_t kamf[32], enum kdf_nas_alg_type type, uint8_t alg_id,
             uint8_t knas[16]);

/* KgNB (A.9): key KAMF, P0 = uplink NAS COUNT (32 bits), P1 = access type distinguisher
 * (0x01 3GPP, 0x02 non-3GPP). */
int kdf_kgnb(const uint8_t kamf[32], uint32_t ul_nas_count, uint8_t access_type,
             uint8_t kgnb[32]);

/* Prepares the CK||IK key state that KAUSF, RES*, and CK'/IK' derive from. Wipe it after. */
void kdf_ck_ik_key(const uint8_t ck[16], const uint8_t ik[16], struct hmac_sha256 *ck_ik);

#endif
