#include "crypto/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/ct.h"
#include "crypto/rand.h"

#define NONCE_LEN  12
#define TAG_LEN    16
#define HEADER_LEN (2 + NONCE_LEN)

static EVP_CIPHER *aes256_gcm;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key; /* each thread's contexts, freed when the thread exits */

/* A thread's cipher contexts, one per direction and kind of key. Setting a key up (its AES
 * schedule and GHASH key) is most of the cost of sealing 32 bytes, and freeing the provider's
 * context at every call (EVP_CIPHER_CTX_reset) doubles it. So:
 * - a short-lived key is set on a context kept allocated, and after the call the context is
 *   keyed again with zeros, which overwrites its schedule (not for a key sealed under a
 *   resident one, a DEK: seal.h);
 * - a resident key (the KEK, which the process holds for its lifetime anyway) stays set up in
 *   the thread's context between calls: a call then only sets the nonce. */
struct keyed {
    EVP_CIPHER_CTX *ctx;
    uint8_t key[SEAL_KEK_LEN]; /* the resident key the context holds */
    bool keyed;                /* ctx has the cipher (and, resident, key) set */
};

struct thread_ctx {
    struct keyed once[2];     /* short-lived keys: [0] encrypt, [1] decrypt */
    struct keyed resident[2]; /* resident keys */
};

static void free_ctx(void *arg)
{
    struct thread_ctx *t = arg;
    for (int i = 0; i < 2; i++) {
        EVP_CIPHER_CTX_free(t->once[i].ctx); /* cleanses the schedule */
        EVP_CIPHER_CTX_free(t->resident[i].ctx);
    }
    secure_wipe(t, sizeof(*t));
    free(t);
}

static void init(void)
{
    aes256_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    pthread_key_create(&ctx_key, free_ctx);
}

static struct thread_ctx *get_thread_ctx(void)
{
    pthread_once(&init_once, init);
    struct thread_ctx *t = pthread_getspecific(ctx_key);
    if (t != NULL || aes256_gcm == NULL)
        return t;
    t = calloc(1, sizeof(*t));
    bool ok = t != NULL;
    for (int i = 0; ok && i < 2; i++)
        ok = (t->once[i].ctx = EVP_CIPHER_CTX_new()) != NULL &&
             (t->resident[i].ctx = EVP_CIPHER_CTX_new()) != NULL;
    if (ok && pthread_setspecific(ctx_key, t) == 0)
        return t;
    if (t != NULL)
        free_ctx(t);
    return NULL;
}

static int cipher_init(EVP_CIPHER_CTX *ctx, bool enc, const EVP_CIPHER *cipher, const uint8_t *key,
                       const uint8_t *iv)
{
    return enc ? EVP_EncryptInit_ex2(ctx, cipher, key, iv, NULL)
               : EVP_DecryptInit_ex2(ctx, cipher, key, iv, NULL);
}

/* The context for one call under kek, keyed and with its nonce set; NULL on failure. */
static struct keyed *begin(const struct seal_kek *kek, bool enc, const uint8_t *iv)
{
    struct thread_ctx *t = get_thread_ctx();
    if (t == NULL)
        return NULL;
    struct keyed *k = kek->resident ? &t->resident[enc ? 0 : 1] : &t->once[enc ? 0 : 1];
    const EVP_CIPHER *cipher = k->keyed ? NULL : aes256_gcm;
    if (kek->resident && k->keyed && CRYPTO_memcmp(k->key, kek->key, SEAL_KEK_LEN) == 0) {
        if (!cipher_init(k->ctx, enc, NULL, NULL, iv)) /* the key is set up: only the nonce */
            return NULL;
        return k;
    }
    if (!cipher_init(k->ctx, enc, cipher, kek->key, iv)) {
        k->keyed = false;
        EVP_CIPHER_CTX_reset(k->ctx);
        return NULL;
    }
    k->keyed = true;
    if (kek->resident)
        memcpy(k->key, kek->key, SEAL_KEK_LEN);
    return k;
}

/* After the call: a short-lived key's schedule is overwritten (keyed with zeros), unless it
 * is sealed under a resident key (seal.h). */
static void end(const struct seal_kek *kek, struct keyed *k, bool enc)
{
    static const uint8_t zeros[SEAL_KEK_LEN];
    if (!kek->resident && !kek->under_resident && !cipher_init(k->ctx, enc, NULL, zeros, NULL)) {
        EVP_CIPHER_CTX_reset(k->ctx); /* frees (and cleanses) it instead */
        k->keyed = false;
    }
}

struct seal_ring {
    _Atomic(struct seal_kek *) keys[SEAL_KEK_IDS]; /* by id; NULL: not held */
    _Atomic uint8_t current;
    /* Every key ever added, freed with the ring: a reader may still hold a pointer to a key
     * retired a moment ago (its bytes are zeroised, so such a late call fails to verify). */
    struct seal_kek *owned[2 * SEAL_KEK_IDS];
    size_t nowned;
};

/* The key an envelope names, through a ring handle; NULL when the ring does not hold it. */
static inline const struct seal_kek *ring_key(const struct seal_ring *r, uint8_t id)
{
    return atomic_load_explicit(&((struct seal_ring *)r)->keys[id], memory_order_acquire);
}

/* The GCM AAD: version 2 authenticates the header (version, kek id) before the caller's AAD.
 * A short AAD is joined to the header first, so the call count (and cost) stays as in
 * version 1. */
