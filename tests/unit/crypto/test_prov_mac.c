/* Derived device keys (against OpenSSL's one-shot HMAC), the onboarding proof and the
 * confirmation MAC: each accepts the right inputs and refuses any one of them changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/err.h"
#include "crypto/provision_crypto.h"

static const uint8_t group_key[64] = {0x47, 0x72, 0x6f, 0x75, 0x70, 1, 2, 3, 4, 5, 6, 7, 8};

static void test_device_key_matches_openssl(void **state)
{
    (void)state;
    static const char *ids[] = {"meter-0001", "apartment-12B.meter:7", "x",
                                "a-registration-id-of-sixty-four-characters-000000000000000000000"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        uint8_t key[32], want[32];
        unsigned want_len = 0;
        assert_int_equal(prov_device_key(group_key, sizeof(group_key), ids[i], strlen(ids[i]), key),
                         IOTSEC_OK);
        assert_non_null(HMAC(EVP_sha256(), group_key, sizeof(group_key),
                             (const unsigned char *)ids[i], strlen(ids[i]), want, &want_len));
        assert_int_equal(want_len, 32);
        assert_memory_equal(key, want, 32);
    }
    uint8_t key[32];
    assert_int_equal(prov_device_key(group_key, 15, "m", 1, key), IOTSEC_ERR_INVALID);
    assert_int_equal(prov_device_key(group_key, 16, "m m", 3, key), IOTSEC_ERR_INVALID);
    assert_int_equal(prov_device_key(group_key, 16, "", 0, key), IOTSEC_ERR_INVALID);
}

static struct prov_onboard_ctx sample_ctx(void)
{
    struct prov_onboard_ctx c = {.reg_id = "meter-0001", .reg_id_len = 10};
    for (int i = 0; i < 32; i++) {
        c.server_nonce[i] = (uint8_t)i;
        c.device_pub[i] = (uint8_t)(0x80 + i);
    }
    return c;
}

static void test_proof(void **state)
{
    (void)state;
    uint8_t key[32], other_key[32], mac[32];
    struct prov_onboard_ctx c = sample_ctx(), bad;
    assert_int_equal(prov_device_key(group_key, 64, c.reg_id, c.reg_id_len, key), IOTSEC_OK);
    assert_int_equal(prov_device_key(group_key, 64, "meter-0002", 10, other_key), IOTSEC_OK);
    assert_int_equal(prov_proof_compute(key, &c, mac), IOTSEC_OK);
    assert_int_equal(prov_proof_verify(key, &c, mac), IOTSEC_OK);

    assert_int_equal(prov_proof_verify(other_key, &c, mac), IOTSEC_ERR_AUTH); /* wrong key */
    bad = c;
    bad.server_nonce[31] ^= 1; /* an old or another nonce */
    assert_int_equal(prov_proof_verify(key, &bad, mac), IOTSEC_ERR_AUTH);
    bad = c;
    bad.reg_id = "meter-0002"; /* another registration id */
    assert_int_equal(prov_proof_verify(key, &bad, mac), IOTSEC_ERR_AUTH);
    bad = c;
    bad.device_pub[0] ^= 0x40; /* a relay swapped in its own ephemeral key */
    assert_int_equal(prov_proof_verify(key, &bad, mac), IOTSEC_ERR_AUTH);
    for (size_t i = 0; i < 32; i++) {
        mac[i] ^= 0x08;
        assert_int_equal(prov_proof_verify(key, &c, mac), IOTSEC_ERR_AUTH);
        mac[i] ^= 0x08;
    }
    bad = c;
    bad.reg_id_len = 0;
    assert_int_equal(prov_proof_verify(key, &bad, mac), IOTSEC_ERR_INVALID);
}

static void test_confirm(void **state)
{
    (void)state;
    uint8_t k[16] = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
                     0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc};
    uint8_t mac[32], mac32[32], k32[32] = {1};
    struct prov_confirm_ctx c = {.reg_id = "meter-0001",
                                 .reg_id_len = 10,
                                 .cred_id = "cred-42",
                                 .cred_id_len = 7,
                                 .cred_version = 3};
    memset(c.server_nonce, 0x5a, sizeof(c.server_nonce));
    assert_int_equal(prov_confirm_compute(k, 16, &c, mac), IOTSEC_OK);
    assert_int_equal(prov_confirm_verify(k, 16, &c, mac), IOTSEC_OK);
    assert_int_equal(prov_confirm_compute(k32, 32, &c, mac32), IOTSEC_OK);
    assert_memory_not_equal(mac, mac32, 32);
    assert_int_equal(prov_confirm_verify(k32, 32, &c, mac32), IOTSEC_OK);

    uint8_t k_bad[16];
    memcpy(k_bad, k, 16);
    k_bad[15] ^= 1; /* the old K, or a guess */
    assert_int_equal(prov_confirm_verify(k_bad, 16, &c, mac), IOTSEC_ERR_AUTH);
    struct prov_confirm_ctx bad = c;
    bad.cred_version = 2;
    assert_int_equal(prov_confirm_verify(k, 16, &bad, mac), IOTSEC_ERR_AUTH);
    bad = c;
    bad.cred_id = "cred-43";
    assert_int_equal(prov_confirm_verify(k, 16, &bad, mac), IOTSEC_ERR_AUTH);
    bad = c;
    bad.server_nonce[0] ^= 1;
    assert_int_equal(prov_confirm_verify(k, 16, &bad, mac), IOTSEC_ERR_AUTH);
    bad = c;
    bad.reg_id = "meter-0002";
    assert_int_equal(prov_confirm_verify(k, 16, &bad, mac), IOTSEC_ERR_AUTH);
    mac[7] ^= 0x80;
    assert_int_equal(prov_confirm_verify(k, 16, &c, mac), IOTSEC_ERR_AUTH);
    assert_int_equal(prov_confirm_verify(k, 15, &c, mac), IOTSEC_ERR_INVALID);

    /* The proof and the confirmation never collide even under one key: distinct labels. */
    struct prov_onboard_ctx oc = {.reg_id = c.reg_id, .reg_id_len = c.reg_id_len};
    uint8_t proof[32];
    memcpy(oc.server_nonce, c.server_nonce, 32);
    assert_int_equal(prov_proof_compute(k32, &oc, proof), IOTSEC_OK);
    assert_memory_not_equal(proof, mac32, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_key_matches_openssl),
        cmocka_unit_test(test_proof),
        cmocka_unit_test(test_confirm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
