/* ES256 access tokens: the round trip, an independent signature check, and one crafted token
 * per refusal (each validly signed where that matters, so only the rule under test fails). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/err.h"
#include "expose/expose_int.h"
#include "expose_test.h"

#define GOOD_HEADER "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}"

static struct jwt_keyset *ks;
static struct jwt_key *k1; /* owned by ks */

static int setup(void **state)
{
    (void)state;
    if (jwt_keyset_new(&ks) != IOTSEC_OK || jwt_key_generate("k1", &k1) != IOTSEC_OK ||
        jwt_keyset_rotate(ks, k1) != IOTSEC_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    jwt_keyset_free(ks);
    return 0;
}

static EVP_PKEY *pk(void)
{
    return jwt_key_pkey(k1);
}

/* Signs the fixture claims after one change, with the given header. */
static char *signed_with(const char *header, json_t *claims)
{
    char *t = t_sign_json(pk(), header, claims);
    json_decref(claims);
    return t;
}

static void expect_reason(char *token, enum jwt_reason want)
{
    enum jwt_reason got = t_verify(ks, token);
    if (got != want)
        fail_msg("reason %d (%s), expected %d (%s)", got, jwt_reason_str(got), want,
                 jwt_reason_str(want));
    free(token);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct jwt_claims c = t_claims();
    char *token;
    assert_int_equal(jwt_sign(ks, &c, &token), IOTSEC_OK);
    uint8_t th[JWT_X5T_LEN];
    t_thumb(th);
    struct jwt_expect ex = t_expect(th);
    struct jwt_verified v;
    enum jwt_reason r;
    assert_int_equal(jwt_verify(ks, token, strlen(token), &ex, &v, &r), IOTSEC_OK);
    assert_int_equal(r, JWT_R_OK);
    assert_string_equal(v.kid, "k1");
    assert_string_equal(v.sub, T_AF);
    assert_string_equal(v.client_id, T_AF);
    assert_string_equal(v.scope, "monitoring-event");
    assert_int_equal(strlen(v.jti), 22); /* 128 random bits */
    assert_int_equal(v.exp, T_NOW + 3600);
    assert_int_equal(v.iat, T_NOW - 10);
    assert_int_equal(v.nbf, 0);

    /* The header is exactly what RFC 9068 asks for. */
    char *dot = strchr(token, '.');
    uint8_t hdr[128];
    size_t n;
    assert_int_equal(b64url_decode(token, (size_t)(dot - token), hdr, sizeof(hdr), &n), IOTSEC_OK);
    assert_int_equal(n, strlen(GOOD_HEADER));
    assert_memory_equal(hdr, GOOD_HEADER, n);

    /* Two tokens for the same claims differ (jti and ECDSA nonce). */
    char *again;
    assert_int_equal(jwt_sign(ks, &c, &again), IOTSEC_OK);
    assert_string_not_equal(token, again);
    free(again);

    /* nbf and a given jti are carried. */
    c.nbf = T_NOW - 5;
    c.jti = "fixed-jti";
    assert_int_equal(jwt_sign(ks, &c, &again), IOTSEC_OK);
    assert_int_equal(jwt_verify(ks, again, strlen(again), &ex, &v, &r), IOTSEC_OK);
    assert_int_equal(v.nbf, T_NOW - 5);
    assert_string_equal(v.jti, "fixed-jti");
    free(again);
    free(token);
}

/* Checks a token with OpenSSL alone: EVP_DigestVerify over the signing input, the JOSE r||s
 * converted to DER here with ECDSA_SIG, the public key through a SubjectPublicKeyInfo. */
static int independent_verify(const char *token, int flip_bit)
{
    /* The signature via OpenSSL's standard base64 decoder. */
    const char *last = strrchr(token, '.');
    char b64[89];
    uint8_t raw[66];
    assert_int_equal(strlen(last + 1), 86);
    for (size_t i = 0; i < 86; i++)
        b64[i] = last[1 + i] == '-' ? '+' : last[1 + i] == '_' ? '/' : last[1 + i];
    memcpy(b64 + 86, "==", 3);
    assert_int_equal(EVP_DecodeBlock(raw, (const unsigned char *)b64, 88), 66);
    if (flip_bit >= 0)
        raw[flip_bit / 8] ^= (uint8_t)(1u << (flip_bit % 8));
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);

    unsigned char *spki = NULL;
    int spki_len = i2d_PUBKEY(pk(), &spki);
    const unsigned char *p = spki;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, spki_len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
             EVP_DigestVerify(md, der, (size_t)der_len, (const unsigned char *)token,
                              (size_t)(last - token)) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
    OPENSSL_free(spki);
    OPENSSL_free(der);
    return ok;
}

