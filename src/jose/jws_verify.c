/* JWS verification. The order is the point:
 *   1. size, shape, strict base64url and strict JSON of the header (duplicates refused);
 *   2. typ, crit and kid as the caller's rules say; the key is looked up by kid;
 *   3. alg must be the key's algorithm (jws_key_alg): the token only confirms it;
 *   4. the signature; only then is the payload decoded. */
#include <openssl/rsa.h>
#include <string.h>
#include <strings.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/hmac_sha256.h"
#include "jose/jws.h"

#define DECODED_MAX (JWS_MAX_TOKEN / 4 * 3 + 3)
#define ES_SIG_LEN  (2 * JWS_P256_LEN)
#define RSA_SIG_MAX 1024 /* 8192-bit keys */

enum jws_reason jws_decode_json(const char *b64, size_t len, json_t **out)
{
    static __thread uint8_t buf[DECODED_MAX]; /* per thread: keeps 6 KiB off the stack */
    size_t n;
    if (len > B64URL_LEN(sizeof(buf)) || b64url_decode(b64, len, buf, sizeof(buf), &n) != IOTSEC_OK)
        return JWS_R_BASE64;
    json_error_t err;
    json_t *j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL)
        return json_error_code(&err) == json_error_duplicate_key ? JWS_R_JSON_DUPLICATE
                                                                 : JWS_R_JSON;
    if (!json_is_object(j)) {
        json_decref(j);
        return JWS_R_JSON;
    }
    *out = j;
    return JWS_R_OK;
}

