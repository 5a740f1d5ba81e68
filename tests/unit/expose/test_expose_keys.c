/* Keys and keysets: rotation, removal, JWKS export and import, private scalar round trip,
 * RFC 7638 thumbprint kids, and refusal of keys that are not P-256 signing keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "expose/expose_int.h"
#include "expose_test.h"

static char *sign_now(struct jwt_keyset *ks)
{
    struct jwt_claims c = t_claims();
    char *t = NULL;
    assert_int_equal(jwt_sign(ks, &c, &t), IOTSEC_OK);
    return t;
}

static void test_rotation(void **state)
{
    (void)state;
    struct jwt_keyset *ks;
    struct jwt_key *k1, *k2;
    assert_int_equal(jwt_keyset_new(&ks), IOTSEC_OK);
    assert_int_equal(jwt_key_generate("k1", &k1), IOTSEC_OK);
    assert_int_equal(jwt_keyset_rotate(ks, k1), IOTSEC_OK);
    char *old = sign_now(ks);
    assert_int_equal(t_verify(ks, old), JWT_R_OK);

    assert_int_equal(jwt_key_generate("k2", &k2), IOTSEC_OK);
    assert_int_equal(jwt_keyset_rotate(ks, k2), IOTSEC_OK);
    char *fresh = sign_now(ks);
    struct jwt_verified v;
    uint8_t th[JWT_X5T_LEN];
    t_thumb(th);
    struct jwt_expect ex = t_expect(th);
    assert_int_equal(jwt_verify(ks, fresh, strlen(fresh), &ex, &v, NULL), IOTSEC_OK);
    assert_string_equal(v.kid, "k2");              /* new tokens are signed with the new key */
    assert_int_equal(t_verify(ks, old), JWT_R_OK); /* old ones still verify */

    assert_int_equal(jwt_keyset_remove(ks, "k2"), IOTSEC_ERR_STATE); /* the signing key */
    assert_int_equal(jwt_keyset_remove(ks, "k1"), IOTSEC_OK);
    assert_int_equal(jwt_keyset_remove(ks, "k1"), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(t_verify(ks, old), JWT_R_KID); /* removed: refused */
    assert_int_equal(t_verify(ks, fresh), JWT_R_OK);
    free(old);
    free(fresh);

    /* A kid can be present once; the set has a limit; public keys cannot sign. */
    struct jwt_key *dup, *pub;
    assert_int_equal(jwt_key_generate("k2", &dup), IOTSEC_OK);
    assert_int_equal(jwt_keyset_add(ks, dup), IOTSEC_ERR_CONFLICT);
    jwt_key_free(dup);
    uint8_t x[32], y[32];
    assert_int_equal(jwt_key_public_xy(k2, x, y), IOTSEC_OK);
    assert_int_equal(jwt_key_from_public("pub", x, y, &pub), IOTSEC_OK);
    assert_false(jwt_key_is_private(pub));
    assert_int_equal(jwt_keyset_rotate(ks, pub), IOTSEC_ERR_INVALID);
    jwt_key_free(pub);
    int added = 1;
    for (int i = 0; i < JWT_KEYSET_MAX + 2; i++) {
        char kid[16];
        struct jwt_key *k;
        snprintf(kid, sizeof(kid), "extra%d", i);
        assert_int_equal(jwt_key_generate(kid, &k), IOTSEC_OK);
        int rc = jwt_keyset_add(ks, k);
        if (rc == IOTSEC_OK) {
            added++;
        } else {
            assert_int_equal(rc, IOTSEC_ERR_BUSY);
            jwt_key_free(k);
        }
    }
    assert_int_equal(added, JWT_KEYSET_MAX);
    jwt_keyset_free(ks);
}

