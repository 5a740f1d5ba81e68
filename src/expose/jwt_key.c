/* ECDSA P-256 keys for ES256: generation, private scalar in and out (for sealing at rest),
 * public coordinates in and out (for JWKs), and the RFC 7638 thumbprint used as a default
 * kid. Keys are built only from P-256 material, which is what pins the algorithm. */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "expose/expose_int.h"

#define POINT_LEN (1 + 2 * JWT_P256_LEN) /* uncompressed: 04 || x || y */

struct jwt_key {
    char kid[JWT_KID_MAX + 1];
    EVP_PKEY *pkey;
    bool priv;
};

bool jwt_kid_valid(const char *kid)
{
    size_t n = kid ? strnlen(kid, JWT_KID_MAX + 1) : 0;
    if (n == 0 || n > JWT_KID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = kid[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace. */
static void thumbprint_kid(const uint8_t point[POINT_LEN], char kid[JWT_KID_MAX + 1])
{
    char x[B64URL_LEN(JWT_P256_LEN) + 1], y[B64URL_LEN(JWT_P256_LEN) + 1], json[160];
    uint8_t digest[SHA256_LEN];
    b64url_encode(point + 1, JWT_P256_LEN, x);
    b64url_encode(point + 1 + JWT_P256_LEN, JWT_P256_LEN, y);
    int n = snprintf(json, sizeof(json),
                     "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
    sha256_2(json, (size_t)n, NULL, 0, digest);
    b64url_encode(digest, sizeof(digest), kid);
}

static int get_point(EVP_PKEY *pkey, uint8_t point[POINT_LEN])
{
    size_t len = 0;
    if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, POINT_LEN, &len) ||
        len != POINT_LEN || point[0] != 0x04)
        return IOTSEC_ERR_CRYPTO;
    return IOTSEC_OK;
}

/* Wraps pkey (taking it) with its kid, named by thumbprint when kid is NULL. */
static int wrap(EVP_PKEY *pkey, bool priv, const char *kid, struct jwt_key **out)
{
    uint8_t point[POINT_LEN];
    struct jwt_key *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        return IOTSEC_ERR_NOMEM;
    }
    k->pkey = pkey;
    k->priv = priv;
    if (kid != NULL) {
        memcpy(k->kid, kid, strlen(kid) + 1);
    } else if (get_point(pkey, point) == IOTSEC_OK) {
        thumbprint_kid(point, k->kid);
    } else {
        jwt_key_free(k);
        return IOTSEC_ERR_CRYPTO;
    }
    *out = k;
    return IOTSEC_OK;
}

int jwt_key_generate(const char *kid, struct jwt_key **out)
{
    if (kid != NULL && !jwt_kid_valid(kid))
        return IOTSEC_ERR_INVALID;
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    if (pkey == NULL)
        return IOTSEC_ERR_CRYPTO;
    return wrap(pkey, true, kid, out);
}

/* EVP_PKEY_fromdata for P-256 with the public point and, optionally, the private scalar. */
static EVP_PKEY *from_data(const uint8_t point[POINT_LEN], const BIGNUM *d)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (bld == NULL || ctx == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, POINT_LEN) ||
        (d != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    /* d is a secure BIGNUM, so its copy sits in the params' secure block, which
     * OSSL_PARAM_free() clears before freeing. */
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* True when the public point is a valid point of the group (not infinity, on the curve). */
static bool public_ok(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    bool ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

int jwt_key_from_public(const char *kid, const uint8_t x[JWT_P256_LEN],
                        const uint8_t y[JWT_P256_LEN], struct jwt_key **out)
{
    if (kid == NULL || !jwt_kid_valid(kid) || x == NULL || y == NULL || out == NULL)
        return IOTSEC_ERR_INVALID;
    uint8_t point[POINT_LEN] = {0x04};
    memcpy(point + 1, x, JWT_P256_LEN);
    memcpy(point + 1 + JWT_P256_LEN, y, JWT_P256_LEN);
    EVP_PKEY *pkey = from_data(point, NULL);
    if (pkey == NULL || !public_ok(pkey)) {
        EVP_PKEY_free(pkey);
        return IOTSEC_ERR_INVALID; /* not a point of P-256 */
    }
    return wrap(pkey, false, kid, out);
}

/* Q = d*G, uncompressed, after checking 0 < d < n. */
static int public_from_scalar(const BIGNUM *d, uint8_t point[POINT_LEN])
{
    int rc = IOTSEC_ERR_CRYPTO;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *q = g ? EC_POINT_new(g) : NULL;
    if (q == NULL)
        goto out;
    if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0) {
        rc = IOTSEC_ERR_INVALID;
        goto out;
    }
    if (EC_POINT_mul(g, q, d, NULL, NULL, NULL) &&
        EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, point, POINT_LEN, NULL) ==
            POINT_LEN)
        rc = IOTSEC_OK;
out:
    EC_POINT_free(q);
    EC_GROUP_free(g);
    return rc;
}

int jwt_key_from_private(const char *kid, const uint8_t d[JWT_P256_LEN], struct jwt_key **out)
{
    if ((kid != NULL && !jwt_kid_valid(kid)) || d == NULL || out == NULL)
        return IOTSEC_ERR_INVALID;
    BIGNUM *bn = BN_secure_new();
    if (bn == NULL || BN_bin2bn(d, JWT_P256_LEN, bn) == NULL) {
        BN_free(bn);
        return IOTSEC_ERR_NOMEM;
    }
    uint8_t point[POINT_LEN];
    int rc = public_from_scalar(bn, point);
    EVP_PKEY *pkey = rc == IOTSEC_OK ? from_data(point, bn) : NULL;
    BN_clear_free(bn);
    if (rc != IOTSEC_OK)
        return rc;
    if (pkey == NULL)
        return IOTSEC_ERR_CRYPTO;
    return wrap(pkey, true, kid, out);
}

int jwt_key_export_private(const struct jwt_key *key, uint8_t d[JWT_P256_LEN])
{
    if (key == NULL || d == NULL)
        return IOTSEC_ERR_INVALID;
    if (!key->priv)
        return IOTSEC_ERR_STATE;
    BIGNUM *bn = NULL;
    int ok = EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) &&
             BN_bn2binpad(bn, d, JWT_P256_LEN) == JWT_P256_LEN;
    BN_clear_free(bn);
    if (!ok)
        secure_wipe(d, JWT_P256_LEN);
    return ok ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
}

int jwt_key_public_xy(const struct jwt_key *key, uint8_t x[JWT_P256_LEN], uint8_t y[JWT_P256_LEN])
{
    uint8_t point[POINT_LEN];
    if (key == NULL || x == NULL || y == NULL)
        return IOTSEC_ERR_INVALID;
    int rc = get_point(key->pkey, point);
    if (rc == IOTSEC_OK) {
        memcpy(x, point + 1, JWT_P256_LEN);
        memcpy(y, point + 1 + JWT_P256_LEN, JWT_P256_LEN);
    }
    return rc;
}

const char *jwt_key_kid(const struct jwt_key *key)
{
    return key->kid;
}

bool jwt_key_is_private(const struct jwt_key *key)
{
    return key->priv;
}

EVP_PKEY *jwt_key_pkey(const struct jwt_key *key)
{
    return key->pkey;
}

void jwt_key_free(struct jwt_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}
