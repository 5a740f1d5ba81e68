/* HMAC-SHA-256 for the hot paths (3GPP KDF, PRF', SUCI MAC). The key's inner and outer pad
 * states are computed once and reused by plain copies, so deriving several keys from one
 * CK||IK costs two compressions less each time, and no call goes through OpenSSL 3's
 * provider dispatch (which costs 5-10x the hash itself on short inputs). */
#ifndef IOTSEC_CRYPTO_HMAC_SHA256_H
#define IOTSEC_CRYPTO_HMAC_SHA256_H

#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

/* A keyed HMAC state. Holds key material: wipe with hmac_sha256_wipe() after use. */
struct hmac_sha256 {
    SHA256_CTX inner; /* state after absorbing key XOR ipad */
    SHA256_CTX outer; /* state after absorbing key XOR opad */
};

/* An HMAC computation in progress (message fed in pieces). */
struct hmac_sha256_run {
    SHA256_CTX ctx;
};

void hmac_sha256_init(struct hmac_sha256 *h, const void *key, size_t key_len);
void hmac_sha256_wipe(struct hmac_sha256 *h);

/* One-call MAC of a contiguous message. */
void hmac_sha256(const struct hmac_sha256 *h, const void *msg, size_t len,
                 uint8_t out[SHA256_LEN]);

/* Piecewise MAC: start, update any number of times, finish (which wipes the run). */
void hmac_sha256_start(const struct hmac_sha256 *h, struct hmac_sha256_run *run);
void hmac_sha256_update(struct hmac_sha256_run *run, const void *data, size_t len);
void hmac_sha256_finish(const struct hmac_sha256 *h, struct hmac_sha256_run *run,
                        uint8_t out[SHA256_LEN]);

/* Plain SHA-256 of the concatenation a || b (either may be empty). */
void sha256_2(const void *a, size_t a_len, const void *b, size_t b_len, uint8_t out[SHA256_LEN]);

#endif
