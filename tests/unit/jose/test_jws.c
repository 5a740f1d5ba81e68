/* src/jose: ES256 and RS256 round trips, and every refusal: the key decides the algorithm
 * (RS256 against an EC key, ES256 against an RSA key, none, HS256), typ and kid rules, crit,
 * duplicate members, tampering, sizes and shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "base/b64url.h"
#include "jose/jws.h"

static EVP_PKEY *ec, *rsa, *other_ec;

static EVP_PKEY *lookup(void *ctx, const char *kid)
{
    (void)kid;
    EVP_PKEY *k = ctx;
    return EVP_PKEY_up_ref(k) ? k : NULL;
}

static EVP_PKEY *lookup_kid1(void *ctx, const char *kid)
{
    return kid && strcmp(kid, "k1") == 0 ? lookup(ctx, kid) : NULL;
}

static char *sign(EVP_PKEY *k, const char *hdr, const char *payload)
{
    char *t = NULL;
    assert_int_equal(jws_sign(k, hdr, strlen(hdr), payload, strlen(payload), &t), 0);
    return t;
}

static enum jws_reason verify(EVP_PKEY *k, const char *tok, json_t **out)
{
    struct jws_rules r = {.lookup = lookup, .lookup_ctx = k};
    json_t *p = NULL;
    enum jws_reason res = jws_verify(tok, strlen(tok), &r, NULL, &p);
    if (out)
        *out = p;
    else
        json_decref(p);
    return res;
}

/* header.payload. with a raw header (no signature check reached) */
static char *unsigned_token(const char *hdr, const char *payload, const char *sig)
{
    static char buf[1024];
    char h[256], p[256];
    b64url_encode((const uint8_t *)hdr, strlen(hdr), h);
    b64url_encode((const uint8_t *)payload, strlen(payload), p);
    snprintf(buf, sizeof(buf), "%s.%s.%s", h, p, sig);
    return buf;
}

static int setup(void **state)
{
    (void)state;
    ec = EVP_EC_gen("P-256");
    other_ec = EVP_EC_gen("P-256");
    rsa = EVP_RSA_gen(2048);
    return ec && rsa && other_ec ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(ec);
    EVP_PKEY_free(other_ec);
    EVP_PKEY_free(rsa);
    return 0;
}

