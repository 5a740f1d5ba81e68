/* JWS signing (ES256, RS256) and the two forms of an ECDSA signature: JOSE carries r||s as
 * two fixed 32-byte big-endian integers (RFC 7518 §3.4); OpenSSL signs and verifies DER. */
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/hmac_sha256.h"
#include "jose/jws.h"

#define ES_SIG_LEN  (2 * JWS_P256_LEN)
#define PART_MAX    (1u << 20) /* only keeps sizes sane */
#define RSA_SIG_MAX 1024

int jws_sig_to_der(const uint8_t rs[ES_SIG_LEN], uint8_t *der, size_t *der_len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, JWS_P256_LEN, NULL),
           *s = BN_bin2bn(rs + JWS_P256_LEN, JWS_P256_LEN, NULL);
    if (sig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s)) {
        ECDSA_SIG_free(sig);
        BN_free(r);
        BN_free(s);
        return IOTSEC_ERR_NOMEM;
    }
    unsigned char *p = der;
    int n = i2d_ECDSA_SIG(sig, NULL);
    if (n > 0 && n <= JWS_DER_MAX)
        n = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig); /* frees r and s */
    if (n <= 0 || n > JWS_DER_MAX)
        return IOTSEC_ERR_CRYPTO;
    *der_len = (size_t)n;
    return IOTSEC_OK;
}

int jws_sig_from_der(const uint8_t *der, size_t der_len, uint8_t rs[ES_SIG_LEN])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    const BIGNUM *r, *s;
    if (sig == NULL)
        return IOTSEC_ERR_INVALID;
    ECDSA_SIG_get0(sig, &r, &s);
    int ok = p == der + der_len && BN_bn2binpad(r, rs, JWS_P256_LEN) == JWS_P256_LEN &&
             BN_bn2binpad(s, rs + JWS_P256_LEN, JWS_P256_LEN) == JWS_P256_LEN;
    ECDSA_SIG_free(sig);
    return ok ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

static int es256_sign(EVP_PKEY *pkey, const char *input, size_t len, uint8_t *sig, size_t *n)
{
    uint8_t digest[SHA256_LEN], der[JWS_DER_MAX];
    size_t der_len = sizeof(der);
    sha256_2(input, len, NULL, 0, digest);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) > 0 &&
             EVP_PKEY_sign(ctx, der, &der_len, digest, sizeof(digest)) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (!ok || jws_sig_from_der(der, der_len, sig) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    *n = ES_SIG_LEN;
    return IOTSEC_OK;
}

static int rs256_sign(EVP_PKEY *pkey, const char *input, size_t len, uint8_t *sig, size_t *n)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    *n = RSA_SIG_MAX;
    int ok = md != NULL && EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, pkey) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
             EVP_DigestSign(md, sig, n, (const unsigned char *)input, len) > 0;
    EVP_MD_CTX_free(md);
    return ok ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
}

int jws_sign(EVP_PKEY *pkey, const char *header, size_t header_len, const char *payload,
             size_t payload_len, char **token)
{
    enum jws_alg alg = pkey ? jws_key_alg(pkey) : JWS_ALG_NONE;
    if (alg == JWS_ALG_NONE || header_len > PART_MAX || payload_len > PART_MAX || token == NULL)
        return IOTSEC_ERR_INVALID;
    size_t h = B64URL_LEN(header_len), p = B64URL_LEN(payload_len);
    char *t = malloc(h + 1 + p + 1 + B64URL_LEN(RSA_SIG_MAX) + 1);
    if (t == NULL)
        return IOTSEC_ERR_NOMEM;
    b64url_encode((const uint8_t *)header, header_len, t);
    t[h] = '.';
    b64url_encode((const uint8_t *)payload, payload_len, t + h + 1);
    t[h + 1 + p] = '.';
    uint8_t sig[RSA_SIG_MAX];
    size_t n = 0;
    int rc = alg == JWS_ES256 ? es256_sign(pkey, t, h + 1 + p, sig, &n)
                              : rs256_sign(pkey, t, h + 1 + p, sig, &n);
    if (rc != IOTSEC_OK) {
        free(t);
        return rc;
    }
    b64url_encode(sig, n, t + h + 1 + p + 1);
    *token = t;
    return IOTSEC_OK;
}
