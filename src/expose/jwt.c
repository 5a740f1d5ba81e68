/* ES256 access tokens: signing (RFC 7515 compact serialisation through src/jose, RFC 9068
 * claims). Verification is in jwt_verify.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/rand.h"
#include "expose/expose_int.h"
#include "jose/jws.h"

void jwt_cert_thumbprint(const uint8_t *der, size_t der_len, uint8_t out[JWT_X5T_LEN])
{
    sha256_2(der, der_len, NULL, 0, out);
}

static int sign_with(EVP_PKEY *pkey, const char *header, size_t header_len, const char *payload,
                     size_t payload_len, char **token)
{
    return jws_sign(pkey, header, header_len, payload, payload_len, token);
}

int jwt_sign_compact(const struct jwt_key *key, const char *header, size_t header_len,
                     const char *payload, size_t payload_len, char **token)
{
    if (key == NULL || !jwt_key_is_private(key))
        return IOTSEC_ERR_INVALID;
    return sign_with(jwt_key_pkey(key), header, header_len, payload, payload_len, token);
}

static bool str_ok(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && strnlen(s, max + 1) <= max;
}

static bool claims_ok(const struct jwt_claims *c)
{
    return str_ok(c->iss, JWT_STR_MAX) && str_ok(c->sub, JWT_STR_MAX) &&
           str_ok(c->aud, JWT_STR_MAX) && str_ok(c->scope, JWT_SCOPE_MAX) &&
           str_ok(c->client_id, JWT_STR_MAX) && (c->jti == NULL || str_ok(c->jti, JWT_STR_MAX)) &&
           c->iat > 0 && c->exp > c->iat && c->nbf >= 0 && c->token_gen >= 0;
}

/* The claims object, members in a fixed order (JSON_PRESERVE_ORDER when dumped). */
static json_t *claims_json(const struct jwt_claims *c, const char *jti)
{
    char x5t[B64URL_LEN(JWT_X5T_LEN) + 1];
    b64url_encode(c->x5t_s256, JWT_X5T_LEN, x5t);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:{s:s}}", "iss", c->iss, "sub",
                          c->sub, "aud", c->aud, "scope", c->scope, "exp", (json_int_t)c->exp,
                          "iat", (json_int_t)c->iat, "jti", jti, "client_id", c->client_id, "cnf",
                          "x5t#S256", x5t);
    if (o != NULL && c->nbf != 0 && json_object_set_new(o, "nbf", json_integer(c->nbf)) != 0) {
        json_decref(o);
        o = NULL;
    }
    if (o != NULL && c->token_gen != 0 &&
        json_object_set_new(o, "token_gen", json_integer(c->token_gen)) != 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

int jwt_sign(struct jwt_keyset *ks, const struct jwt_claims *c, char **token)
{
    if (ks == NULL || c == NULL || token == NULL || !claims_ok(c))
        return IOTSEC_ERR_INVALID;
    char jti[B64URL_LEN(16) + 1], kid[JWT_KID_MAX + 1], header[128];
    uint8_t r[16];
    if (c->jti == NULL) {
        if (crypto_random(r, sizeof(r)) != IOTSEC_OK)
            return IOTSEC_ERR_CRYPTO;
        b64url_encode(r, sizeof(r), jti);
    }
    EVP_PKEY *pkey;
    int rc = jwt_keyset_ref_signer(ks, kid, &pkey);
    if (rc != IOTSEC_OK)
        return rc;
    /* kid is [A-Za-z0-9._-] only, so it needs no JSON escaping. */
    int hn = snprintf(header, sizeof(header),
                      "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", kid);
    json_t *claims = claims_json(c, c->jti ? c->jti : jti);
    char *payload = claims ? json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (payload == NULL)
        rc = IOTSEC_ERR_NOMEM;
    else
        rc = sign_with(pkey, header, (size_t)hn, payload, strlen(payload), token);
    if (rc == IOTSEC_OK && strlen(*token) > JWT_MAX_TOKEN) {
        free(*token); /* would be refused by every verifier */
        *token = NULL;
        rc = IOTSEC_ERR_INVALID;
    }
    free(payload);
    json_decref(claims);
    EVP_PKEY_free(pkey);
    return rc;
}
