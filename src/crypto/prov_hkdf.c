/* HKDF-SHA-256 over OpenSSL's EVP_KDF "HKDF". The algorithm is fetched once; a derivation
 * makes a context from it and frees it at once (which cleanses the key it held). OpenSSL 3.0's
 * HKDF cannot duplicate a prepared context, and a reset one forgets its digest, so the digest
 * is named on every call; the method store resolves it without a provider load. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <pthread.h>

#include "base/err.h"
#include "crypto/provision_crypto.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static EVP_KDF *hkdf;

static void init(void)
{
    hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

int prov_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                     const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    static const uint8_t none[1];
    if (out_len == 0 || out_len > 255 * 32 || ikm == NULL || (salt == NULL && salt_len) ||
        (info == NULL && info_len))
        return IOTSEC_ERR_INVALID;
    pthread_once(&init_once, init);
    if (hkdf == NULL)
        return IOTSEC_ERR_CRYPTO;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(hkdf);
    if (ctx == NULL)
        return IOTSEC_ERR_NOMEM;
    /* OSSL_PARAM wants non-const pointers; the KDF only reads them. */
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt_len) /* no salt: the RFC's default of HashLen zeros */
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(info_len ? info : none),
                                             info_len);
    *p = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        return IOTSEC_ERR_CRYPTO;
    }
    return IOTSEC_OK;
}