static void test_round_trips(void **state)
{
    (void)state;
    assert_int_equal(jws_key_alg(ec), JWS_ES256);
    assert_int_equal(jws_key_alg(rsa), JWS_RS256);
    char *t = sign(ec, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", "{\"a\":1}");
    json_t *p = NULL;
    assert_int_equal(verify(ec, t, &p), JWS_R_OK);
    assert_int_equal(json_integer_value(json_object_get(p, "a")), 1);
    json_decref(p);
    assert_int_equal(verify(other_ec, t, NULL), JWS_R_SIGNATURE);
    free(t);
    t = sign(rsa, "{\"alg\":\"RS256\"}", "{\"b\":2}");
    assert_int_equal(verify(rsa, t, NULL), JWS_R_OK);
    /* tampered payload */
    char *dot = strchr(t, '.');
    dot[1] = dot[1] == 'e' ? 'f' : 'e';
    assert_int_not_equal(verify(rsa, t, NULL), JWS_R_OK);
    free(t);
}

static void test_key_decides_algorithm(void **state)
{
    (void)state;
    /* a valid RS256 signature presented to an EC key, and the other way round */
    char *t = sign(rsa, "{\"alg\":\"RS256\"}", "{}");
    assert_int_equal(verify(ec, t, NULL), JWS_R_ALG);
    free(t);
    t = sign(ec, "{\"alg\":\"ES256\"}", "{}");
    assert_int_equal(verify(rsa, t, NULL), JWS_R_ALG);
    free(t);
    /* a header that lies about the algorithm of a correct signature */
    t = sign(ec, "{\"alg\":\"RS256\"}", "{}");
    assert_int_equal(verify(ec, t, NULL), JWS_R_ALG);
    free(t);
    assert_int_equal(verify(ec, unsigned_token("{\"alg\":\"none\"}", "{}", ""), NULL), JWS_R_ALG);
    assert_int_equal(verify(ec, unsigned_token("{\"alg\":\"HS256\"}", "{}", "AAAA"), NULL),
                     JWS_R_ALG);
    assert_int_equal(verify(ec, unsigned_token("{\"typ\":\"JWT\"}", "{}", "AAAA"), NULL),
                     JWS_R_ALG);
    /* keys no algorithm fits */
    EVP_PKEY *small = EVP_RSA_gen(1024), *p384 = EVP_EC_gen("P-384");
    assert_int_equal(jws_key_alg(small), JWS_ALG_NONE);
    assert_int_equal(jws_key_alg(p384), JWS_ALG_NONE);
    EVP_PKEY_free(small);
    EVP_PKEY_free(p384);
}

static void test_header_rules(void **state)
{
    (void)state;
    static const char *const typ[] = {"at+jwt", NULL};
    char *t = sign(ec, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", "{}");
    struct jws_rules r = {.typ = typ, .lookup = lookup, .lookup_ctx = ec};
    json_t *p = NULL;
    assert_int_equal(jws_verify(t, strlen(t), &r, NULL, &p), JWS_R_TYP);
    r.typ = NULL;
    r.kid_required = true;
    assert_int_equal(jws_verify(t, strlen(t), &r, NULL, &p), JWS_R_KID);
    free(t);
    t = sign(ec, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", "{}");
    char kid[JWS_KID_MAX + 1];
    r.lookup = lookup_kid1;
    assert_int_equal(jws_verify(t, strlen(t), &r, kid, &p), JWS_R_OK);
    assert_string_equal(kid, "k1");
    json_decref(p);
    free(t);
    t = sign(ec, "{\"alg\":\"ES256\",\"kid\":\"k2\"}", "{}");
    assert_int_equal(jws_verify(t, strlen(t), &r, kid, &p), JWS_R_KID);
    assert_string_equal(kid, "");
    free(t);
    t = sign(ec, "{\"alg\":\"ES256\",\"crit\":[\"exp\"]}", "{}");
    assert_int_equal(verify(ec, t, NULL), JWS_R_CRIT);
    free(t);
    t = sign(ec, "{\"alg\":\"ES256\",\"alg\":\"ES256\"}", "{}");
    assert_int_equal(verify(ec, t, NULL), JWS_R_JSON_DUPLICATE);
    free(t);
    /* a payload with a duplicate member is refused after the signature */
    t = sign(ec, "{\"alg\":\"ES256\"}", "{\"sub\":\"a\",\"sub\":\"b\"}");
    assert_int_equal(verify(ec, t, NULL), JWS_R_JSON_DUPLICATE);
    free(t);
    t = sign(ec, "{\"alg\":\"ES256\"}", "[1]");
    assert_int_equal(verify(ec, t, NULL), JWS_R_JSON);
    free(t);
}

static void test_shapes(void **state)
{
    (void)state;
    assert_int_equal(verify(ec, "abc", NULL), JWS_R_MALFORMED);
    assert_int_equal(verify(ec, "a.b", NULL), JWS_R_MALFORMED);
    assert_int_equal(verify(ec, "a.b.c.d", NULL), JWS_R_MALFORMED);
    assert_int_equal(verify(ec, ".b.c", NULL), JWS_R_MALFORMED);
    assert_int_equal(verify(ec, "a$.b.c", NULL), JWS_R_BASE64);
    char *big = malloc(JWS_MAX_TOKEN + 2);
    memset(big, 'A', JWS_MAX_TOKEN + 1);
    big[JWS_MAX_TOKEN + 1] = '\0';
    assert_int_equal(verify(ec, big, NULL), JWS_R_TOO_LARGE);
    free(big);
    /* a DER ECDSA signature instead of r||s */
    char *t = sign(ec, "{\"alg\":\"ES256\"}", "{}");
    char *sig = strrchr(t, '.') + 1;
    char buf[1024];
    snprintf(buf, sizeof(buf), "%.*sAAAA", (int)(sig - t) + (int)strlen(sig), t);
    assert_int_equal(verify(ec, buf, NULL), JWS_R_SIG_FORMAT);
    free(t);
    /* r||s <-> DER round trip */
    uint8_t rs[64], der[JWS_DER_MAX], back[64];
    size_t n;
    memset(rs, 0x11, sizeof(rs));
    assert_int_equal(jws_sig_to_der(rs, der, &n), 0);
    assert_int_equal(jws_sig_from_der(der, n, back), 0);
    assert_memory_equal(rs, back, 64);
    assert_int_not_equal(jws_sig_from_der(der, n - 1, back), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_key_decides_algorithm),
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test(test_shapes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
