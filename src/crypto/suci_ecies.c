/* ECIES Profiles A and B of TS 33.501 Annex C.3 (see suci_ecies.h).
 *
 * Cost model, measured with OpenSSL 3.0 on x86-64: the ECDH itself is ~28 us (X25519) and
 * ~37 us (P-256); everything else must stay within a few microseconds. Hence:
 * - Profile A keeps, per home-network key, an EVP_PKEY_CTX already initialised for derivation;
 *   a decode duplicates it (a copy, no algorithm fetch) and sets the peer from a per-thread
 *   EVP_PKEY whose public key is overwritten in place (no key-management round trip).
 * - Profile B uses the EC_POINT layer on one shared EC_GROUP: building an EVP_PKEY for the
 *   ephemeral key creates a new EC_GROUP each time (~9 us), and EC_POINT_mul on the key's
 *   scalar is exactly what OpenSSL's ECDH derive does (constant-time ladder on the secret).
 * - A compressed P-256 key needs a modular square root; OpenSSL's BN_mod_sqrt costs ~12 us,
 *   a third of the ECDH, so p256_decompress() computes it with a small dedicated field
 *   implementation (~2.5 us on x86-64, ~5 us in portable C). The input is public, the root
 *   is checked by squaring it, and OpenSSL checks the resulting point is on the curve. */
#include "crypto/suci_ecies.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/hmac_sha256.h"
#include "crypto/p256_sqrt.h"



/* ---- Shared state: the P-256 group and per-thread scratch objects ------------------------ */

/* What one thread needs to run a decryption without allocating. */
struct scratch {
    EVP_PKEY *x25519_peer; /* its public key is overwritten for each decryption */
    EVP_CIPHER_CTX *ctr;   /* AES-128-CTR, keyed with zeros between messages */
    BN_CTX *bn;
    EC_POINT *point, *product;
    BIGNUM *x;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static EC_GROUP *p256_group; /* shared read-only once created */
static EVP_CIPHER *aes128_ctr_cipher;
static pthread_key_t scratch_key;
static bool init_ok;
static _Thread_local struct scratch *thread_scratch;

static void scratch_free(void *p)
{
    struct scratch *s = p;
    if (s == NULL)
        return;
    EVP_PKEY_free(s->x25519_peer);
    EVP_CIPHER_CTX_free(s->ctr);
    EC_POINT_clear_free(s->point);
    EC_POINT_clear_free(s->product);
    BN_clear_free(s->x);
    BN_CTX_free(s->bn);
    free(s);
    if (thread_scratch == s)
        thread_scratch = NULL;
}

static void init_globals(void)
{
    p256_group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, NID_X9_62_prime256v1);
    aes128_ctr_cipher = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
    init_ok = p256_group != NULL && aes128_ctr_cipher != NULL &&
              pthread_key_create(&scratch_key, scratch_free) == 0;
}

static bool ecies_init(void)
{
    pthread_once(&init_once, init_globals);
    return init_ok;
}

static struct scratch *get_scratch(void)
{
    if (thread_scratch != NULL)
        return thread_scratch;
    if (!ecies_init())
        return NULL;
    struct scratch *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    static const uint8_t base_u[32] = {9}; /* any valid u-coordinate will do */
    static const uint8_t zero[ECIES_ENC_KEY_LEN + ECIES_ICB_LEN];
    s->x25519_peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, base_u, 32);
    s->ctr = EVP_CIPHER_CTX_new();
    if (s->ctr != NULL &&
        EVP_EncryptInit_ex2(s->ctr, aes128_ctr_cipher, zero, zero + ECIES_ENC_KEY_LEN, NULL) != 1) {
        EVP_CIPHER_CTX_free(s->ctr);
        s->ctr = NULL;
    }
    s->bn = BN_CTX_new();
    s->point = EC_POINT_new(p256_group);
    s->product = EC_POINT_new(p256_group);
    s->x = BN_new();
    if (s->x25519_peer == NULL || s->ctr == NULL || s->bn == NULL || s->point == NULL ||
        s->product == NULL || s->x == NULL || pthread_setspecific(scratch_key, s) != 0) {
        scratch_free(s);
        return NULL;
    }
    thread_scratch = s;
    return s;
}