static void test_jwks_round_trip(void **state)
{
    (void)state;
    struct jwt_keyset *ks, *pub;
    struct jwt_key *k1, *k2;
    assert_int_equal(jwt_keyset_new(&ks), IOTSEC_OK);
    assert_int_equal(jwt_key_generate("k1", &k1), IOTSEC_OK);
    assert_int_equal(jwt_key_generate(NULL, &k2), IOTSEC_OK);
    assert_int_equal(jwt_keyset_add(ks, k1), IOTSEC_OK);
    assert_int_equal(jwt_keyset_rotate(ks, k2), IOTSEC_OK);
    char *jwks;
    assert_int_equal(jwt_keyset_jwks(ks, &jwks), IOTSEC_OK);
    assert_null(strstr(jwks, "\"d\"")); /* no private part */

    /* Parsed with jansson: each JWK's members and coordinates reproduce the key. */
    json_t *doc = json_loads(jwks, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(doc, "keys");
    assert_int_equal(json_array_size(keys), 2);
    struct jwt_key *mine[] = {k1, k2};
    for (size_t i = 0; i < 2; i++) {
        json_t *k = json_array_get(keys, i);
        assert_string_equal(json_string_value(json_object_get(k, "kty")), "EC");
        assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
        assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
        assert_string_equal(json_string_value(json_object_get(k, "alg")), "ES256");
        assert_string_equal(json_string_value(json_object_get(k, "kid")), jwt_key_kid(mine[i]));
        assert_int_equal(json_object_size(k), 7);
        uint8_t x[32], y[32];
        assert_int_equal(jwt_key_public_xy(mine[i], x, y), IOTSEC_OK);
        char *xs = t_b64(x, 32), *ys = t_b64(y, 32);
        assert_string_equal(json_string_value(json_object_get(k, "x")), xs);
        assert_string_equal(json_string_value(json_object_get(k, "y")), ys);
        free(xs);
        free(ys);
    }
    json_decref(doc);

    /* A token signed by the server verifies with the keys rebuilt from the JWKS. */
    assert_int_equal(jwt_keyset_from_jwks(jwks, strlen(jwks), &pub), IOTSEC_OK);
    char *t = sign_now(ks);
    assert_int_equal(t_verify(pub, t), JWT_R_OK);
    free(t);
    struct jwt_claims c = t_claims();
    assert_int_equal(jwt_sign(pub, &c, &t), IOTSEC_ERR_STATE); /* nothing there can sign */
    jwt_keyset_free(pub);
    free(jwks);
    jwt_keyset_free(ks);
}

/* RFC 7638: the kid of an unnamed key is SHA-256 over the canonical JWK, here recomputed
 * from the exported coordinates with OpenSSL's digest. */
static void test_thumbprint_kid(void **state)
{
    (void)state;
    struct jwt_key *k;
    assert_int_equal(jwt_key_generate(NULL, &k), IOTSEC_OK);
    uint8_t x[32], y[32], d[32];
    assert_int_equal(jwt_key_public_xy(k, x, y), IOTSEC_OK);
    char *xs = t_b64(x, 32), *ys = t_b64(y, 32), json[200];
    snprintf(json, sizeof(json), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", xs,
             ys);
    unsigned char digest[32];
    unsigned int n;
    EVP_Digest(json, strlen(json), digest, &n, EVP_sha256(), NULL);
    char *want = t_b64(digest, 32);
    assert_string_equal(jwt_key_kid(k), want);

    /* The private scalar round trip keeps the kid (derived from the public key). */
    struct jwt_key *again;
    assert_int_equal(jwt_key_export_private(k, d), IOTSEC_OK);
    assert_int_equal(jwt_key_from_private(NULL, d, &again), IOTSEC_OK);
    assert_string_equal(jwt_key_kid(again), want);
    jwt_key_free(again);
    free(want);
    free(xs);
    free(ys);
    jwt_key_free(k);
}

static void test_private_round_trip(void **state)
{
    (void)state;
    struct jwt_key *k, *back, *pub;
    uint8_t d[32], x[32], y[32], x2[32], y2[32];
    assert_int_equal(jwt_key_generate("k1", &k), IOTSEC_OK);
    assert_int_equal(jwt_key_export_private(k, d), IOTSEC_OK);
    assert_int_equal(jwt_key_from_private("k1", d, &back), IOTSEC_OK);
    assert_int_equal(jwt_key_public_xy(k, x, y), IOTSEC_OK);
    assert_int_equal(jwt_key_public_xy(back, x2, y2), IOTSEC_OK);
    assert_memory_equal(x, x2, 32);
    assert_memory_equal(y, y2, 32);
    /* Signed with the restored key, verified with the original public key only. */
    struct jwt_keyset *signer, *verifier;
    assert_int_equal(jwt_keyset_new(&signer), IOTSEC_OK);
    assert_int_equal(jwt_keyset_rotate(signer, back), IOTSEC_OK);
    assert_int_equal(jwt_keyset_new(&verifier), IOTSEC_OK);
    assert_int_equal(jwt_key_from_public("k1", x, y, &pub), IOTSEC_OK);
    assert_int_equal(jwt_keyset_add(verifier, pub), IOTSEC_OK);
    char *t = sign_now(signer);
    assert_int_equal(t_verify(verifier, t), JWT_R_OK);
    free(t);
    assert_int_equal(jwt_key_export_private(pub, d), IOTSEC_ERR_STATE);

    /* 0 and the group order are not private keys. */
    static const uint8_t order[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
                                      0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
    static const uint8_t zero[32];
    struct jwt_key *bad = NULL;
    assert_int_equal(jwt_key_from_private("z", zero, &bad), IOTSEC_ERR_INVALID);
    assert_int_equal(jwt_key_from_private("n", order, &bad), IOTSEC_ERR_INVALID);
    uint8_t below[32];
    memcpy(below, order, 32);
    below[31]--; /* n - 1 is the largest valid scalar */
    assert_int_equal(jwt_key_from_private("n1", below, &bad), IOTSEC_OK);
    jwt_key_free(bad);
    assert_int_equal(jwt_key_generate("bad kid", &bad), IOTSEC_ERR_INVALID);
    jwt_keyset_free(signer);
    jwt_keyset_free(verifier);
    jwt_key_free(k);
}

static void expect_jwks_refused(const char *jwk_members)
{
    char doc[1024];
    snprintf(doc, sizeof(doc), "{\"keys\":[{%s}]}", jwk_members);
    struct jwt_keyset *ks = NULL;
    if (jwt_keyset_from_jwks(doc, strlen(doc), &ks) != IOTSEC_ERR_INVALID)
        fail_msg("accepted: %s", jwk_members);
    assert_null(ks);
}

static void test_jwks_refusals(void **state)
{
    (void)state;
    struct jwt_key *k;
    uint8_t x[32], y[32];
    assert_int_equal(jwt_key_generate("k1", &k), IOTSEC_OK);
    assert_int_equal(jwt_key_public_xy(k, x, y), IOTSEC_OK);
    char *xs = t_b64(x, 32), *ys = t_b64(y, 32), m[600];
    y[31] ^= 1; /* (x, y') is not on the curve */
    char *bad_y = t_b64(y, 32);
#define JWK(fmt, ...) (snprintf(m, sizeof(m), fmt, __VA_ARGS__), m)
    const char *base = "\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\"";
    /* The good one first, so that the refusals below are about their one change. */
    char doc[1024];
    snprintf(doc, sizeof(doc), "{\"keys\":[{%s,\"x\":\"%s\",\"y\":\"%s\"}]}", base, xs, ys);
    struct jwt_keyset *ks;
    assert_int_equal(jwt_keyset_from_jwks(doc, strlen(doc), &ks), IOTSEC_OK);
    jwt_keyset_free(ks);
    expect_jwks_refused(JWK("%s,\"x\":\"%s\",\"y\":\"%s\"", base, xs, bad_y));
    expect_jwks_refused(JWK("%s,\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"", base, xs, ys, xs));
    expect_jwks_refused(JWK("%s,\"x\":\"%s\",\"y\":\"%s\",\"alg\":\"HS256\"", base, xs, ys));
    expect_jwks_refused(JWK("%s,\"x\":\"%s\",\"y\":\"%s\",\"use\":\"enc\"", base, xs, ys));
    expect_jwks_refused(
        JWK("\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"k1\",\"x\":\"%s\",\"y\":\"%s\"", xs, ys));
    expect_jwks_refused(JWK("\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"k1\"", xs));
    expect_jwks_refused(JWK("\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"", xs, ys));
    expect_jwks_refused(JWK("%s,\"x\":\"%s=\",\"y\":\"%s\"", base, xs, ys));
    expect_jwks_refused(JWK("%s,\"x\":\"%.42s\",\"y\":\"%s\"", base, xs, ys));
    expect_jwks_refused(JWK("%s,\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"k2\"", base, xs, ys));
    /* The same kid twice. */
    snprintf(doc, sizeof(doc),
             "{\"keys\":[{%s,\"x\":\"%s\",\"y\":\"%s\"},{%s,\"x\":\"%s\",\"y\":\"%s\"}]}", base, xs,
             ys, base, xs, ys);
    ks = NULL;
    assert_int_equal(jwt_keyset_from_jwks(doc, strlen(doc), &ks), IOTSEC_ERR_CONFLICT);
    assert_int_equal(jwt_keyset_from_jwks("{\"keys\":{}}", 11, &ks), IOTSEC_ERR_INVALID);
    assert_int_equal(jwt_keyset_from_jwks("not json", 8, &ks), IOTSEC_ERR_INVALID);
#undef JWK
    free(xs);
    free(ys);
    free(bad_y);
    jwt_key_free(k);
}

static void test_base64url_codec(void **state)
{
    (void)state;
    /* RFC 4648 §10 vectors, unpadded, and their strict decoding. */
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        uint8_t back[16];
        size_t n;
        b64url_encode((const uint8_t *)plain[i], strlen(plain[i]), out);
        assert_string_equal(out, enc[i]);
        assert_int_equal(b64url_decode(enc[i], strlen(enc[i]), back, sizeof(back), &n), IOTSEC_OK);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(back, plain[i], n);
    }
    uint8_t all[256], back[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)(255 - i);
    char out[B64URL_LEN(256) + 1];
    size_t n;
    b64url_encode(all, sizeof(all), out);
    assert_non_null(strchr(out, '-'));
    assert_non_null(strchr(out, '_'));
    assert_int_equal(b64url_decode(out, strlen(out), back, sizeof(back), &n), IOTSEC_OK);
    assert_memory_equal(back, all, 256);
    assert_int_equal(b64url_decode(out, strlen(out), back, 255, &n), IOTSEC_ERR_INVALID);
    static const char *bad[] = {"Z", "Zg==", "Zh", "Zm9=", "Zm+v", "Zm/v", "Zm9v\n", "Zm 9v"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (b64url_decode(bad[i], strlen(bad[i]), back, sizeof(back), &n) != IOTSEC_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotation),       cmocka_unit_test(test_jwks_round_trip),
        cmocka_unit_test(test_thumbprint_kid), cmocka_unit_test(test_private_round_trip),
        cmocka_unit_test(test_jwks_refusals),  cmocka_unit_test(test_base64url_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
