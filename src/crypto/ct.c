#include "crypto/ct.h"

#include <openssl/crypto.h>

bool ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void secure_wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}