void ecies_thread_cleanup(void)
{
    struct scratch *s = thread_scratch;
    if (s == NULL)
        return;
    pthread_setspecific(scratch_key, NULL);
    scratch_free(s);
}

/* ---- Home-network keys ------------------------------------------------------------------ */

struct ecies_hn_key {
    enum suci_scheme scheme;
    EVP_PKEY_CTX *derive; /* Profile A: initialised for derivation, duplicated per use */
    BIGNUM *d;            /* Profile B: the private scalar, flagged constant-time */
};

static int p256_scalar(const uint8_t priv[SUCI_PRIVATE_KEY_LEN], BIGNUM **out)
{
    *out = NULL;
    if (!ecies_init())
        return IOTSEC_ERR_CRYPTO;
    BIGNUM *d = BN_secure_new();
    if (d == NULL)
        return IOTSEC_ERR_NOMEM;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    if (BN_bin2bn(priv, SUCI_PRIVATE_KEY_LEN, d) == NULL) {
        BN_clear_free(d);
        return IOTSEC_ERR_NOMEM;
    }
    if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(p256_group)) >= 0) {
        BN_clear_free(d);
        return IOTSEC_ERR_INVALID;
    }
    *out = d;
    return IOTSEC_OK;
}

static int x25519_derive_ctx(const uint8_t priv[SUCI_PRIVATE_KEY_LEN], EVP_PKEY_CTX **out)
{
    *out = NULL;
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, SUCI_PRIVATE_KEY_LEN);
    if (pkey == NULL)
        return IOTSEC_ERR_CRYPTO;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    EVP_PKEY_free(pkey); /* the context holds its own reference */
    if (ctx == NULL)
        return IOTSEC_ERR_NOMEM;
    if (EVP_PKEY_derive_init(ctx) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return IOTSEC_ERR_CRYPTO;
    }
    *out = ctx;
    return IOTSEC_OK;
}

int ecies_hn_key_new(enum suci_scheme scheme, const uint8_t priv[SUCI_PRIVATE_KEY_LEN],
                     struct ecies_hn_key **out)
{
    *out = NULL;
    if (scheme != SUCI_SCHEME_PROFILE_A && scheme != SUCI_SCHEME_PROFILE_B)
        return IOTSEC_ERR_INVALID;
    struct ecies_hn_key *key = calloc(1, sizeof(*key));
    if (key == NULL)
        return IOTSEC_ERR_NOMEM;
    key->scheme = scheme;
    int rc = scheme == SUCI_SCHEME_PROFILE_A ? x25519_derive_ctx(priv, &key->derive)
                                             : p256_scalar(priv, &key->d);
    if (rc != IOTSEC_OK) {
        free(key);
        return rc;
    }
    *out = key;
    return IOTSEC_OK;
}

void ecies_hn_key_free(struct ecies_hn_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_CTX_free(key->derive); /* the X25519 key data is cleansed when freed */
    BN_clear_free(key->d);
    free(key);
}

int ecies_check_private_key(enum suci_scheme scheme, const uint8_t priv[SUCI_PRIVATE_KEY_LEN])
{
    if (scheme == SUCI_SCHEME_PROFILE_A)
        return IOTSEC_OK; /* X25519 clamps any 32 bytes into a valid scalar */
    if (scheme != SUCI_SCHEME_PROFILE_B)
        return IOTSEC_ERR_INVALID;
    BIGNUM *d;
    int rc = p256_scalar(priv, &d);
    BN_clear_free(d);
    return rc;
}

/* ---- ECDH ------------------------------------------------------------------------------- */

