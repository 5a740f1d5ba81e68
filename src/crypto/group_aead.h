/* AES-GCM and AES key wrap for the group formats, on per-thread OpenSSL contexts (one
 * context per thread and algorithm, re-keyed per call: a message is protected at 10^5/s and
 * a context allocation per call would cost more than the cipher). Internal to src/crypto. */
#ifndef IOTSEC_CRYPTO_GROUP_AEAD_H
#define IOTSEC_CRYPTO_GROUP_AEAD_H

#include <stddef.h>
#include <stdint.h>

enum group_aead_alg {
    GROUP_AEAD_AES128_GCM,
    GROUP_AEAD_AES256_GCM,
    GROUP_AEAD_AES128_WRAP,
    GROUP_AEAD_COUNT,
};

/* GCM: pt may be NULL with pt_len 0 (GMAC over aad only). tag is 16 bytes. */
int group_gcm_seal(enum group_aead_alg alg, const uint8_t *key, const uint8_t nonce[12],
                   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                   uint8_t *ct, uint8_t tag[16]);
/* IOTSEC_ERR_AUTH on a bad tag (pt zeroed). */
int group_gcm_open(enum group_aead_alg alg, const uint8_t *key, const uint8_t nonce[12],
                   const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                   const uint8_t tag[16], uint8_t *pt);

#endif
