#include "expose_test.h"

#include <openssl/ecdsa.h>
#include <stdlib.h>
#include <string.h>

const uint8_t t_cert[] = "0\x82\x01\x0a this stands in for the DER of AF 0001's certificate";
const uint8_t t_other_cert[] = "0\x82\x01\x0a and this for another client's certificate";
const size_t t_cert_len = sizeof(t_cert) - 1, t_other_cert_len = sizeof(t_other_cert) - 1;

void t_thumb(uint8_t out[JWT_X5T_LEN])
{
    unsigned int n = 0;
    EVP_Digest(t_cert, t_cert_len, out, &n, EVP_sha256(), NULL); /* independent of sha256_2 */
}

struct jwt_claims t_claims(void)
{
    struct jwt_claims c = {.iss = T_ISS,
                           .sub = T_AF,
                           .aud = T_AUD,
                           .scope = "monitoring-event",
                           .client_id = T_AF,
                           .iat = T_NOW - 10,
                           .exp = T_NOW + 3600};
    t_thumb(c.x5t_s256);
    return c;
}

json_t *t_claims_json(void)
{
    uint8_t th[JWT_X5T_LEN];
    t_thumb(th);
    char *x5t = t_b64(th, sizeof(th));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:{s:s}}", "iss", T_ISS, "sub",
                          T_AF, "aud", T_AUD, "scope", "monitoring-event", "exp",
                          (json_int_t)(T_NOW + 3600), "iat", (json_int_t)(T_NOW - 100), "jti",
                          "jti-1", "client_id", T_AF, "cnf", "x5t#S256", x5t);
    free(x5t);
    return o;
}

struct jwt_expect t_expect(const uint8_t thumb[JWT_X5T_LEN])
{
    return (struct jwt_expect){
        .iss = T_ISS, .aud = T_AUD, .x5t_s256 = thumb, .now = T_NOW, .leeway = 30};
}

char *t_b64(const void *data, size_t len)
{
    /* OpenSSL's standard base64, then translated: another implementation than b64url.c. */
    char *out = malloc(4 * (len / 3 + 1) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (int i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

char *t_sign_input(EVP_PKEY *pkey, const char *input)
{
    unsigned char der[80], rs[64];
    size_t der_len = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
        EVP_DigestSign(md, der, &der_len, (const unsigned char *)input, strlen(input)) != 1)
        abort();
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    BN_bn2binpad(r, rs, 32);
    BN_bn2binpad(s, rs + 32, 32);
    ECDSA_SIG_free(sig);
    char *sig64 = t_b64(rs, sizeof(rs));
    char *token = malloc(strlen(input) + 1 + strlen(sig64) + 1);
    sprintf(token, "%s.%s", input, sig64);
    free(sig64);
    return token;
}

char *t_sign_texts(EVP_PKEY *pkey, const char *header, const char *payload)
{
    char *h = t_b64(header, strlen(header)), *p = t_b64(payload, strlen(payload));
    char *input = malloc(strlen(h) + 1 + strlen(p) + 1);
    sprintf(input, "%s.%s", h, p);
    char *token = t_sign_input(pkey, input);
    free(h);
    free(p);
    free(input);
    return token;
}

char *t_sign_json(EVP_PKEY *pkey, const char *header, json_t *claims)
{
    char *payload = json_dumps(claims, JSON_COMPACT);
    char *token = t_sign_texts(pkey, header, payload);
    free(payload);
    return token;
}

enum jwt_reason t_verify(struct jwt_keyset *ks, const char *token)
{
    uint8_t th[JWT_X5T_LEN];
    t_thumb(th);
    struct jwt_expect ex = t_expect(th);
    struct jwt_verified v;
    enum jwt_reason r = JWT_R_INTERNAL;
    jwt_verify(ks, token, strlen(token), &ex, &v, &r);
    return r;
}