static int x25519_derive(const struct ecies_hn_key *key, struct scratch *s,
                         const uint8_t peer[SUCI_PUBLIC_KEY_A_LEN], uint8_t z[ECIES_SHARED_LEN])
{
    if (EVP_PKEY_set1_encoded_public_key(s->x25519_peer, peer, SUCI_PUBLIC_KEY_A_LEN) != 1)
        return IOTSEC_ERR_CRYPTO;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_dup(key->derive);
    if (ctx == NULL)
        return IOTSEC_ERR_NOMEM;
    size_t z_len = ECIES_SHARED_LEN;
    int rc = IOTSEC_OK;
    if (EVP_PKEY_derive_set_peer_ex(ctx, s->x25519_peer, 0) != 1)
        rc = IOTSEC_ERR_CRYPTO;
    else if (EVP_PKEY_derive(ctx, z, &z_len) != 1 || z_len != ECIES_SHARED_LEN)
        rc = IOTSEC_ERR_INVALID; /* OpenSSL refuses the all-zero secret of a small-order peer */
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* Decodes a compressed (33) or uncompressed (65 bytes) P-256 point into s->point; OpenSSL
 * checks that it lies on the curve. */
static int p256_decode(struct scratch *s, const uint8_t *in, size_t len)
{
    bool compressed = len == P256_COMPRESSED_LEN && (in[0] == 0x02 || in[0] == 0x03);
    if (!compressed && (len != P256_UNCOMPRESSED_LEN || in[0] != 0x04))
        return IOTSEC_ERR_INVALID;
#ifdef HAVE_P256_DECOMPRESS
    uint8_t full[P256_UNCOMPRESSED_LEN];
    if (compressed) {
        if (!p256_decompress(in, full))
            return IOTSEC_ERR_INVALID;
        in = full;
        len = sizeof(full);
    }
#endif
    if (EC_POINT_oct2point(p256_group, s->point, in, len, s->bn) != 1)
        return IOTSEC_ERR_INVALID;
    return IOTSEC_OK;
}

static int p256_derive(const BIGNUM *d, struct scratch *s, const uint8_t *peer, size_t peer_len,
                       uint8_t z[ECIES_SHARED_LEN])
{
    int rc = p256_decode(s, peer, peer_len);
    if (rc != IOTSEC_OK)
        return rc;
    /* The same computation as OpenSSL's ECDH: cofactor 1, and a point of prime order times a
     * scalar in [1, n-1] is never the point at infinity. */
    if (EC_POINT_mul(p256_group, s->product, NULL, s->point, d, s->bn) != 1 ||
        EC_POINT_get_affine_coordinates(p256_group, s->product, s->x, NULL, s->bn) != 1 ||
        BN_bn2binpad(s->x, z, ECIES_SHARED_LEN) != ECIES_SHARED_LEN)
        rc = IOTSEC_ERR_CRYPTO;
    /* Do not leave d * Q (whose x is the shared secret) in the thread's scratch. */
    if (EC_POINT_copy(s->product, s->point) != 1)
        rc = IOTSEC_ERR_CRYPTO;
    BN_clear(s->x);
    return rc;
}

static int hn_key_derive(const struct ecies_hn_key *key, struct scratch *s, const uint8_t *peer,
                         size_t peer_len, uint8_t z[ECIES_SHARED_LEN])
{
    if (key->scheme == SUCI_SCHEME_PROFILE_A) {
        if (peer_len != SUCI_PUBLIC_KEY_A_LEN)
            return IOTSEC_ERR_INVALID;
        return x25519_derive(key, s, peer, z);
    }
    return p256_derive(key->d, s, peer, peer_len, z);
}

int ecies_shared_secret(enum suci_scheme scheme, const uint8_t priv[SUCI_PRIVATE_KEY_LEN],
                        const uint8_t *peer, size_t peer_len, uint8_t z[ECIES_SHARED_LEN])
{
    struct ecies_hn_key *key;
    int rc = ecies_hn_key_new(scheme, priv, &key);
    if (rc != IOTSEC_OK)
        return rc;
    struct scratch *s = get_scratch();
    rc = s ? hn_key_derive(key, s, peer, peer_len, z) : IOTSEC_ERR_NOMEM;
    ecies_hn_key_free(key);
    return rc;
}

/* ---- Public keys ------------------------------------------------------------------------ */

static int x25519_public_key(const uint8_t priv[SUCI_PRIVATE_KEY_LEN],
                             uint8_t pub[SUCI_PUBLIC_KEY_A_LEN])
{
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, SUCI_PRIVATE_KEY_LEN);
    if (pkey == NULL)
        return IOTSEC_ERR_CRYPTO;
    size_t len = SUCI_PUBLIC_KEY_A_LEN;
    int ok = EVP_PKEY_get_raw_public_key(pkey, pub, &len) == 1 && len == SUCI_PUBLIC_KEY_A_LEN;
    EVP_PKEY_free(pkey);
    return ok ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
}

