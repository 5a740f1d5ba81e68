/* Access token verification. The order is the point:
 *   1-3. src/jose: size, shape, strict base64url and JSON of the header, typ at+jwt, kid
 *      selects a P-256 key of the keyset, alg must be ES256 (the key decides it, so "none",
 *      HS256 keyed with our public key and RS256 never reach a verifier), the signature;
 *   4. only then are the claims decoded and checked: issuer, audience, time, binding. */
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "expose/expose_int.h"
#include "jose/jws.h"

static const char *const accepted_typ[] = {"at+jwt", "application/at+jwt", NULL};

static EVP_PKEY *keyset_lookup(void *ctx, const char *kid)
{
    EVP_PKEY *pkey = NULL;
    if (kid == NULL || jwt_keyset_ref_verifier(ctx, kid, &pkey) != IOTSEC_OK)
        return NULL;
    return pkey;
}

/* The shared JWS checks' reasons in this API's terms. */
static enum jwt_reason from_jws(enum jws_reason r)
{
    static const enum jwt_reason map[] = {
        [JWS_R_OK] = JWT_R_OK,
        [JWS_R_TOO_LARGE] = JWT_R_TOO_LARGE,
        [JWS_R_MALFORMED] = JWT_R_MALFORMED,
        [JWS_R_BASE64] = JWT_R_BASE64,
        [JWS_R_JSON] = JWT_R_JSON,
        [JWS_R_JSON_DUPLICATE] = JWT_R_JSON_DUPLICATE,
        [JWS_R_ALG] = JWT_R_ALG,
        [JWS_R_TYP] = JWT_R_TYP,
        [JWS_R_CRIT] = JWT_R_CRIT,
        [JWS_R_KID] = JWT_R_KID,
        [JWS_R_SIG_FORMAT] = JWT_R_SIG_FORMAT,
        [JWS_R_SIGNATURE] = JWT_R_SIGNATURE,
        [JWS_R_INTERNAL] = JWT_R_INTERNAL,
    };
    return (unsigned)r < sizeof(map) / sizeof(map[0]) ? map[r] : JWT_R_INTERNAL;
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
    json_t *claims = NULL;
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (ks != NULL && token != NULL && out != NULL && expect_ok(ex)) {
        /* Keys of the set are P-256 only: ES256 is the only algorithm that can pass. */
        struct jws_rules rules = {.max_len = JWT_MAX_TOKEN,
                                  .typ = accepted_typ,
                                  .kid_required = true,
                                  .lookup = keyset_lookup,
                                  .lookup_ctx = ks};
        r = from_jws(jws_verify(token, len, &rules, out->kid, &claims));
    }
    if (r == JWT_R_OK)
        r = jwt_check_claims(claims, ex, out);
    json_decref(claims);
    if (r != JWT_R_OK && out != NULL)
        memset(out, 0, sizeof(*out));
    if (reason != NULL)
        *reason = r;
    return result(r);
}