static void test_independent_signature_check(void **state)
{
    (void)state;
    struct jwt_claims c = t_claims();
    char *token;
    assert_int_equal(jwt_sign(ks, &c, &token), IOTSEC_OK);
    assert_true(independent_verify(token, -1));
    assert_false(independent_verify(token, 5)); /* the check itself can fail */
    assert_false(independent_verify(token, 300));
    free(token);
    /* And the other way: the independent signer's tokens verify here. */
    expect_reason(signed_with(GOOD_HEADER, t_claims_json()), JWT_R_OK);
}

static void test_alg_none(void **state)
{
    (void)state;
    const char *none = "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}";
    json_t *c = t_claims_json();
    char *payload = json_dumps(c, JSON_COMPACT);
    char *h = t_b64(none, strlen(none)), *p = t_b64(payload, strlen(payload));
    char *token = malloc(strlen(h) + strlen(p) + 3);
    sprintf(token, "%s.%s.", h, p); /* "header.payload." with an empty signature */
    expect_reason(token, JWT_R_ALG);
    /* Validly signed does not help; nor do case variants or leaving alg out. */
    expect_reason(signed_with(none, json_incref(c)), JWT_R_ALG);
    expect_reason(
        signed_with("{\"alg\":\"es256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", json_incref(c)),
        JWT_R_ALG);
    expect_reason(signed_with("{\"typ\":\"at+jwt\",\"kid\":\"k1\"}", json_incref(c)), JWT_R_ALG);
    json_decref(c);
    free(payload);
    free(h);
    free(p);
}

/* The classic confusion: an HS256 token whose HMAC key is the server's public key, in the
 * forms a confused library would use (PEM text, the raw point). */
static void test_hs256_with_public_key(void **state)
{
    (void)state;
    const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}";
    json_t *c = t_claims_json();
    char *payload = json_dumps(c, JSON_COMPACT);
    char *h = t_b64(hdr, strlen(hdr)), *p = t_b64(payload, strlen(payload));
    char input[2048];
    snprintf(input, sizeof(input), "%s.%s", h, p);

    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pk());
    char *pem;
    long pem_len = BIO_get_mem_data(bio, &pem);
    uint8_t point[65], x[32], y[32];
    assert_int_equal(jwt_key_public_xy(k1, x, y), IOTSEC_OK);
    point[0] = 4;
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    const void *secrets[] = {pem, point};
    size_t lens[] = {(size_t)pem_len, sizeof(point)};
    for (int i = 0; i < 2; i++) {
        uint8_t mac[32];
        unsigned int ml = 0;
        HMAC(EVP_sha256(), secrets[i], (int)lens[i], (const unsigned char *)input, strlen(input),
             mac, &ml);
        char *m = t_b64(mac, ml), *token = malloc(strlen(input) + strlen(m) + 2);
        sprintf(token, "%s.%s", input, m);
        free(m);
        expect_reason(token, JWT_R_ALG);
    }
    BIO_free(bio);
    free(h);
    free(p);
    free(payload);
    json_decref(c);
}

static void test_rs256_header(void **state)
{
    (void)state;
    /* An RS256 header with a 256-byte "signature". */
    json_t *c = t_claims_json();
    char *payload = json_dumps(c, JSON_COMPACT);
    const char *hdr = "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}";
    char *h = t_b64(hdr, strlen(hdr)), *p = t_b64(payload, strlen(payload));
    uint8_t sig[256];
    memset(sig, 0x5a, sizeof(sig));
    char *s = t_b64(sig, sizeof(sig));
    char *token = malloc(strlen(h) + strlen(p) + strlen(s) + 3);
    sprintf(token, "%s.%s.%s", h, p, s);
    expect_reason(token, JWT_R_ALG);
    /* Even validly ES256-signed, a header that says RS256 is refused. */
    expect_reason(signed_with(hdr, json_incref(c)), JWT_R_ALG);
    free(h);
    free(p);
    free(s);
    free(payload);
    json_decref(c);
}