static int p256_public_key(const uint8_t priv[SUCI_PRIVATE_KEY_LEN], int uncompressed,
                           uint8_t pub[SUCI_PUBLIC_KEY_MAX], size_t *pub_len)
{
    BIGNUM *d;
    int rc = p256_scalar(priv, &d);
    if (rc != IOTSEC_OK)
        return rc;
    struct scratch *s = get_scratch();
    point_conversion_form_t form =
        uncompressed ? POINT_CONVERSION_UNCOMPRESSED : POINT_CONVERSION_COMPRESSED;
    size_t want = uncompressed ? P256_UNCOMPRESSED_LEN : P256_COMPRESSED_LEN;
    if (s == NULL)
        rc = IOTSEC_ERR_NOMEM;
    else if (EC_POINT_mul(p256_group, s->point, d, NULL, NULL, s->bn) != 1 ||
             EC_POINT_point2oct(p256_group, s->point, form, pub, want, s->bn) != want)
        rc = IOTSEC_ERR_CRYPTO;
    else
        *pub_len = want;
    BN_clear_free(d);
    return rc;
}

int ecies_public_key(enum suci_scheme scheme, const uint8_t priv[SUCI_PRIVATE_KEY_LEN],
                     int uncompressed, uint8_t pub[SUCI_PUBLIC_KEY_MAX], size_t *pub_len)
{
    *pub_len = 0;
    if (scheme == SUCI_SCHEME_PROFILE_B)
        return p256_public_key(priv, uncompressed, pub, pub_len);
    if (scheme != SUCI_SCHEME_PROFILE_A)
        return IOTSEC_ERR_INVALID;
    int rc = x25519_public_key(priv, pub);
    if (rc == IOTSEC_OK)
        *pub_len = SUCI_PUBLIC_KEY_A_LEN;
    return rc;
}

/* ---- KDF, encryption and MAC ------------------------------------------------------------ */

void ecies_kdf(const uint8_t z[ECIES_SHARED_LEN], const uint8_t *eph_pub, size_t eph_pub_len,
               uint8_t enc_key[ECIES_ENC_KEY_LEN], uint8_t icb[ECIES_ICB_LEN],
               uint8_t mac_key[ECIES_MAC_KEY_LEN])
{
    /* X9.63: Hash(Z || Counter || SharedInfo1) for Counter = 1, 2 (32-bit big-endian). */
    uint8_t prefix[ECIES_SHARED_LEN + 4];
    uint8_t k[2 * SHA256_LEN];
    memcpy(prefix, z, ECIES_SHARED_LEN);
    for (uint8_t counter = 1; counter <= 2; counter++) {
        prefix[ECIES_SHARED_LEN] = 0;
        prefix[ECIES_SHARED_LEN + 1] = 0;
        prefix[ECIES_SHARED_LEN + 2] = 0;
        prefix[ECIES_SHARED_LEN + 3] = counter;
        sha256_2(prefix, sizeof(prefix), eph_pub, eph_pub_len, k + (counter - 1) * SHA256_LEN);
    }
    memcpy(enc_key, k, ECIES_ENC_KEY_LEN);
    memcpy(icb, k + ECIES_ENC_KEY_LEN, ECIES_ICB_LEN);
    memcpy(mac_key, k + ECIES_ENC_KEY_LEN + ECIES_ICB_LEN, ECIES_MAC_KEY_LEN);
    secure_wipe(prefix, sizeof(prefix));
    secure_wipe(k, sizeof(k));
}

