/* The SHA256_* functions are deprecated in OpenSSL 3 in favour of EVP_MD, but they are the
 * only way to reach the accelerated compression function (SHA-NI) without an allocation and
 * a provider call per digest, and SHA256_CTX is a plain struct we can copy. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "crypto/hmac_sha256.h"

#include <string.h>

#include "crypto/ct.h"

#define SHA256_BLOCK 64

void hmac_sha256_init(struct hmac_sha256 *h, const void *key, size_t key_len)
{
    uint8_t block[SHA256_BLOCK] = {0};
    if (key_len > SHA256_BLOCK) {
        SHA256_CTX c;
        SHA256_Init(&c);
        SHA256_Update(&c, key, key_len);
        SHA256_Final(block, &c);
        secure_wipe(&c, sizeof(c));
    } else if (key_len > 0) {
        memcpy(block, key, key_len);
    }
    for (size_t i = 0; i < SHA256_BLOCK; i++)
        block[i] ^= 0x36;
    SHA256_Init(&h->inner);
    SHA256_Update(&h->inner, block, SHA256_BLOCK);
    for (size_t i = 0; i < SHA256_BLOCK; i++)
        block[i] ^= 0x36 ^ 0x5c;
    SHA256_Init(&h->outer);
    SHA256_Update(&h->outer, block, SHA256_BLOCK);
    secure_wipe(block, sizeof(block));
}

void hmac_sha256_wipe(struct hmac_sha256 *h)
{
    secure_wipe(h, sizeof(*h));
}

void hmac_sha256_start(const struct hmac_sha256 *h, struct hmac_sha256_run *run)
{
    run->ctx = h->inner;
}

void hmac_sha256_update(struct hmac_sha256_run *run, const void *data, size_t len)
{
    SHA256_Update(&run->ctx, data, len);
}

void hmac_sha256_finish(const struct hmac_sha256 *h, struct hmac_sha256_run *run,
                        uint8_t out[SHA256_LEN])
{
    uint8_t inner_digest[SHA256_LEN];
    SHA256_Final(inner_digest, &run->ctx);
    run->ctx = h->outer;
    SHA256_Update(&run->ctx, inner_digest, sizeof(inner_digest));
    SHA256_Final(out, &run->ctx);
    secure_wipe(inner_digest, sizeof(inner_digest));
    secure_wipe(run, sizeof(*run));
}

void hmac_sha256(const struct hmac_sha256 *h, const void *msg, size_t len,
                 uint8_t out[SHA256_LEN])
{
    struct hmac_sha256_run run;
    hmac_sha256_start(h, &run);
    hmac_sha256_update(&run, msg, len);
    hmac_sha256_finish(h, &run, out);
}

void sha256_2(const void *a, size_t a_len, const void *b, size_t b_len, uint8_t out[SHA256_LEN])
{
    SHA256_CTX c;
    SHA256_Init(&c);
    if (a_len)
        SHA256_Update(&c, a, a_len);
    if (b_len)
        SHA256_Update(&c, b, b_len);
    SHA256_Final(out, &c);
    secure_wipe(&c, sizeof(c));
}