static void test_kid(void **state)
{
    (void)state;
    expect_reason(
        signed_with("{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"k9\"}", t_claims_json()),
        JWT_R_KID);
    expect_reason(signed_with("{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}", t_claims_json()),
                  JWT_R_KID);
    expect_reason(
        signed_with("{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"../k1\"}", t_claims_json()),
        JWT_R_KID);
    expect_reason(signed_with("{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":1}", t_claims_json()),
                  JWT_R_KID);
    /* A key of another keyset under a known kid: the signature fails. */
    struct jwt_key *other;
    assert_int_equal(jwt_key_generate("k1", &other), IOTSEC_OK);
    json_t *c = t_claims_json();
    expect_reason(t_sign_json(jwt_key_pkey(other), GOOD_HEADER, c), JWT_R_SIGNATURE);
    json_decref(c);
    jwt_key_free(other);
}

static void test_typ_and_crit(void **state)
{
    (void)state;
    expect_reason(
        signed_with("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", t_claims_json()),
        JWT_R_TYP);
    expect_reason(signed_with("{\"alg\":\"ES256\",\"kid\":\"k1\"}", t_claims_json()), JWT_R_TYP);
    expect_reason(signed_with("{\"alg\":\"ES256\",\"typ\":\"application/at+jwt\",\"kid\":\"k1\"}",
                              t_claims_json()),
                  JWT_R_OK);
    expect_reason(
        signed_with("{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"crit\":[\"b64\"],"
                    "\"b64\":false}",
                    t_claims_json()),
        JWT_R_CRIT);
}

static json_t *with_int(const char *name, int64_t v)
{
    json_t *c = t_claims_json();
    json_object_set_new(c, name, json_integer(v));
    return c;
}

static json_t *with_str(const char *name, const char *v)
{
    json_t *c = t_claims_json();
    json_object_set_new(c, name, json_string(v));
    return c;
}

static void test_time(void **state)
{
    (void)state; /* leeway 30 s in the fixture */
    expect_reason(signed_with(GOOD_HEADER, with_int("exp", T_NOW - 31)), JWT_R_EXPIRED);
    expect_reason(signed_with(GOOD_HEADER, with_int("exp", T_NOW - 30)), JWT_R_EXPIRED);
    expect_reason(signed_with(GOOD_HEADER, with_int("exp", T_NOW - 29)), JWT_R_OK);
    expect_reason(signed_with(GOOD_HEADER, with_int("nbf", T_NOW + 120)), JWT_R_NOT_YET_VALID);
    expect_reason(signed_with(GOOD_HEADER, with_int("nbf", T_NOW + 31)), JWT_R_NOT_YET_VALID);
    expect_reason(signed_with(GOOD_HEADER, with_int("nbf", T_NOW + 30)), JWT_R_OK);
    expect_reason(signed_with(GOOD_HEADER, with_int("iat", T_NOW + 600)), JWT_R_NOT_YET_VALID);

    /* Without leeway, exp == now is expired. */
    uint8_t th[JWT_X5T_LEN];
    t_thumb(th);
    struct jwt_expect ex = t_expect(th);
    ex.leeway = 0;
    struct jwt_verified v;
    enum jwt_reason r;
    char *t = signed_with(GOOD_HEADER, with_int("exp", T_NOW));
    assert_int_equal(jwt_verify(ks, t, strlen(t), &ex, &v, &r), IOTSEC_ERR_AUTH);
    assert_int_equal(r, JWT_R_EXPIRED);
    assert_int_equal(v.sub[0], '\0'); /* nothing of a refused token is handed out */
    /* A lifetime cap. */
    ex.leeway = 30;
    ex.max_lifetime = 600;
    free(t);
    t = signed_with(GOOD_HEADER, t_claims_json());
    assert_int_equal(jwt_verify(ks, t, strlen(t), &ex, &v, &r), IOTSEC_ERR_AUTH);
    assert_int_equal(r, JWT_R_LIFETIME);
    free(t);
    /* Leeway beyond the maximum is a configuration error. */
    ex.leeway = JWT_LEEWAY_MAX + 1;
    t = signed_with(GOOD_HEADER, t_claims_json());
    assert_int_equal(jwt_verify(ks, t, strlen(t), &ex, &v, &r), IOTSEC_ERR_INVALID);
    assert_int_equal(r, JWT_R_PARAMS);
    free(t);
}