/* AES-128-CTR with the ICB as the initial counter block (C.3.4), on the thread's cipher
 * context; re-keying with zeros afterwards leaves no key schedule behind. */
static int aes128_ctr(struct scratch *s, const uint8_t key[ECIES_ENC_KEY_LEN],
                      const uint8_t icb[ECIES_ICB_LEN], const uint8_t *in, uint8_t *out, size_t len)
{
    static const uint8_t zero[ECIES_ENC_KEY_LEN + ECIES_ICB_LEN];
    int out_len = 0;
    if (len > ECIES_PLAINTEXT_MAX)
        return IOTSEC_ERR_INVALID;
    int ok = EVP_EncryptInit_ex2(s->ctr, NULL, key, icb, NULL) == 1 &&
             EVP_EncryptUpdate(s->ctr, out, &out_len, in, (int)len) == 1 && (size_t)out_len == len;
    if (EVP_EncryptInit_ex2(s->ctr, NULL, zero, zero + ECIES_ENC_KEY_LEN, NULL) != 1)
        ok = 0;
    return ok ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
}

static void mac_tag(const uint8_t mac_key[ECIES_MAC_KEY_LEN], const uint8_t *ct, size_t len,
                    uint8_t tag[SUCI_MAC_LEN])
{
    struct hmac_sha256 h;
    uint8_t full[SHA256_LEN];
    hmac_sha256_init(&h, mac_key, ECIES_MAC_KEY_LEN);
    hmac_sha256(&h, ct, len, full);
    memcpy(tag, full, SUCI_MAC_LEN);
    hmac_sha256_wipe(&h);
    secure_wipe(full, sizeof(full));
}

/* The keys of one message: what the KDF gives, wiped as a whole. */
struct msg_keys {
    uint8_t enc[ECIES_ENC_KEY_LEN];
    uint8_t icb[ECIES_ICB_LEN];
    uint8_t mac[ECIES_MAC_KEY_LEN];
};

/* SharedInfo1 is the compressed ephemeral key for Profile B (C.3.4.2), whatever form the UE
 * sent: from an uncompressed key it is the x-coordinate with y's parity in the prefix. */
static size_t shared_info(enum suci_scheme scheme, const uint8_t *eph_pub, size_t eph_len,
                          uint8_t out[SUCI_PUBLIC_KEY_MAX])
{
    if (scheme == SUCI_SCHEME_PROFILE_B && eph_len == P256_UNCOMPRESSED_LEN) {
        out[0] = (uint8_t)(0x02 | (eph_pub[P256_UNCOMPRESSED_LEN - 1] & 1));
        memcpy(out + 1, eph_pub + 1, P256_FIELD_LEN);
        return P256_COMPRESSED_LEN;
    }
    memcpy(out, eph_pub, eph_len);
    return eph_len;
}

