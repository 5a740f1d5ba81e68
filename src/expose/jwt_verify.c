/* Access token verification. The order is the point:
 *   1. size, shape, strict base64url and strict JSON of the header (duplicates refused);
 *   2. alg must be ES256: the token may only confirm the algorithm, the key decides it, so
 *      "none", HS256 (keyed with our public key) and RS256 never reach a verifier;
 *   3. kid selects a P-256 key of the keyset, and the signature is checked;
 *   4. only then are the claims decoded and checked: issuer, audience, time, binding. */
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "expose/expose_int.h"

#define SIG_LEN     (2 * JWT_P256_LEN)
#define SIG_B64_LEN B64URL_LEN(SIG_LEN)
#define DECODED_MAX (JWT_MAX_TOKEN / 4 * 3 + 3)

/* Decodes one part into a strict JSON object. */
static enum jwt_reason decode_json(const char *b64, size_t len, json_t **out)
{
    static __thread uint8_t buf[DECODED_MAX]; /* per thread: keeps 6 KiB off the stack */
    size_t n;
    if (b64url_decode(b64, len, buf, sizeof(buf), &n) != IOTSEC_OK)
        return JWT_R_BASE64;
    json_error_t err;
    json_t *j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL)
        return json_error_code(&err) == json_error_duplicate_key ? JWT_R_JSON_DUPLICATE
                                                                 : JWT_R_JSON;
    if (!json_is_object(j)) {
        json_decref(j);
        return JWT_R_JSON;
    }
    *out = j;
    return JWT_R_OK;
}

static bool string_is(const json_t *o, const char *name, const char *want)
{
    const char *s = json_string_value(json_object_get(o, name));
    return s != NULL && strcmp(s, want) == 0;
}

/* Header rules; on success *kid points into hdr. */
static enum jwt_reason check_header(const json_t *hdr, const char **kid)
{
    if (!string_is(hdr, "alg", "ES256"))
        return JWT_R_ALG;
    /* RFC 9068 §4: "at+jwt", and RFC 7515 §4.1.9 lets "application/" be added. */
    const char *typ = json_string_value(json_object_get(hdr, "typ"));
    if (typ == NULL ||
        (strcasecmp(typ, "at+jwt") != 0 && strcasecmp(typ, "application/at+jwt") != 0))
        return JWT_R_TYP;
    if (json_object_get(hdr, "crit") != NULL)
        return JWT_R_CRIT; /* we understand no extension, so must refuse (RFC 7515 §4.1.11) */
    *kid = json_string_value(json_object_get(hdr, "kid"));
    return *kid != NULL && jwt_kid_valid(*kid) ? JWT_R_OK : JWT_R_KID;
}

static enum jwt_reason check_signature(EVP_PKEY *pkey, const char *input, size_t input_len,
                                       const char *sig_b64, size_t sig_b64_len)
{
    uint8_t rs[SIG_LEN], der[JWT_DER_MAX], digest[SHA256_LEN];
    size_t n, der_len;
    if (sig_b64_len != SIG_B64_LEN) /* e.g. a DER signature: 70..72 bytes */
        return JWT_R_SIG_FORMAT;
    if (b64url_decode(sig_b64, sig_b64_len, rs, sizeof(rs), &n) != IOTSEC_OK)
        return JWT_R_BASE64;
    if (jwt_sig_to_der(rs, der, &der_len) != IOTSEC_OK)
        return JWT_R_INTERNAL;
    sha256_2(input, input_len, NULL, 0, digest);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL)
        return JWT_R_INTERNAL;
    int ok = EVP_PKEY_verify_init(ctx) > 0 &&
             EVP_PKEY_verify(ctx, der, der_len, digest, sizeof(digest)) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? JWT_R_OK : JWT_R_SIGNATURE; /* r or s out of range fails here too */
}

/* Steps 1-3: everything up to and including the signature. */
static enum jwt_reason check_jws(struct jwt_keyset *ks, const char *token, size_t len,
                                 char kid_out[JWT_KID_MAX + 1], const char **payload,
                                 size_t *payload_len)
{
    if (len > JWT_MAX_TOKEN)
        return JWT_R_TOO_LARGE;
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    const char *end = token + len;
    /* An empty signature is left to the header check, so "alg":"none" says so. */
    if (d2 == NULL || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL || d1 == token ||
        d2 == d1 + 1)
        return JWT_R_MALFORMED;
    json_t *hdr = NULL;
    const char *kid;
    enum jwt_reason r = decode_json(token, (size_t)(d1 - token), &hdr);
    if (r == JWT_R_OK && (r = check_header(hdr, &kid)) == JWT_R_OK)
        strcpy(kid_out, kid);
    json_decref(hdr);
    if (r != JWT_R_OK)
        return r;
    EVP_PKEY *pkey;
    int rc = jwt_keyset_ref_verifier(ks, kid_out, &pkey);
    if (rc != IOTSEC_OK)
        return rc == IOTSEC_ERR_NOTFOUND ? JWT_R_KID : JWT_R_INTERNAL;
    r = check_signature(pkey, token, (size_t)(d2 - token), d2 + 1, (size_t)(end - d2 - 1));
    EVP_PKEY_free(pkey);
    *payload = d1 + 1;
    *payload_len = (size_t)(d2 - d1 - 1);
    return r;
}

/* Maps a reason to the function's return code. */
static int result(enum jwt_reason r)
{
    switch (r) {
    case JWT_R_OK:
        return IOTSEC_OK;
    case JWT_R_INTERNAL:
        return IOTSEC_ERR_CRYPTO;
    case JWT_R_PARAMS:
    case JWT_R_TOO_LARGE:
    case JWT_R_MALFORMED:
    case JWT_R_BASE64:
    case JWT_R_JSON:
    case JWT_R_JSON_DUPLICATE:
    case JWT_R_SIG_FORMAT:
    case JWT_R_CLAIM_MISSING:
    case JWT_R_CLAIM_INVALID:
        return IOTSEC_ERR_INVALID;
    default:
        return IOTSEC_ERR_AUTH;
    }
}

static bool expect_ok(const struct jwt_expect *ex)
{
    return ex != NULL && ex->iss != NULL && ex->aud != NULL && ex->x5t_s256 != NULL &&
           ex->now > 0 && ex->now < (INT64_C(1) << 40) && ex->leeway >= 0 &&
           ex->leeway <= JWT_LEEWAY_MAX && ex->max_lifetime >= 0;
}

int jwt_verify(struct jwt_keyset *ks, const char *token, size_t len, const struct jwt_expect *ex,
               struct jwt_verified *out, enum jwt_reason *reason)
{
    enum jwt_reason r = JWT_R_PARAMS;
    const char *payload = NULL;
    size_t payload_len = 0;
    json_t *claims = NULL;
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (ks != NULL && token != NULL && out != NULL && expect_ok(ex))
        r = check_jws(ks, token, len, out->kid, &payload, &payload_len);
    if (r == JWT_R_OK)
        r = decode_json(payload, payload_len, &claims);
    if (r == JWT_R_OK)
        r = jwt_check_claims(claims, ex, out);
    json_decref(claims);
    if (r != JWT_R_OK && out != NULL)
        memset(out, 0, sizeof(*out));
    if (reason != NULL)
        *reason = r;
    return result(r);
}
