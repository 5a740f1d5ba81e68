/* The claims of a verified token (RFC 7519 §4.1, RFC 9068 §2.2, RFC 8705 §3.1). Every claim
 * our issuer writes is required, with its exact JSON type: a NumericDate must be an integer
 * (no reals, no strings), and no string may exceed the buffers of struct jwt_verified. */
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "expose/expose_int.h"

#define X5T_B64_LEN B64URL_LEN(JWT_X5T_LEN)

static enum jwt_reason copy_string(const json_t *o, const char *name, char *out, size_t max)
{
    const json_t *v = json_object_get(o, name);
    if (v == NULL)
        return JWT_R_CLAIM_MISSING;
    size_t n = json_string_length(v);
    if (!json_is_string(v) || n == 0 || n > max || strlen(json_string_value(v)) != n)
        return JWT_R_CLAIM_INVALID;
    memcpy(out, json_string_value(v), n + 1);
    return JWT_R_OK;
}

static enum jwt_reason get_time(const json_t *o, const char *name, bool required, int64_t *out)
{
    const json_t *v = json_object_get(o, name);
    *out = 0;
    if (v == NULL)
        return required ? JWT_R_CLAIM_MISSING : JWT_R_OK;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return JWT_R_CLAIM_INVALID;
    *out = json_integer_value(v);
    return JWT_R_OK;
}

/* aud is a string or an array of strings (RFC 7519 §4.1.3); ours must be among them. */
static enum jwt_reason check_audience(const json_t *aud, const char *want)
{
    if (aud == NULL)
        return JWT_R_CLAIM_MISSING;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0 ? JWT_R_OK : JWT_R_AUDIENCE;
    if (!json_is_array(aud))
        return JWT_R_CLAIM_INVALID;
    enum jwt_reason r = JWT_R_AUDIENCE;
    for (size_t i = 0; i < json_array_size(aud); i++) {
        const json_t *a = json_array_get(aud, i);
        if (!json_is_string(a))
            return JWT_R_CLAIM_INVALID;
        if (strcmp(json_string_value(a), want) == 0)
            r = JWT_R_OK;
    }
    return r;
}

/* cnf.x5t#S256 must be the thumbprint of the certificate on this connection (RFC 8705):
 * a token copied off one connection is worthless on another. */
static enum jwt_reason check_binding(const json_t *claims, const uint8_t want[JWT_X5T_LEN])
{
    const json_t *cnf = json_object_get(claims, "cnf");
    const json_t *x5t = json_object_get(cnf, "x5t#S256");
    if (cnf == NULL || x5t == NULL)
        return JWT_R_CLAIM_MISSING;
    uint8_t got[JWT_X5T_LEN + 3];
    size_t n;
    if (!json_is_object(cnf) || !json_is_string(x5t) || json_string_length(x5t) != X5T_B64_LEN ||
        b64url_decode(json_string_value(x5t), X5T_B64_LEN, got, sizeof(got), &n) != IOTSEC_OK ||
        n != JWT_X5T_LEN)
        return JWT_R_CLAIM_INVALID;
    return ct_equal(got, want, JWT_X5T_LEN) ? JWT_R_OK : JWT_R_BINDING;
}

/* An optional non-negative integer claim; 0 when absent. */
static enum jwt_reason get_count(const json_t *o, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(o, name);
    *out = 0;
    if (v == NULL)
        return JWT_R_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return JWT_R_CLAIM_INVALID;
    *out = json_integer_value(v);
    return JWT_R_OK;
}

static enum jwt_reason check_times(const struct jwt_verified *v, const struct jwt_expect *ex)
{
    if (v->exp <= ex->now - ex->leeway)
        return JWT_R_EXPIRED;
    if (v->nbf > ex->now + ex->leeway || v->iat > ex->now + ex->leeway)
        return JWT_R_NOT_YET_VALID;
    if (v->exp <= v->iat || (ex->max_lifetime > 0 && v->exp - v->iat > ex->max_lifetime))
        return JWT_R_LIFETIME;
    return JWT_R_OK;
}

enum jwt_reason jwt_check_claims(const json_t *claims, const struct jwt_expect *ex,
                                 struct jwt_verified *out)
{
    char iss[JWT_STR_MAX + 1];
    enum jwt_reason r;
    /* Presence and types first, so a malformed token is reported as such, whatever its
     * values; then the values, issuer first. */
    if ((r = copy_string(claims, "iss", iss, JWT_STR_MAX)) != JWT_R_OK ||
        (r = copy_string(claims, "sub", out->sub, JWT_STR_MAX)) != JWT_R_OK ||
        (r = copy_string(claims, "client_id", out->client_id, JWT_STR_MAX)) != JWT_R_OK ||
        (r = copy_string(claims, "jti", out->jti, JWT_STR_MAX)) != JWT_R_OK ||
        (r = copy_string(claims, "scope", out->scope, JWT_SCOPE_MAX)) != JWT_R_OK ||
        (r = get_time(claims, "exp", true, &out->exp)) != JWT_R_OK ||
        (r = get_time(claims, "iat", true, &out->iat)) != JWT_R_OK ||
        (r = get_time(claims, "nbf", false, &out->nbf)) != JWT_R_OK ||
        (r = get_count(claims, "token_gen", &out->token_gen)) != JWT_R_OK)
        return r;
    if (strcmp(iss, ex->iss) != 0)
        return JWT_R_ISSUER;
    /* Client credentials: no resource owner, the subject is the client (RFC 9068 §2.2). A
     * token naming one AF as subject and another as client is not one we issue. */
    if (strcmp(out->sub, out->client_id) != 0)
        return JWT_R_SUBJECT;
    if ((r = check_audience(json_object_get(claims, "aud"), ex->aud)) != JWT_R_OK ||
        (r = check_times(out, ex)) != JWT_R_OK)
        return r;
    return check_binding(claims, ex->x5t_s256);
}

const char *jwt_reason_str(enum jwt_reason r)
{
    static const char *const text[] = {
        [JWT_R_OK] = "ok",
        [JWT_R_PARAMS] = "verifier misconfigured",
        [JWT_R_TOO_LARGE] = "token too large",
        [JWT_R_MALFORMED] = "token is not three dot-separated parts",
        [JWT_R_BASE64] = "part is not canonical unpadded base64url",
        [JWT_R_JSON] = "header or claims are not a strict JSON object",
        [JWT_R_JSON_DUPLICATE] = "duplicate JSON member",
        [JWT_R_ALG] = "algorithm not accepted (only ES256)",
        [JWT_R_TYP] = "token type is not at+jwt",
        [JWT_R_CRIT] = "critical header extension not understood",
        [JWT_R_KID] = "unknown or missing key id",
        [JWT_R_SIG_FORMAT] = "signature is not 64-byte r||s",
        [JWT_R_SIGNATURE] = "signature does not verify",
        [JWT_R_CLAIM_MISSING] = "required claim missing",
        [JWT_R_CLAIM_INVALID] = "claim has the wrong type or size",
        [JWT_R_EXPIRED] = "token expired",
        [JWT_R_NOT_YET_VALID] = "token not yet valid",
        [JWT_R_LIFETIME] = "token lifetime too long",
        [JWT_R_ISSUER] = "wrong issuer",
        [JWT_R_AUDIENCE] = "wrong audience",
        [JWT_R_BINDING] = "token not bound to this client certificate",
        [JWT_R_SUBJECT] = "sub is not client_id",
        [JWT_R_INTERNAL] = "internal error",
    };
    if ((unsigned)r < sizeof(text) / sizeof(text[0]) && text[r] != NULL)
        return text[r];
    return "unknown reason";
}