int ecies_encrypt(enum suci_scheme scheme, const uint8_t *hn_pub, size_t hn_pub_len,
                  const uint8_t eph_priv[SUCI_PRIVATE_KEY_LEN], int eph_uncompressed,
                  const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_max, size_t *out_len)
{
    *out_len = 0;
    uint8_t eph_pub[SUCI_PUBLIC_KEY_MAX], info[SUCI_PUBLIC_KEY_MAX], z[ECIES_SHARED_LEN];
    size_t eph_len;
    int rc = ecies_public_key(scheme, eph_priv, scheme == SUCI_SCHEME_PROFILE_B && eph_uncompressed,
                              eph_pub, &eph_len);
    if (rc != IOTSEC_OK)
        return rc;
    if (pt_len > ECIES_PLAINTEXT_MAX || out_max < eph_len + pt_len + SUCI_MAC_LEN)
        return IOTSEC_ERR_INVALID;
    rc = ecies_shared_secret(scheme, eph_priv, hn_pub, hn_pub_len, z);
    if (rc != IOTSEC_OK)
        return rc;
    struct msg_keys k;
    size_t info_len = shared_info(scheme, eph_pub, eph_len, info);
    ecies_kdf(z, info, info_len, k.enc, k.icb, k.mac);
    memcpy(out, eph_pub, eph_len);
    struct scratch *s = get_scratch();
    rc = s ? aes128_ctr(s, k.enc, k.icb, pt, out + eph_len, pt_len) : IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK) {
        mac_tag(k.mac, out + eph_len, pt_len, out + eph_len + pt_len);
        *out_len = eph_len + pt_len + SUCI_MAC_LEN;
    }
    secure_wipe(&k, sizeof(k));
    secure_wipe(z, sizeof(z));
    return rc;
}

/* The length of the ephemeral key that starts a scheme output, or 0 when it cannot be one. */
static size_t eph_key_len(enum suci_scheme scheme, const uint8_t *in, size_t in_len)
{
    if (scheme == SUCI_SCHEME_PROFILE_A)
        return SUCI_PUBLIC_KEY_A_LEN;
    if (in_len == 0)
        return 0;
    if (in[0] == 0x02 || in[0] == 0x03)
        return P256_COMPRESSED_LEN;
    return in[0] == 0x04 ? P256_UNCOMPRESSED_LEN : 0;
}

int ecies_check_output(enum suci_scheme scheme, const uint8_t *in, size_t in_len)
{
    if (scheme != SUCI_SCHEME_PROFILE_A && scheme != SUCI_SCHEME_PROFILE_B)
        return IOTSEC_ERR_INVALID;
    size_t eph_len = eph_key_len(scheme, in, in_len);
    /* A SUCI always protects at least one byte (an MSIN digit, a username character). */
    if (eph_len == 0 || in_len <= eph_len + SUCI_MAC_LEN ||
        in_len - eph_len - SUCI_MAC_LEN > ECIES_PLAINTEXT_MAX)
        return IOTSEC_ERR_INVALID;
    return IOTSEC_OK;
}

int ecies_decrypt(const struct ecies_hn_key *key, const uint8_t *in, size_t in_len, uint8_t *pt,
                  size_t pt_max, size_t *pt_len)
{
    *pt_len = 0;
    if (ecies_check_output(key->scheme, in, in_len) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    size_t eph_len = eph_key_len(key->scheme, in, in_len);
    const uint8_t *ct = in + eph_len, *tag = in + in_len - SUCI_MAC_LEN;
    size_t ct_len = in_len - eph_len - SUCI_MAC_LEN;
    if (ct_len > pt_max)
        return IOTSEC_ERR_INVALID;
    struct scratch *s = get_scratch();
    if (s == NULL)
        return IOTSEC_ERR_NOMEM;
    uint8_t z[ECIES_SHARED_LEN], info[SUCI_PUBLIC_KEY_MAX], want[SUCI_MAC_LEN];
    int rc = hn_key_derive(key, s, in, eph_len, z);
    if (rc != IOTSEC_OK)
        return rc;
    struct msg_keys k;
    size_t info_len = shared_info(key->scheme, in, eph_len, info);
    ecies_kdf(z, info, info_len, k.enc, k.icb, k.mac);
    secure_wipe(z, sizeof(z));
    mac_tag(k.mac, ct, ct_len, want);
    if (!ct_equal(want, tag, SUCI_MAC_LEN))
        rc = IOTSEC_ERR_AUTH;
    else
        rc = aes128_ctr(s, k.enc, k.icb, ct, pt, ct_len);
    if (rc == IOTSEC_OK)
        *pt_len = ct_len;
    secure_wipe(&k, sizeof(k));
    return rc;
}
