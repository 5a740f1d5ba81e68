/* Ed25519 for the provisioning key and the voucher keys: thin wrappers over EVP_DigestSign
 * and EVP_DigestVerify with a NULL digest (pure Ed25519). Each thread keeps one signing
 * EVP_MD_CTX initialised for the key it signed with last (a key is known by a serial number,
 * never by its address, which a later key may reuse), so a run of signatures under one key
 * (the group signing key: one per message) costs neither an allocation nor an init (about 12%
 * of a signature); and one verifying context, reset after use: a verification still builds an
 * EVP_PKEY from the 32 raw bytes, because the keys verified (voucher owners) change from call
 * to call. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/provision_crypto.h"
#include "crypto/rand.h"

struct prov_sign_key {
    EVP_PKEY *pkey;
    uint8_t pub[PROV_ED25519_PUB_LEN];
    uint64_t serial; /* unique in the process: what a thread's signing context is for */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key, sign_key; /* free a thread's contexts when the thread exits */
static bool init_ok;
static _Thread_local EVP_MD_CTX *thread_md, *thread_sign;
static _Thread_local uint64_t thread_sign_serial; /* the key thread_sign is initialised for */
static _Atomic uint64_t next_serial = 1;

static void md_free(void *p)
{
    EVP_MD_CTX_free(p);
    if (thread_md == p)
        thread_md = NULL;
}

static void sign_free(void *p)
{
    EVP_MD_CTX_free(p);
    if (thread_sign == p) {
        thread_sign = NULL;
        thread_sign_serial = 0;
    }
}

static void init(void)
{
    init_ok =
        pthread_key_create(&md_key, md_free) == 0 && pthread_key_create(&sign_key, sign_free) == 0;
}

/* The thread's signing context, initialised for key. */
static EVP_MD_CTX *get_sign(const struct prov_sign_key *key)
{
    if (thread_sign != NULL && thread_sign_serial == key->serial)
        return thread_sign;
    pthread_once(&init_once, init);
    if (!init_ok)
        return NULL;
    if (thread_sign == NULL) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (md != NULL && pthread_setspecific(sign_key, md) != 0) {
            EVP_MD_CTX_free(md);
            md = NULL;
        }
        if ((thread_sign = md) == NULL)
            return NULL;
    }
    EVP_MD_CTX_reset(thread_sign); /* drops the previous key's reference */
    thread_sign_serial = 0;
    if (EVP_DigestSignInit_ex(thread_sign, NULL, NULL, NULL, NULL, key->pkey, NULL) != 1) {
        ERR_clear_error();
        return NULL;
    }
    thread_sign_serial = key->serial;
    return thread_sign;
}

static EVP_MD_CTX *get_md(void)
{
    if (thread_md != NULL)
        return thread_md;
    pthread_once(&init_once, init);
    if (!init_ok)
        return NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md != NULL && pthread_setspecific(md_key, md) != 0) {
        EVP_MD_CTX_free(md);
        md = NULL;
    }
    thread_md = md;
    return md;
}

int prov_ed25519_keygen(uint8_t seed[PROV_ED25519_SEED_LEN], uint8_t pub[PROV_ED25519_PUB_LEN])
{
    /* Any 32 bytes are an Ed25519 secret (RFC 8032 §5.1.5 hashes and clamps them). */
    if (crypto_random(seed, PROV_ED25519_SEED_LEN) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    struct prov_sign_key *key;
    int rc = prov_sign_key_new(seed, &key);
    if (rc != IOTSEC_OK) {
        secure_wipe(seed, PROV_ED25519_SEED_LEN);
        return rc;
    }
    prov_sign_key_public(key, pub);
    prov_sign_key_free(key);
    return IOTSEC_OK;
}

int prov_sign_key_new(const uint8_t seed[PROV_ED25519_SEED_LEN], struct prov_sign_key **out)
{
    *out = NULL;
    struct prov_sign_key *key = calloc(1, sizeof(*key));
    if (key == NULL)
        return IOTSEC_ERR_NOMEM;
    key->pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed, PROV_ED25519_SEED_LEN);
    size_t len = PROV_ED25519_PUB_LEN;
    if (key->pkey == NULL || EVP_PKEY_get_raw_public_key(key->pkey, key->pub, &len) != 1 ||
        len != PROV_ED25519_PUB_LEN) {
        prov_sign_key_free(key);
        ERR_clear_error();
        return IOTSEC_ERR_CRYPTO;
    }
    key->serial = atomic_fetch_add(&next_serial, 1);
    *out = key;
    return IOTSEC_OK;
}

void prov_sign_key_free(struct prov_sign_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey); /* OpenSSL cleanses the private key data */
    free(key);
}

void prov_sign_key_public(const struct prov_sign_key *key, uint8_t pub[PROV_ED25519_PUB_LEN])
{
    memcpy(pub, key->pub, PROV_ED25519_PUB_LEN);
}

int prov_ed25519_sign(const struct prov_sign_key *key, const void *msg, size_t len,
                      uint8_t sig[PROV_ED25519_SIG_LEN])
{
    static const uint8_t empty[1];
    EVP_MD_CTX *md = get_sign(key);
    if (md == NULL)
        return IOTSEC_ERR_CRYPTO;
    size_t sig_len = PROV_ED25519_SIG_LEN;
    /* pure Ed25519 is one-shot: the context stays initialised for the next message */
    if (EVP_DigestSign(md, sig, &sig_len, len ? msg : empty, len) != 1 ||
        sig_len != PROV_ED25519_SIG_LEN) {
        ERR_clear_error();
        thread_sign_serial = 0; /* re-initialised next time */
        return IOTSEC_ERR_CRYPTO;
    }
    return IOTSEC_OK;
}

int prov_ed25519_verify(const uint8_t pub[PROV_ED25519_PUB_LEN], const void *msg, size_t len,
                        const uint8_t sig[PROV_ED25519_SIG_LEN])
{
    static const uint8_t empty[1];
    EVP_MD_CTX *md = get_md();
    if (md == NULL)
        return IOTSEC_ERR_NOMEM;
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub, PROV_ED25519_PUB_LEN);
    if (pkey == NULL) { /* refuse: a key we cannot load verifies nothing */
        ERR_clear_error();
        return IOTSEC_ERR_AUTH;
    }
    int rc = IOTSEC_ERR_CRYPTO;
    if (EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, pkey, NULL) == 1)
        rc = EVP_DigestVerify(md, sig, PROV_ED25519_SIG_LEN, len ? msg : empty, len) == 1
                 ? IOTSEC_OK
                 : IOTSEC_ERR_AUTH; /* a bad signature and a bad point both end here */
    EVP_MD_CTX_reset(md);
    EVP_PKEY_free(pkey);
    if (rc != IOTSEC_OK)
        ERR_clear_error();
    return rc;
}
