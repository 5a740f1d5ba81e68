#include "crypto/group_aead.h"

#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/group_wire.h"

static EVP_CIPHER *ciphers[GROUP_AEAD_COUNT];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key; /* the thread's contexts, one per algorithm */

struct ctxs {
    EVP_CIPHER_CTX *c[GROUP_AEAD_COUNT];
};

static void free_ctxs(void *p)
{
    struct ctxs *x = p;
    for (int i = 0; i < GROUP_AEAD_COUNT; i++)
        EVP_CIPHER_CTX_free(x->c[i]);
    free(x);
}

static void init(void)
{
    ciphers[GROUP_AEAD_AES128_GCM] = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    ciphers[GROUP_AEAD_AES256_GCM] = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    ciphers[GROUP_AEAD_AES128_WRAP] = EVP_CIPHER_fetch(NULL, "AES-128-WRAP", NULL);
    pthread_key_create(&ctx_key, free_ctxs);
}

/* The thread's context for alg, or NULL. */
static EVP_CIPHER_CTX *get_ctx(enum group_aead_alg alg)
{
    pthread_once(&init_once, init);
    if (ciphers[alg] == NULL)
        return NULL;
    struct ctxs *x = pthread_getspecific(ctx_key);
    if (x == NULL) {
        if ((x = calloc(1, sizeof(*x))) == NULL)
            return NULL;
        if (pthread_setspecific(ctx_key, x) != 0) {
            free(x);
            return NULL;
        }
    }
    if (x->c[alg] == NULL)
        x->c[alg] = EVP_CIPHER_CTX_new();
    return x->c[alg];
}

int group_gcm_seal(enum group_aead_alg alg, const uint8_t *key, const uint8_t nonce[12],
                   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                   uint8_t *ct, uint8_t tag[16])
{
    if (pt_len > INT_MAX || aad_len > INT_MAX || alg == GROUP_AEAD_AES128_WRAP)
        return IOTSEC_ERR_INVALID;
    EVP_CIPHER_CTX *ctx = get_ctx(alg);
    if (ctx == NULL)
        return IOTSEC_ERR_NOMEM;
    int len, ok = EVP_EncryptInit_ex2(ctx, ciphers[alg], key, nonce, NULL) &&
                  EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_len) &&
                  (pt_len == 0 || EVP_EncryptUpdate(ctx, ct, &len, pt, (int)pt_len)) &&
                  EVP_EncryptFinal_ex(ctx, ct + pt_len, &len) &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
    return ok ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
}

int group_gcm_open(enum group_aead_alg alg, const uint8_t *key, const uint8_t nonce[12],
                   const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                   const uint8_t tag[16], uint8_t *pt)
{
    if (ct_len > INT_MAX || aad_len > INT_MAX || alg == GROUP_AEAD_AES128_WRAP)
        return IOTSEC_ERR_INVALID;
    EVP_CIPHER_CTX *ctx = get_ctx(alg);
    if (ctx == NULL)
        return IOTSEC_ERR_NOMEM;
    int len;
    if (!EVP_DecryptInit_ex2(ctx, ciphers[alg], key, nonce, NULL) ||
        !EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_len) ||
        (ct_len > 0 && !EVP_DecryptUpdate(ctx, pt, &len, ct, (int)ct_len)) ||
        !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)tag))
        return IOTSEC_ERR_CRYPTO;
    if (EVP_DecryptFinal_ex(ctx, pt + ct_len, &len) != 1) {
        if (ct_len > 0)
            memset(pt, 0, ct_len);
        return IOTSEC_ERR_AUTH;
    }
    return IOTSEC_OK;
}

int group_key_wrap(const uint8_t kek[GROUP_KEY_LEN], const uint8_t key[GROUP_KEY_LEN],
                   uint8_t out[GROUP_WRAP_LEN])
{
    EVP_CIPHER_CTX *ctx = get_ctx(GROUP_AEAD_AES128_WRAP);
    if (ctx == NULL)
        return IOTSEC_ERR_NOMEM;
    int len = 0, fin = 0;
    int ok = EVP_EncryptInit_ex2(ctx, ciphers[GROUP_AEAD_AES128_WRAP], kek, NULL, NULL) &&
             EVP_EncryptUpdate(ctx, out, &len, key, GROUP_KEY_LEN) &&
             EVP_EncryptFinal_ex(ctx, out + len, &fin) && len + fin == GROUP_WRAP_LEN;
    return ok ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
}

int group_key_unwrap(const uint8_t kek[GROUP_KEY_LEN], const uint8_t in[GROUP_WRAP_LEN],
                     uint8_t key[GROUP_KEY_LEN])
{
    EVP_CIPHER_CTX *ctx = get_ctx(GROUP_AEAD_AES128_WRAP);
    if (ctx == NULL)
        return IOTSEC_ERR_NOMEM;
    uint8_t tmp[GROUP_WRAP_LEN];
    int len = 0, fin = 0;
    int ok = EVP_DecryptInit_ex2(ctx, ciphers[GROUP_AEAD_AES128_WRAP], kek, NULL, NULL) &&
             EVP_DecryptUpdate(ctx, tmp, &len, in, GROUP_WRAP_LEN) &&
             EVP_DecryptFinal_ex(ctx, tmp + len, &fin) && len + fin == GROUP_KEY_LEN;
    if (ok)
        memcpy(key, tmp, GROUP_KEY_LEN);
    secure_wipe(tmp, sizeof(tmp));
    return ok ? IOTSEC_OK : IOTSEC_ERR_AUTH;
}
