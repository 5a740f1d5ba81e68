/* The primitives under onboarding: Ed25519 (RFC 8032 test 1), X25519 (RFC 7748 §6.1),
 * HKDF-SHA-256 (RFC 5869 test case 1), and the length-prefixed codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/provision_crypto.h"

static void unhex(const char *hex, uint8_t *out, size_t len)
{
    assert_int_equal(hex_decode(hex, out, len), IOTSEC_OK);
}

static void expect_hex(const uint8_t *got, size_t len, const char *want)
{
    char hex[2 * 128 + 1];
    assert_true(len <= 128);
    hex_encode(got, len, hex);
    assert_string_equal(hex, want);
}

/* RFC 8032 §7.1, TEST 1: the empty message. */
static void test_ed25519_rfc8032(void **state)
{
    (void)state;
    uint8_t seed[32], pub[32], sig[64];
    unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
    struct prov_sign_key *key;
    assert_int_equal(prov_sign_key_new(seed, &key), IOTSEC_OK);
    prov_sign_key_public(key, pub);
    expect_hex(pub, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    assert_int_equal(prov_ed25519_sign(key, NULL, 0, sig), IOTSEC_OK);
    expect_hex(sig, 64,
               "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc6"
               "1e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    assert_int_equal(prov_ed25519_verify(pub, NULL, 0, sig), IOTSEC_OK);
    assert_int_equal(prov_ed25519_verify(pub, "x", 1, sig), IOTSEC_ERR_AUTH);
    for (size_t i = 0; i < 64; i++) { /* every bit position of a few bytes, one byte each */
        sig[i] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(prov_ed25519_verify(pub, NULL, 0, sig), IOTSEC_ERR_AUTH);
        sig[i] ^= (uint8_t)(1u << (i % 8));
    }
    pub[0] ^= 1;
    assert_int_equal(prov_ed25519_verify(pub, NULL, 0, sig), IOTSEC_ERR_AUTH);
    prov_sign_key_free(key);
    prov_sign_key_free(NULL);
}

static void test_ed25519_keygen(void **state)
{
    (void)state;
    uint8_t seed[32], seed2[32], pub[32], pub2[32], got[32], sig[64];
    assert_int_equal(prov_ed25519_keygen(seed, pub), IOTSEC_OK);
    assert_int_equal(prov_ed25519_keygen(seed2, pub2), IOTSEC_OK);
    assert_memory_not_equal(seed, seed2, 32);
    struct prov_sign_key *key;
    assert_int_equal(prov_sign_key_new(seed, &key), IOTSEC_OK);
    prov_sign_key_public(key, got);
    assert_memory_equal(got, pub, 32); /* the exported public key is the seed's */
    static const char msg[] = "provisioning";
    assert_int_equal(prov_ed25519_sign(key, msg, sizeof(msg), sig), IOTSEC_OK);
    assert_int_equal(prov_ed25519_verify(pub, msg, sizeof(msg), sig), IOTSEC_OK);
    assert_int_equal(prov_ed25519_verify(pub2, msg, sizeof(msg), sig), IOTSEC_ERR_AUTH);
    prov_sign_key_free(key);
}

/* RFC 7748 §6.1: Alice and Bob agree. */
static void test_x25519_rfc7748(void **state)
{
    (void)state;
    uint8_t a[32], b[32], a_pub[32], b_pub[32], z1[32], z2[32], mine[32];
    unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
    unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b, 32);
    unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", a_pub, 32);
    unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", b_pub, 32);
    assert_int_equal(prov_x25519_shared(a, b_pub, z1, mine), IOTSEC_OK);
    assert_memory_equal(mine, a_pub, 32);
    assert_int_equal(prov_x25519_shared(b, a_pub, z2, NULL), IOTSEC_OK);
    expect_hex(z1, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    assert_memory_equal(z1, z2, 32);

    /* A small-order peer (u = 0) gives the all-zero secret: refused. */
    static const uint8_t zero[32];
    assert_int_equal(prov_x25519_shared(a, zero, z1, NULL), IOTSEC_ERR_INVALID);

    uint8_t priv[32], pub[32];
    assert_int_equal(prov_x25519_keygen(priv, pub), IOTSEC_OK);
    assert_int_equal(prov_x25519_shared(priv, a_pub, z1, mine), IOTSEC_OK);
    assert_memory_equal(mine, pub, 32);
    assert_int_equal(prov_x25519_shared(a, pub, z2, NULL), IOTSEC_OK);
    assert_memory_equal(z1, z2, 32);
}

/* RFC 5869 A.1, test case 1. */
static void test_hkdf_rfc5869(void **state)
{
    (void)state;
    uint8_t ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof(ikm));
    for (uint8_t i = 0; i < 13; i++)
        salt[i] = i;
    for (uint8_t i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    assert_int_equal(prov_hkdf_sha256(salt, 13, ikm, 22, info, 10, okm, 42), IOTSEC_OK);
    expect_hex(okm, 42,
               "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b8871858"
               "65");
    /* RFC 5869 A.3, test case 3: no salt, no info. */
    assert_int_equal(prov_hkdf_sha256(NULL, 0, ikm, 22, NULL, 0, okm, 42), IOTSEC_OK);
    expect_hex(okm, 42,
               "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96"
               "c8");
    assert_int_equal(prov_hkdf_sha256(salt, 13, ikm, 22, info, 10, okm, 0), IOTSEC_ERR_INVALID);
}

static void test_codec(void **state)
{
    (void)state;
    uint8_t buf[32];
    struct prov_writer w = {.buf = buf, .cap = sizeof(buf)};
    prov_put_u8(&w, 0x01);
    prov_put_u16(&w, 0x0203);
    prov_put_u32(&w, 0x04050607);
    prov_put_u64(&w, 0x08090a0b0c0d0e0fULL);
    prov_put_lp(&w, "ab", 2);
    assert_false(w.overflow);
    expect_hex(buf, w.len, "0102030405060708090a0b0c0d0e0f00026162");
    struct prov_reader r = {.p = buf, .left = w.len};
    size_t len;
    assert_int_equal(prov_get_u8(&r), 0x01);
    assert_int_equal(prov_get_u16(&r), 0x0203);
    assert_int_equal(prov_get_u32(&r), 0x04050607);
    assert_true(prov_get_u64(&r) == 0x08090a0b0c0d0e0fULL);
    assert_memory_equal(prov_get_lp(&r, &len), "ab", 2);
    assert_int_equal(len, 2);
    assert_false(r.bad);
    assert_null(prov_get(&r, 1));
    assert_true(r.bad);
    prov_put(&w, buf, sizeof(buf)); /* past the end: remembered, nothing written */
    assert_true(w.overflow);
    assert_int_equal(w.len, 19);

    assert_true(prov_id_valid("meter-12B:0001", 14));
    assert_false(prov_id_valid("with space", 10));
    assert_false(prov_id_valid("nul\0x", 5));
    assert_false(prov_id_valid("", 0));
    char long_id[PROV_REG_ID_MAX + 1];
    memset(long_id, 'a', sizeof(long_id));
    assert_true(prov_id_valid(long_id, PROV_REG_ID_MAX));
    assert_false(prov_id_valid(long_id, PROV_REG_ID_MAX + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_rfc8032), cmocka_unit_test(test_ed25519_keygen),
        cmocka_unit_test(test_x25519_rfc7748),  cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