static int add_aad(EVP_CIPHER_CTX *ctx, bool enc, const uint8_t *env, const void *aad,
                   size_t aad_len)
{
    int len;
    uint8_t joined[256];
    int (*update)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int) =
        enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;
    if (env[0] < 2)
        return update(ctx, NULL, &len, aad, (int)aad_len);
    if (aad_len <= sizeof(joined) - 2) {
        memcpy(joined, env, 2);
        memcpy(joined + 2, aad, aad_len);
        return update(ctx, NULL, &len, joined, (int)aad_len + 2);
    }
    return update(ctx, NULL, &len, env, 2) && update(ctx, NULL, &len, aad, (int)aad_len);
}

int seal(const struct seal_kek *kek, const void *aad, size_t aad_len, const uint8_t *pt,
         size_t pt_len, uint8_t *out)
{
    if (pt_len > INT_MAX - SEAL_OVERHEAD || aad_len > INT_MAX)
        return IOTSEC_ERR_INVALID;
    if (kek->ring != NULL && (kek = ring_key(kek->ring, seal_ring_current(kek->ring))) == NULL)
        return IOTSEC_ERR_STATE;
    out[0] = SEAL_VERSION;
    out[1] = kek->id;
    if (crypto_random(out + 2, NONCE_LEN) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    struct keyed *k = begin(kek, true, out + 2);
    if (k == NULL)
        return IOTSEC_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = k->ctx;
    int len,
        ok = add_aad(ctx, true, out, aad, aad_len) &&
             EVP_EncryptUpdate(ctx, out + HEADER_LEN, &len, pt, (int)pt_len) &&
             EVP_EncryptFinal_ex(ctx, out + HEADER_LEN + pt_len, &len) &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, out + HEADER_LEN + pt_len);
    end(kek, k, true);
    return ok ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
}

int unseal(const struct seal_kek *kek, const void *aad, size_t aad_len, const uint8_t *env,
           size_t env_len, uint8_t *pt)
{
    if (env_len < SEAL_OVERHEAD || env_len > INT_MAX || aad_len > INT_MAX || env[0] < 1 ||
        env[0] > SEAL_VERSION)
        return IOTSEC_ERR_INVALID;
    if (kek->ring != NULL) { /* the one extra step of a ring: the key the envelope names */
        if ((kek = ring_key(kek->ring, env[1])) == NULL)
            return IOTSEC_ERR_NOTFOUND;
    } else if (env[1] != kek->id) {
        return IOTSEC_ERR_NOTFOUND;
    }
    struct keyed *k = begin(kek, false, env + 2);
    if (k == NULL)
        return IOTSEC_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = k->ctx;
    size_t ct_len = env_len - SEAL_OVERHEAD;
    uint8_t tag[TAG_LEN];
    memcpy(tag, env + env_len - TAG_LEN, TAG_LEN);
    int len, ok = add_aad(ctx, false, env, aad, aad_len) &&
                  EVP_DecryptUpdate(ctx, pt, &len, env + HEADER_LEN, (int)ct_len) &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag);
    int verified = ok && EVP_DecryptFinal_ex(ctx, pt + ct_len, &len) == 1;
    end(kek, k, false);
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
    kek->resident = true; /* held for the process lifetime: its schedule may stay set up */
    kek->under_resident = false;
    kek->ring = NULL;
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

struct seal_ring *seal_ring_new(void)
{
    return calloc(1, sizeof(struct seal_ring));
}

void seal_ring_free(struct seal_ring *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nowned; i++) {
        seal_kek_wipe(r->owned[i]);
        free(r->owned[i]);
    }
    free(r);
}

int seal_ring_add(struct seal_ring *r, const struct seal_kek *kek)
{
    if (kek->id == 0 || kek->ring != NULL)
        return IOTSEC_ERR_INVALID;
    if (ring_key(r, kek->id) != NULL)
        return IOTSEC_ERR_CONFLICT;
    if (r->nowned == sizeof(r->owned) / sizeof(r->owned[0]))
        return IOTSEC_ERR_FULL;
    struct seal_kek *k = malloc(sizeof(*k));
    if (k == NULL)
        return IOTSEC_ERR_NOMEM;
    *k = *kek;
    k->resident = true;
    k->under_resident = false;
    r->owned[r->nowned++] = k;
    atomic_store_explicit(&r->keys[k->id], k, memory_order_release);
    return IOTSEC_OK;
}

bool seal_ring_has(const struct seal_ring *r, uint8_t id)
{
    return ring_key(r, id) != NULL;
}

int seal_ring_set_current(struct seal_ring *r, uint8_t id)
{
    if (ring_key(r, id) == NULL)
        return IOTSEC_ERR_NOTFOUND;
    atomic_store_explicit(&r->current, id, memory_order_release);
    return IOTSEC_OK;
}

uint8_t seal_ring_current(const struct seal_ring *r)
{
    return atomic_load_explicit(&((struct seal_ring *)r)->current, memory_order_acquire);
}

void seal_ring_retire(struct seal_ring *r, uint8_t id)
{
    if (id == seal_ring_current(r))
        return;
    struct seal_kek *k = atomic_exchange_explicit(&r->keys[id], NULL, memory_order_acq_rel);
    if (k != NULL)
        secure_wipe(k->key, sizeof(k->key));
}

struct seal_kek seal_ring_handle(struct seal_ring *r)
{
    return (struct seal_kek){.resident = true, .ring = r};
}

uint8_t seal_kek_current_id(const struct seal_kek *kek)
{
    return kek->ring != NULL ? seal_ring_current(kek->ring) : kek->id;
}