static void test_issuer_and_audience(void **state)
{
    (void)state;
    expect_reason(signed_with(GOOD_HEADER, with_str("iss", "https://evil.example")), JWT_R_ISSUER);
    expect_reason(signed_with(GOOD_HEADER, with_str("aud", "3gpp-as-session-with-qos")),
                  JWT_R_AUDIENCE);
    json_t *c = t_claims_json();
    json_object_set_new(c, "aud", json_pack("[s,s]", "other-api", T_AUD));
    expect_reason(signed_with(GOOD_HEADER, c), JWT_R_OK);
    c = t_claims_json();
    json_object_set_new(c, "aud", json_pack("[s]", "other-api"));
    expect_reason(signed_with(GOOD_HEADER, c), JWT_R_AUDIENCE);
    c = t_claims_json();
    json_object_set_new(c, "aud", json_pack("[s,i]", T_AUD, 7));
    expect_reason(signed_with(GOOD_HEADER, c), JWT_R_CLAIM_INVALID);
}

static void test_binding(void **state)
{
    (void)state;
    /* The token is bound to t_cert; this connection presents another certificate. */
    char *t = signed_with(GOOD_HEADER, t_claims_json());
    uint8_t other[JWT_X5T_LEN];
    jwt_cert_thumbprint(t_other_cert, t_other_cert_len, other);
    struct jwt_expect ex = t_expect(other);
    struct jwt_verified v;
    enum jwt_reason r;
    assert_int_equal(jwt_verify(ks, t, strlen(t), &ex, &v, &r), IOTSEC_ERR_AUTH);
    assert_int_equal(r, JWT_R_BINDING);
    /* A thumbprint differing in its last bit only. */
    t_thumb(other);
    other[31] ^= 1;
    assert_int_equal(jwt_verify(ks, t, strlen(t), &ex, &v, &r), IOTSEC_ERR_AUTH);
    assert_int_equal(r, JWT_R_BINDING);
    free(t);
    /* jwt_cert_thumbprint is SHA-256 of the DER. */
    uint8_t a[JWT_X5T_LEN], b[JWT_X5T_LEN];
    jwt_cert_thumbprint(t_cert, t_cert_len, a);
    t_thumb(b);
    assert_memory_equal(a, b, JWT_X5T_LEN);
    /* Missing or malformed confirmation. */
    json_t *c = t_claims_json();
    json_object_del(c, "cnf");
    expect_reason(signed_with(GOOD_HEADER, c), JWT_R_CLAIM_MISSING);
    c = t_claims_json();
    json_object_set_new(c, "cnf", json_pack("{s:s}", "x5t#S256", "AAAA"));
    expect_reason(signed_with(GOOD_HEADER, c), JWT_R_CLAIM_INVALID);
}

