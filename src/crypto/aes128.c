#include "crypto/aes128.h"

#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "base/err.h"

static EVP_CIPHER *aes128_ecb;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key; /* frees a thread's context when the thread exits */
/* The same pointer, for the hot path: a TLS read is cheaper than pthread_getspecific. */
static _Thread_local EVP_CIPHER_CTX *thread_ctx;

static void free_ctx(void *ctx)
{
    EVP_CIPHER_CTX_free(ctx); /* cleanses the key schedule */
}

static void init(void)
{
    aes128_ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
    pthread_key_create(&ctx_key, free_ctx);
}

static EVP_CIPHER_CTX *get_ctx(void)
{
    if (thread_ctx != NULL)
        return thread_ctx;
    pthread_once(&init_once, init);
    if (aes128_ecb == NULL)
        return NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return NULL;
    static const uint8_t zero_key[16];
    if (EVP_EncryptInit_ex2(ctx, aes128_ecb, zero_key, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    if (pthread_setspecific(ctx_key, ctx) != 0) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    thread_ctx = ctx;
    return ctx;
}

static int encrypt(EVP_CIPHER_CTX *ctx, const uint8_t *in, uint8_t *out, size_t nblocks)
{
    int out_len;
    if (nblocks > INT_MAX / AES128_BLOCK)
        return IOTSEC_ERR_INVALID;
    if (EVP_EncryptUpdate(ctx, out, &out_len, in, (int)(nblocks * AES128_BLOCK)) != 1)
        return IOTSEC_ERR_CRYPTO;
    return IOTSEC_OK;
}

int aes128_encrypt_blocks(const uint8_t key[16], const uint8_t *in, uint8_t *out, size_t nblocks)
{
    EVP_CIPHER_CTX *ctx = get_ctx();
    if (ctx == NULL)
        return IOTSEC_ERR_NOMEM;
    if (EVP_EncryptInit_ex2(ctx, NULL, key, NULL, NULL) != 1)
        return IOTSEC_ERR_CRYPTO;
    return encrypt(ctx, in, out, nblocks);
}

int aes128_encrypt_blocks_same_key(const uint8_t *in, uint8_t *out, size_t nblocks)
{
    EVP_CIPHER_CTX *ctx = get_ctx();
    if (ctx == NULL)
        return IOTSEC_ERR_NOMEM;
    return encrypt(ctx, in, out, nblocks);
}

void aes128_forget_key(void)
{
    static const uint8_t zero_key[16];
    if (thread_ctx != NULL)
        EVP_EncryptInit_ex2(thread_ctx, NULL, zero_key, NULL, NULL);
}

void aes128_thread_cleanup(void)
{
    if (thread_ctx != NULL) {
        pthread_setspecific(ctx_key, NULL);
        free_ctx(thread_ctx);
        thread_ctx = NULL;
    }
}
