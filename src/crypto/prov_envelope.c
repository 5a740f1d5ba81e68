/* The credential envelope: X25519 + HKDF-SHA-256 + AES-256-GCM to the device's ephemeral
 * key, signed as a whole with Ed25519 (layout in provision_crypto.h).
 *
 * Why sign as well as encrypt: GCM only proves the sender knew the ECDH secret, and anyone
 * (a relaying gateway included) can make one with the device's public key. The signature,
 * checked against the operator key the device pins, is what proves the operator sent it.
 * The device checks it before parsing a single length, so every altered byte anywhere gives
 * the same answer (IOTSEC_ERR_AUTH) and the parser only ever sees operator-made bytes. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/provision_crypto.h"
#include "crypto/rand.h"

#define LABEL_LEN  (sizeof(PROV_LABEL_ONBOARD) - 1)
#define GCM_KEY    32
#define GCM_IV     12
#define HEADER_MAX (2 + LABEL_LEN + 2 + PROV_REG_ID_MAX + PROV_NONCE_LEN + 2 * PROV_X25519_LEN)

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *aes256_gcm;
static pthread_key_t ctx_key; /* frees a thread's cipher context when the thread exits */
static _Thread_local EVP_CIPHER_CTX *thread_ctx;

static void ctx_free(void *p)
{
    EVP_CIPHER_CTX_free(p);
    if (thread_ctx == p)
        thread_ctx = NULL;
}

static void init(void)
{
    if (pthread_key_create(&ctx_key, ctx_free) == 0)
        aes256_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static EVP_CIPHER_CTX *get_ctx(void)
{
    if (thread_ctx != NULL)
        return thread_ctx;
    pthread_once(&init_once, init);
    if (aes256_gcm == NULL)
        return NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx != NULL && pthread_setspecific(ctx_key, ctx) != 0) {
        EVP_CIPHER_CTX_free(ctx);
        ctx = NULL;
    }
    thread_ctx = ctx;
    return ctx;
}

size_t prov_envelope_len(size_t reg_id_len, size_t pt_len)
{
    if (reg_id_len == 0 || reg_id_len > PROV_REG_ID_MAX || pt_len == 0 ||
        pt_len > PROV_PLAINTEXT_MAX)
        return 0;
    return PROV_ENVELOPE_OVERHEAD + reg_id_len + pt_len;
}

/* Writes the context part of the header (all of it but server_pub): what the device can
 * rebuild from its own request. Returns its length. */
static size_t write_context(const struct prov_onboard_ctx *ctx, uint8_t *out)
{
    struct prov_writer w = {.buf = out, .cap = HEADER_MAX - PROV_X25519_LEN};
    prov_put_lp(&w, PROV_LABEL_ONBOARD, LABEL_LEN);
    prov_put_lp(&w, ctx->reg_id, ctx->reg_id_len);
    prov_put(&w, ctx->server_nonce, PROV_NONCE_LEN);
    prov_put(&w, ctx->device_pub, PROV_X25519_LEN);
    return w.len; /* cannot overflow: callers checked the reg id */
}

/* The AES-256-GCM key and IV of one envelope. */
static int envelope_keys(const uint8_t z[PROV_X25519_LEN], const struct prov_onboard_ctx *ctx,
                         const uint8_t *header, size_t header_len, uint8_t okm[GCM_KEY + GCM_IV])
{
    return prov_hkdf_sha256(ctx->server_nonce, PROV_NONCE_LEN, z, PROV_X25519_LEN, header,
                            header_len, okm, GCM_KEY + GCM_IV);
}

/* Encrypts (enc = 1) or decrypts `in` into `out`, with header as AAD; tag is written
 * (encrypt) or checked (decrypt: IOTSEC_ERR_AUTH). The context is reset afterwards so no key
 * schedule lingers. */
static int gcm(int enc, const uint8_t okm[GCM_KEY + GCM_IV], const uint8_t *header,
               size_t header_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *c = get_ctx();
    if (c == NULL)
        return IOTSEC_ERR_NOMEM;
    int n, ok = EVP_CipherInit_ex2(c, aes256_gcm, okm, okm + GCM_KEY, enc, NULL) == 1 &&
                EVP_CipherUpdate(c, NULL, &n, header, (int)header_len) == 1 &&
                EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, PROV_GCM_TAG_LEN, tag) == 1;
    int rc = ok ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
    if (ok && EVP_CipherFinal_ex(c, out + len, &n) != 1)
        rc = enc ? IOTSEC_ERR_CRYPTO : IOTSEC_ERR_AUTH;
    if (rc == IOTSEC_OK && enc &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, PROV_GCM_TAG_LEN, tag) != 1)
        rc = IOTSEC_ERR_CRYPTO;
    EVP_CIPHER_CTX_reset(c);
    if (rc != IOTSEC_OK)
        ERR_clear_error();
    return rc;
}