static bool kid_valid(const char *kid)
{
    size_t n = strnlen(kid, JWS_KID_MAX + 1);
    if (n == 0 || n > JWS_KID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = kid[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static enum jws_reason check_header(const json_t *hdr, const struct jws_rules *rules,
                                    const char **alg, const char **kid)
{
    /* Only the algorithms some key can have, before anything else: "none" and HS256 are
     * refused whatever the kid. */
    *alg = json_string_value(json_object_get(hdr, "alg"));
    if (*alg == NULL || (strcmp(*alg, "ES256") != 0 && strcmp(*alg, "RS256") != 0))
        return JWS_R_ALG;
    const json_t *typ = json_object_get(hdr, "typ");
    if (rules->typ != NULL) {
        bool ok = false;
        for (const char *const *t = rules->typ; !ok && json_is_string(typ) && *t; t++)
            ok = strcasecmp(json_string_value(typ), *t) == 0;
        if (!ok)
            return JWS_R_TYP;
    } else if (typ != NULL && !json_is_string(typ)) {
        return JWS_R_TYP;
    }
    if (json_object_get(hdr, "crit") != NULL)
        return JWS_R_CRIT; /* we understand no extension, so must refuse (RFC 7515 §4.1.11) */
    const json_t *k = json_object_get(hdr, "kid");
    *kid = json_string_value(k);
    if (k == NULL)
        return rules->kid_required ? JWS_R_KID : JWS_R_OK;
    return *kid != NULL && kid_valid(*kid) ? JWS_R_OK : JWS_R_KID;
}

static enum jws_reason verify_es256(EVP_PKEY *pkey, const char *input, size_t input_len,
                                    const char *sig_b64, size_t sig_b64_len)
{
    uint8_t rs[ES_SIG_LEN], der[JWS_DER_MAX], digest[SHA256_LEN];
    size_t n, der_len;
    if (sig_b64_len != B64URL_LEN(ES_SIG_LEN)) /* e.g. a DER signature: 70..72 bytes */
        return JWS_R_SIG_FORMAT;
    if (b64url_decode(sig_b64, sig_b64_len, rs, sizeof(rs), &n) != IOTSEC_OK)
        return JWS_R_BASE64;
    if (jws_sig_to_der(rs, der, &der_len) != IOTSEC_OK)
        return JWS_R_INTERNAL;
    sha256_2(input, input_len, NULL, 0, digest);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL)
        return JWS_R_INTERNAL;
    int ok = EVP_PKEY_verify_init(ctx) > 0 &&
             EVP_PKEY_verify(ctx, der, der_len, digest, sizeof(digest)) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? JWS_R_OK : JWS_R_SIGNATURE; /* r or s out of range fails here too */
}

/* RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3). */
static enum jws_reason verify_rs256(EVP_PKEY *pkey, const char *input, size_t input_len,
                                    const char *sig_b64, size_t sig_b64_len)
{
    uint8_t sig[RSA_SIG_MAX];
    size_t n;
    if (sig_b64_len > B64URL_LEN(sizeof(sig)))
        return JWS_R_SIG_FORMAT;
    if (b64url_decode(sig_b64, sig_b64_len, sig, sizeof(sig), &n) != IOTSEC_OK)
        return JWS_R_BASE64;
    if (n != (size_t)EVP_PKEY_get_size(pkey))
        return JWS_R_SIG_FORMAT;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (md == NULL)
        return JWS_R_INTERNAL;
    int ok = EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pkey) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
             EVP_DigestVerify(md, sig, n, (const unsigned char *)input, input_len) == 1;
    EVP_MD_CTX_free(md);
    return ok ? JWS_R_OK : JWS_R_SIGNATURE;
}

enum jws_reason jws_verify(const char *token, size_t len, const struct jws_rules *rules,
                           char *kid_out, json_t **payload)
{
    size_t max = rules->max_len ? rules->max_len : JWS_MAX_TOKEN;
    if (kid_out != NULL)
        kid_out[0] = '\0';
    if (len > max || len > JWS_MAX_TOKEN)
        return JWS_R_TOO_LARGE;
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    const char *end = token + len;
    /* An empty signature is left to the header check, so "alg":"none" says so. */
    if (d2 == NULL || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL || d1 == token ||
        d2 == d1 + 1)
        return JWS_R_MALFORMED;
    json_t *hdr = NULL;
    const char *alg = NULL, *kid = NULL;
    enum jws_reason r = jws_decode_json(token, (size_t)(d1 - token), &hdr);
    if (r == JWS_R_OK)
        r = check_header(hdr, rules, &alg, &kid);
    EVP_PKEY *pkey = NULL;
    if (r == JWS_R_OK && (pkey = rules->lookup(rules->lookup_ctx, kid)) == NULL)
        r = JWS_R_KID;
    enum jws_alg want = pkey ? jws_key_alg(pkey) : JWS_ALG_NONE;
    if (r == JWS_R_OK && (want == JWS_ALG_NONE || strcmp(alg, jws_alg_name(want)) != 0))
        r = JWS_R_ALG;
    if (r == JWS_R_OK && kid_out != NULL && kid != NULL)
        memcpy(kid_out, kid, strlen(kid) + 1);
    json_decref(hdr);
    if (r == JWS_R_OK) {
        size_t in_len = (size_t)(d2 - token), sig_len = (size_t)(end - d2 - 1);
        r = want == JWS_ES256 ? verify_es256(pkey, token, in_len, d2 + 1, sig_len)
                              : verify_rs256(pkey, token, in_len, d2 + 1, sig_len);
    }
    EVP_PKEY_free(pkey);
    if (r == JWS_R_OK)
        r = jws_decode_json(d1 + 1, (size_t)(d2 - d1 - 1), payload);
    if (r != JWS_R_OK && kid_out != NULL)
        kid_out[0] = '\0';
    return r;
}

const char *jws_reason_str(enum jws_reason r)
{
    static const char *const text[] = {
        [JWS_R_OK] = "ok",
        [JWS_R_TOO_LARGE] = "token too large",
        [JWS_R_MALFORMED] = "token is not three dot-separated parts",
        [JWS_R_BASE64] = "part is not canonical unpadded base64url",
        [JWS_R_JSON] = "header or claims are not a strict JSON object",
        [JWS_R_JSON_DUPLICATE] = "duplicate JSON member",
        [JWS_R_ALG] = "algorithm not accepted for this key",
        [JWS_R_TYP] = "token type not accepted",
        [JWS_R_CRIT] = "critical header extension not understood",
        [JWS_R_KID] = "unknown or missing key id",
        [JWS_R_SIG_FORMAT] = "signature has the wrong size",
        [JWS_R_SIGNATURE] = "signature does not verify",
        [JWS_R_INTERNAL] = "internal error",
    };
    if ((unsigned)r < sizeof(text) / sizeof(text[0]) && text[r] != NULL)
        return text[r];
    return "unknown reason";
}
