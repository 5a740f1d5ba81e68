#include "crypto/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/ct.h"
#include "crypto/rand.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define HEADER_LEN (2 + NONCE_LEN)

static EVP_CIPHER *aes256_gcm;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key; /* each thread's context, freed when the thread exits */

static void free_ctx(void *ctx)
{
    EVP_CIPHER_CTX_free(ctx);
}

static void init(void)
{
    aes256_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    pthread_key_create(&ctx_key, free_ctx);
}

static EVP_CIPHER_CTX *get_ctx(void)
{
    pthread_once(&init_once, init);
    EVP_CIPHER_CTX *ctx = pthread_getspecific(ctx_key);
    if (ctx == NULL && aes256_gcm != NULL && (ctx = EVP_CIPHER_CTX_new()) != NULL &&
        pthread_setspecific(ctx_key, ctx) != 0) {
        EVP_CIPHER_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

int seal(const struct seal_kek *kek, const void *aad, size_t aad_len, const uint8_t *pt,
         size_t pt_len, uint8_t *out)
{
    if (pt_len > INT_MAX - SEAL_OVERHEAD || aad_len > INT_MAX)
        return IOTSEC_ERR_INVALID;
    EVP_CIPHER_CTX *ctx = get_ctx();
    if (ctx == NULL)
        return IOTSEC_ERR_NOMEM;
    out[0] = SEAL_VERSION;
    out[1] = kek->id;
    if (crypto_random(out + 2, NONCE_LEN) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    int len, ok = EVP_EncryptInit_ex2(ctx, aes256_gcm, kek->key, out + 2, NULL) &&
                  EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_len) &&
                  EVP_EncryptUpdate(ctx, out + HEADER_LEN, &len, pt, (int)pt_len) &&
                  EVP_EncryptFinal_ex(ctx, out + HEADER_LEN + pt_len, &len) &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN,
                                      out + HEADER_LEN + pt_len);
    EVP_CIPHER_CTX_reset(ctx); /* drops the KEK's schedule */
    return ok ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
}

int unseal(const struct seal_kek *kek, const void *aad, size_t aad_len, const uint8_t *env,
           size_t env_len, uint8_t *pt)
{
    if (env_len < SEAL_OVERHEAD || env_len > INT_MAX || aad_len > INT_MAX ||
        env[0] != SEAL_VERSION)
        return IOTSEC_ERR_INVALID;
    if (env[1] != kek->id)
        return IOTSEC_ERR_NOTFOUND;
    EVP_CIPHER_CTX *ctx = get_ctx();
    if (ctx == NULL)
        return IOTSEC_ERR_NOMEM;
    size_t ct_len = env_len - SEAL_OVERHEAD;
    uint8_t tag[TAG_LEN];
    memcpy(tag, env + env_len - TAG_LEN, TAG_LEN);
    int len, ok = EVP_DecryptInit_ex2(ctx, aes256_gcm, kek->key, env + 2, NULL) &&
                  EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_len) &&
                  EVP_DecryptUpdate(ctx, pt, &len, env + HEADER_LEN, (int)ct_len) &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag);
    int verified = ok && EVP_DecryptFinal_ex(ctx, pt + ct_len, &len) == 1;
    EVP_CIPHER_CTX_reset(ctx);
    if (!verified) {
        secure_wipe(pt, ct_len);
        return ok ? IOTSEC_ERR_AUTH : IOTSEC_ERR_CRYPTO;
    }
    return IOTSEC_OK;
}

int seal_kek_load(const char *path, uint8_t id, struct seal_kek *kek)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? IOTSEC_ERR_NOTFOUND : IOTSEC_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return IOTSEC_ERR_IO;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return IOTSEC_ERR_STATE;
    }
    char buf[2 * SEAL_KEK_LEN + 2];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 2 * SEAL_KEK_LEN) {
        secure_wipe(buf, sizeof(buf));
        return IOTSEC_ERR_INVALID;
    }
    buf[n] = '\0';
    if (buf[n - 1] == '\n')
        buf[n - 1] = '\0';
    int rc = hex_decode(buf, kek->key, SEAL_KEK_LEN);
    secure_wipe(buf, sizeof(buf));
    kek->id = id;
    return rc;
}

int seal_kek_create(const char *path)
{
    uint8_t key[SEAL_KEK_LEN];
    char hex[2 * SEAL_KEK_LEN + 2];
    if (crypto_random(key, sizeof(key)) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    hex_encode(key, sizeof(key), hex);
    secure_wipe(key, sizeof(key));
    strcat(hex, "\n");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        secure_wipe(hex, sizeof(hex));
        return errno == EEXIST ? IOTSEC_ERR_CONFLICT : IOTSEC_ERR_IO;
    }
    size_t len = strlen(hex);
    int ok = fchmod(fd, 0600) == 0 && write(fd, hex, len) == (ssize_t)len && fsync(fd) == 0;
    secure_wipe(hex, sizeof(hex));
    if (close(fd) != 0 || !ok) {
        unlink(path);
        return IOTSEC_ERR_IO;
    }
    return IOTSEC_OK;
}

void seal_kek_wipe(struct seal_kek *kek)
{
    secure_wipe(kek, sizeof(*kek));
}
