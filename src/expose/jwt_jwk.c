/* One key as a JWK (RFC 7517/7518 §6.2): EC, P-256, x and y as 32-byte base64url. Parsing
 * refuses anything that is not exactly such a public signing key: another curve or type, a
 * different use or alg, coordinates of another length, or a private member ("d"), which
 * has no business in a published key set. */
#include <string.h>

#include "base/err.h"
#include "expose/expose_int.h"

#define COORD_B64 B64URL_LEN(JWT_P256_LEN)

int jwt_key_to_jwk(const struct jwt_key *key, json_t *array)
{
    uint8_t x[JWT_P256_LEN], y[JWT_P256_LEN];
    char xs[COORD_B64 + 1], ys[COORD_B64 + 1];
    int rc = jwt_key_public_xy(key, x, y);
    if (rc != IOTSEC_OK)
        return rc;
    b64url_encode(x, sizeof(x), xs);
    b64url_encode(y, sizeof(y), ys);
    json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x",
                            xs, "y", ys, "kid", jwt_key_kid(key), "use", "sig", "alg", "ES256");
    if (jwk == NULL || json_array_append_new(array, jwk) != 0)
        return IOTSEC_ERR_NOMEM;
    return IOTSEC_OK;
}

/* A member that must be absent or equal to want. */
static bool optional_is(const json_t *jwk, const char *name, const char *want)
{
    const json_t *v = json_object_get(jwk, name);
    return v == NULL || (json_is_string(v) && strcmp(json_string_value(v), want) == 0);
}

static bool required_is(const json_t *jwk, const char *name, const char *want)
{
    return json_object_get(jwk, name) != NULL && optional_is(jwk, name, want);
}

static int coordinate(const json_t *jwk, const char *name, uint8_t out[JWT_P256_LEN])
{
    const char *s = json_string_value(json_object_get(jwk, name));
    size_t n;
    if (s == NULL || strlen(s) != COORD_B64 ||
        b64url_decode(s, COORD_B64, out, JWT_P256_LEN, &n) != IOTSEC_OK || n != JWT_P256_LEN)
        return IOTSEC_ERR_INVALID;
    return IOTSEC_OK;
}

int jwt_key_from_jwk(const json_t *jwk, struct jwt_key **out)
{
    uint8_t x[JWT_P256_LEN], y[JWT_P256_LEN];
    if (!json_is_object(jwk) || !required_is(jwk, "kty", "EC") ||
        !required_is(jwk, "crv", "P-256") || !optional_is(jwk, "use", "sig") ||
        !optional_is(jwk, "alg", "ES256") || json_object_get(jwk, "d") != NULL ||
        coordinate(jwk, "x", x) != IOTSEC_OK || coordinate(jwk, "y", y) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    return jwt_key_from_public(json_string_value(json_object_get(jwk, "kid")), x, y, out);
}