static void test_flipped_signature_bits(void **state)
{
    (void)state;
    char *t = signed_with(GOOD_HEADER, t_claims_json());
    char *sig = strrchr(t, '.') + 1;
    uint8_t rs[64];
    size_t n;
    assert_int_equal(b64url_decode(sig, strlen(sig), rs, sizeof(rs), &n), IOTSEC_OK);
    for (int bit = 0; bit < 512; bit += 7) {
        rs[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        char *s = t_b64(rs, sizeof(rs));
        char *bad = strdup(t);
        strcpy(strrchr(bad, '.') + 1, s);
        expect_reason(bad, JWT_R_SIGNATURE);
        free(s);
        rs[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* A changed claim under the old signature. */
    char *bad = strdup(t);
    char *p = strchr(bad, '.') + 5;
    *p = *p == 'A' ? 'B' : 'A';
    enum jwt_reason r = t_verify(ks, bad);
    assert_true(r == JWT_R_SIGNATURE);
    free(bad);
    free(t);
}

static void test_der_signature(void **state)
{
    (void)state;
    char *t = signed_with(GOOD_HEADER, t_claims_json());
    char *sig = strrchr(t, '.') + 1;
    uint8_t rs[64];
    size_t n;
    assert_int_equal(b64url_decode(sig, strlen(sig), rs, sizeof(rs), &n), IOTSEC_OK);
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL));
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    char *s = t_b64(der, (size_t)der_len);
    char *bad = malloc(strlen(t) + strlen(s) + 1);
    memcpy(bad, t, (size_t)(sig - t));
    strcpy(bad + (sig - t), s);
    expect_reason(bad, JWT_R_SIG_FORMAT);
    /* A truncated r||s too. */
    char *s63 = t_b64(rs, 63);
    bad = malloc(strlen(t) + 1);
    memcpy(bad, t, (size_t)(sig - t));
    strcpy(bad + (sig - t), s63);
    expect_reason(bad, JWT_R_SIG_FORMAT);
    free(s63);
    free(s);
    OPENSSL_free(der);
    free(t);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    json_t *c = t_claims_json();
    char *payload = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    /* {"sub":"af-0002", ...the rest, with "sub":"af-0001"}: which one wins depends on the
     * parser, so neither may. */
    char dup[2048];
    snprintf(dup, sizeof(dup), "{\"sub\":\"af-0002\",%s", payload + 1);
    expect_reason(t_sign_texts(pk(), GOOD_HEADER, dup), JWT_R_JSON_DUPLICATE);
    snprintf(dup, sizeof(dup), "{\"cnf\":{\"x5t#S256\":\"a\",\"x5t#S256\":\"b\"},%s", payload + 1);
    expect_reason(t_sign_texts(pk(), GOOD_HEADER, dup), JWT_R_JSON_DUPLICATE);
    expect_reason(
        t_sign_texts(pk(), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"alg\":\"none\"}",
                     payload),
        JWT_R_JSON_DUPLICATE);
    /* Other non-strict JSON: trailing data, a non-object, a NUL escape. */
    snprintf(dup, sizeof(dup), "%s {}", payload);
    expect_reason(t_sign_texts(pk(), GOOD_HEADER, dup), JWT_R_JSON);
    expect_reason(t_sign_texts(pk(), GOOD_HEADER, "[1]"), JWT_R_JSON);
    snprintf(dup, sizeof(dup), "{\"x\":\"a\\u0000b\",%s", payload + 1);
    expect_reason(t_sign_texts(pk(), GOOD_HEADER, dup), JWT_R_JSON);
    free(payload);
}

/* base64url of text, with a filler member added until its length is not a multiple of 3,
 * so that a padded encoding exists. */
static char *b64_needing_padding(const char *json_obj)
{
    static const char *fill[] = {"", ",\"x\":1", ",\"x\":12"};
    size_t n = strlen(json_obj);
    for (int i = 0; i < 3; i++) {
        if ((n + strlen(fill[i])) % 3 == 0)
            continue;
        char buf[4096];
        snprintf(buf, sizeof(buf), "%.*s%s}", (int)(n - 1), json_obj, fill[i]);
        return t_b64(buf, strlen(buf));
    }
    return NULL;
}

static void test_base64url_strict(void **state)
{
    (void)state;
    json_t *c = t_claims_json();
    char *payload = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    char *h = b64_needing_padding(GOOD_HEADER), *p = b64_needing_padding(payload);
    assert_int_not_equal(strlen(h) % 4, 0);
    assert_int_not_equal(strlen(p) % 4, 0);
    const char *hpad = strlen(h) % 4 == 2 ? "==" : "=", *ppad = strlen(p) % 4 == 2 ? "==" : "=";
    char input[4096];
    snprintf(input, sizeof(input), "%s.%s", h, p);
    expect_reason(t_sign_input(pk(), input), JWT_R_OK); /* unpadded: fine */
    snprintf(input, sizeof(input), "%s%s.%s", h, hpad, p);
    expect_reason(t_sign_input(pk(), input), JWT_R_BASE64);
    snprintf(input, sizeof(input), "%s.%s%s", h, p, ppad); /* validly signed over the padding */
    expect_reason(t_sign_input(pk(), input), JWT_R_BASE64);

    /* The standard alphabet ('+', '/') and whitespace. */
    snprintf(input, sizeof(input), "%s.%s", h, p);
    char *q = strchr(input, '.') + 3;
    const char bad_chars[] = {'+', '/', ' ', '\n', '='};
    for (size_t i = 0; i < sizeof(bad_chars); i++) {
        char keep = *q;
        *q = bad_chars[i];
        expect_reason(t_sign_input(pk(), input), JWT_R_BASE64);
        *q = keep;
    }
    /* Non-zero unused bits in the last character: a second spelling of the same bytes. */
    char *last = strchr(input, '.') + strlen(p);
    *last = *last == 'z' ? 'y' : (char)(*last + 1);
    expect_reason(t_sign_input(pk(), input), JWT_R_BASE64);
    free(payload);
    free(p);
    free(h);
}

static void test_size_and_shape(void **state)
{
    (void)state;
    /* 9 KiB, validly signed. */
    json_t *c = t_claims_json();
    char *big = malloc(9 * 1024);
    memset(big, 'a', 9 * 1024 - 1);
    big[9 * 1024 - 1] = '\0';
    json_object_set_new(c, "x", json_string(big));
    char *t = signed_with(GOOD_HEADER, c);
    assert_true(strlen(t) > 9 * 1024);
    expect_reason(t, JWT_R_TOO_LARGE);
    /* Just under the limit is fine. */
    c = t_claims_json();
    big[5500] = '\0';
    json_object_set_new(c, "x", json_string(big));
    t = signed_with(GOOD_HEADER, c);
    assert_true(strlen(t) <= JWT_MAX_TOKEN && strlen(t) > JWT_MAX_TOKEN - 600);
    expect_reason(t, JWT_R_OK);
    free(big);
    const char *shapes[] = {"", ".", "..", "a.b", "a.b.c.d", ".b.c", "a..c"};
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        expect_reason(strdup(shapes[i]), JWT_R_MALFORMED);
    /* Length is what the caller says: a NUL inside counts as data, not as an end. */
    t = signed_with(GOOD_HEADER, t_claims_json());
    uint8_t th[JWT_X5T_LEN];
    t_thumb(th);
    struct jwt_expect ex = t_expect(th);
    struct jwt_verified v;
    enum jwt_reason r;
    assert_int_not_equal(jwt_verify(ks, t, strlen(t) + 1, &ex, &v, &r), IOTSEC_OK);
    assert_int_equal(jwt_verify(ks, t, strlen(t), &ex, &v, &r), IOTSEC_OK);
    assert_int_equal(jwt_verify(ks, t, strlen(t), NULL, &v, &r), IOTSEC_ERR_INVALID);
    assert_int_equal(r, JWT_R_PARAMS);
    free(t);
}

static void test_claims_required_and_typed(void **state)
{
    (void)state;
    const char *required[] = {"iss", "sub",       "aud",   "exp", "iat",
                              "jti", "client_id", "scope", "cnf"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        json_t *c = t_claims_json();
        json_object_del(c, required[i]);
        expect_reason(signed_with(GOOD_HEADER, c), JWT_R_CLAIM_MISSING);
    }
    expect_reason(signed_with(GOOD_HEADER, with_str("exp", "1750003600")), JWT_R_CLAIM_INVALID);
    json_t *c = t_claims_json();
    json_object_set_new(c, "exp", json_real((double)(T_NOW + 3600)));
    expect_reason(signed_with(GOOD_HEADER, c), JWT_R_CLAIM_INVALID);
    c = t_claims_json();
    json_object_set_new(c, "sub", json_integer(1));
    expect_reason(signed_with(GOOD_HEADER, c), JWT_R_CLAIM_INVALID);
    char long_sub[JWT_STR_MAX + 2];
    memset(long_sub, 's', sizeof(long_sub) - 1);
    long_sub[sizeof(long_sub) - 1] = '\0';
    expect_reason(signed_with(GOOD_HEADER, with_str("sub", long_sub)), JWT_R_CLAIM_INVALID);
    expect_reason(signed_with(GOOD_HEADER, with_str("sub", "")), JWT_R_CLAIM_INVALID);
}

/* Client credentials: the subject is the client (RFC 9068 §2.2); a signed token that names
 * one AF as sub and another as client_id is refused. */
static void test_sub_must_be_client_id(void **state)
{
    (void)state;
    expect_reason(signed_with(GOOD_HEADER, with_str("client_id", "af-other")), JWT_R_SUBJECT);
    expect_reason(signed_with(GOOD_HEADER, with_str("sub", "af-other")), JWT_R_SUBJECT);
    assert_string_not_equal(jwt_reason_str(JWT_R_SUBJECT), "unknown reason");
}

/* token_gen: written when non-zero, read back, 0 when absent; a non-integer or negative one
 * is refused. */
static void test_token_gen_claim(void **state)
{
    (void)state;
    struct jwt_claims c = t_claims();
    c.token_gen = 7;
    char *t = NULL;
    assert_int_equal(jwt_sign(ks, &c, &t), IOTSEC_OK);
    uint8_t th[JWT_X5T_LEN];
    t_thumb(th);
    struct jwt_expect ex = t_expect(th);
    struct jwt_verified v;
    enum jwt_reason r;
    assert_int_equal(jwt_verify(ks, t, strlen(t), &ex, &v, &r), IOTSEC_OK);
    assert_int_equal(v.token_gen, 7);
    free(t);
    c = t_claims();
    assert_int_equal(jwt_sign(ks, &c, &t), IOTSEC_OK);
    assert_int_equal(jwt_verify(ks, t, strlen(t), &ex, &v, &r), IOTSEC_OK);
    assert_int_equal(v.token_gen, 0);
    free(t);
    c.token_gen = -1;
    assert_int_equal(jwt_sign(ks, &c, &t), IOTSEC_ERR_INVALID);
    json_t *j = t_claims_json();
    json_object_set_new(j, "token_gen", json_integer(-1));
    expect_reason(signed_with(GOOD_HEADER, j), JWT_R_CLAIM_INVALID);
    expect_reason(signed_with(GOOD_HEADER, with_str("token_gen", "1")), JWT_R_CLAIM_INVALID);
}

static void test_sign_refuses_bad_claims(void **state)
{
    (void)state;
    struct jwt_claims c = t_claims();
    char *t = NULL;
    c.sub = NULL;
    assert_int_equal(jwt_sign(ks, &c, &t), IOTSEC_ERR_INVALID);
    c = t_claims();
    c.exp = c.iat;
    assert_int_equal(jwt_sign(ks, &c, &t), IOTSEC_ERR_INVALID);
    /* A keyset without a signing key. */
    struct jwt_keyset *empty;
    assert_int_equal(jwt_keyset_new(&empty), IOTSEC_OK);
    c = t_claims();
    assert_int_equal(jwt_sign(empty, &c, &t), IOTSEC_ERR_STATE);
    jwt_keyset_free(empty);
    assert_null(t);
}

static void test_reason_strings(void **state)
{
    (void)state;
    for (int r = JWT_R_OK; r <= JWT_R_INTERNAL; r++)
        assert_string_not_equal(jwt_reason_str((enum jwt_reason)r), "unknown reason");
    assert_string_equal(jwt_reason_str((enum jwt_reason)999), "unknown reason");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sub_must_be_client_id),
        cmocka_unit_test(test_token_gen_claim),
        cmocka_unit_test(test_independent_signature_check),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_hs256_with_public_key),
        cmocka_unit_test(test_rs256_header),
        cmocka_unit_test(test_kid),
        cmocka_unit_test(test_typ_and_crit),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_issuer_and_audience),
        cmocka_unit_test(test_binding),
        cmocka_unit_test(test_flipped_signature_bits),
        cmocka_unit_test(test_der_signature),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_base64url_strict),
        cmocka_unit_test(test_size_and_shape),
        cmocka_unit_test(test_claims_required_and_typed),
        cmocka_unit_test(test_sign_refuses_bad_claims),
        cmocka_unit_test(test_reason_strings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