int prov_envelope_seal_with(const struct prov_sign_key *key,
                            const uint8_t server_priv[PROV_X25519_LEN],
                            const struct prov_onboard_ctx *ctx, const uint8_t *pt, size_t pt_len,
                            uint8_t *out, size_t out_max, size_t *out_len)
{
    *out_len = 0;
    size_t total = prov_envelope_len(ctx->reg_id_len, pt_len);
    if (!prov_id_valid(ctx->reg_id, ctx->reg_id_len) || total == 0 || out_max < total)
        return IOTSEC_ERR_INVALID;
    uint8_t z[PROV_X25519_LEN], server_pub[PROV_X25519_LEN], okm[GCM_KEY + GCM_IV];
    int rc = prov_x25519_shared(server_priv, ctx->device_pub, z, server_pub);
    if (rc != IOTSEC_OK)
        return rc;
    size_t hlen = write_context(ctx, out);
    memcpy(out + hlen, server_pub, PROV_X25519_LEN);
    hlen += PROV_X25519_LEN; /* the header: HKDF info and GCM AAD */
    rc = envelope_keys(z, ctx, out, hlen, okm);
    secure_wipe(z, sizeof(z));
    uint8_t *ct = out + hlen + 2, *tag = ct + pt_len;
    out[hlen] = (uint8_t)(pt_len >> 8);
    out[hlen + 1] = (uint8_t)pt_len;
    if (rc == IOTSEC_OK)
        rc = gcm(1, okm, out, hlen, pt, pt_len, ct, tag);
    secure_wipe(okm, sizeof(okm));
    if (rc == IOTSEC_OK)
        rc = prov_ed25519_sign(key, out, total - PROV_ED25519_SIG_LEN,
                               out + total - PROV_ED25519_SIG_LEN);
    if (rc != IOTSEC_OK) {
        secure_wipe(out, total);
        return rc;
    }
    *out_len = total;
    return IOTSEC_OK;
}

int prov_envelope_seal(const struct prov_sign_key *key, const struct prov_onboard_ctx *ctx,
                       const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_max,
                       size_t *out_len)
{
    uint8_t server_priv[PROV_X25519_LEN];
    *out_len = 0;
    if (crypto_random(server_priv, sizeof(server_priv)) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    int rc = prov_envelope_seal_with(key, server_priv, ctx, pt, pt_len, out, out_max, out_len);
    secure_wipe(server_priv, sizeof(server_priv));
    return rc;
}

/* After the signature verified: the context must be the one the device asked with. Returns
 * the header's length (server_pub then ends it), 0 when the envelope is for another request. */
static size_t check_context(const struct prov_onboard_ctx *expect, const uint8_t *env,
                            size_t env_len)
{
    uint8_t want[HEADER_MAX];
    size_t len = write_context(expect, want);
    if (env_len < len + PROV_X25519_LEN || !ct_equal(want, env, len))
        return 0;
    return len + PROV_X25519_LEN;
}

static int open_verified(const uint8_t device_priv[PROV_X25519_LEN],
                         const struct prov_onboard_ctx *expect, const uint8_t *env, size_t env_len,
                         uint8_t *pt, size_t pt_max, size_t *pt_len)
{
    size_t hlen = check_context(expect, env, env_len);
    if (hlen == 0)
        return IOTSEC_ERR_AUTH;
    const uint8_t *server_pub = env + hlen - PROV_X25519_LEN;
    struct prov_reader r = {.p = env + hlen, .left = env_len - hlen - PROV_ED25519_SIG_LEN};
    size_t ct_len;
    const uint8_t *ct = prov_get_lp(&r, &ct_len), *tag_in = prov_get(&r, PROV_GCM_TAG_LEN);
    if (r.bad || r.left != 0 || ct_len == 0) /* signed by the operator, yet malformed */
        return IOTSEC_ERR_AUTH;
    uint8_t tag[PROV_GCM_TAG_LEN]; /* OpenSSL's SET_TAG takes a non-const pointer */
    memcpy(tag, tag_in, sizeof(tag));
    if (ct_len > pt_max)
        return IOTSEC_ERR_INVALID;
    uint8_t z[PROV_X25519_LEN], okm[GCM_KEY + GCM_IV];
    int rc = prov_x25519_shared(device_priv, server_pub, z, NULL);
    if (rc == IOTSEC_OK)
        rc = envelope_keys(z, expect, env, hlen, okm);
    secure_wipe(z, sizeof(z));
    if (rc == IOTSEC_OK)
        rc = gcm(0, okm, env, hlen, ct, ct_len, pt, tag);
    secure_wipe(okm, sizeof(okm));
    if (rc == IOTSEC_OK)
        *pt_len = ct_len;
    return rc;
}

int prov_envelope_open(const uint8_t pinned_pub[PROV_ED25519_PUB_LEN],
                       const uint8_t device_priv[PROV_X25519_LEN],
                       const struct prov_onboard_ctx *expect, const uint8_t *env, size_t env_len,
                       uint8_t *pt, size_t pt_max, size_t *pt_len)
{
    *pt_len = 0;
    int rc = IOTSEC_ERR_INVALID;
    if (env != NULL && env_len >= PROV_ENVELOPE_OVERHEAD + 2 &&
        prov_id_valid(expect->reg_id, expect->reg_id_len)) {
        const uint8_t *sig = env + env_len - PROV_ED25519_SIG_LEN;
        rc = prov_ed25519_verify(pinned_pub, env, env_len - PROV_ED25519_SIG_LEN, sig);
        if (rc == IOTSEC_OK)
            rc = open_verified(device_priv, expect, env, env_len, pt, pt_max, pt_len);
    }
    if (rc != IOTSEC_OK) {
        if (pt != NULL)
            secure_wipe(pt, pt_max);
        *pt_len = 0;
    }
    return rc;
}
