/* The generic 3GPP KDF (TS 33.220 B.2) checked against an independent HMAC (OpenSSL's
 * EVP_MAC) over a hand-built S, its limits, and serving network names. The 5G keys built on
 * it are checked against vectors in test_fiveg_aka.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/err.h"
#include "crypto/kdf.h"
#include "crypto/snn.h"

static void reference_hmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                           uint8_t out[32])
{
    unsigned int out_len = 0;
    assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, msg, len, out, &out_len));
    assert_int_equal(out_len, 32);
}

static void test_kdf_matches_reference(void **state)
{
    (void)state;
    /* Parameters of several sizes around the SHA-256 block boundary. */
    static const size_t sizes[] = {0, 1, 6, 16, 32, 50, 55, 56, 63, 64, 65, 200, 1000};
    uint8_t key[32], p0[1000], p1[1000];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof(p0); i++) {
        p0[i] = (uint8_t)(i * 13);
        p1[i] = (uint8_t)(255 - i);
    }
    struct hmac_sha256 h;
    hmac_sha256_init(&h, key, sizeof(key));
    for (size_t a = 0; a < sizeof(sizes) / sizeof(sizes[0]); a++) {
        for (size_t b = 0; b < sizeof(sizes) / sizeof(sizes[0]); b += 3) {
            size_t la = sizes[a], lb = sizes[b];
            uint8_t s[1 + 1000 + 2 + 1000 + 2], *w = s;
            *w++ = 0x6a;
            memcpy(w, p0, la), w += la;
            *w++ = (uint8_t)(la >> 8), *w++ = (uint8_t)la;
            memcpy(w, p1, lb), w += lb;
            *w++ = (uint8_t)(lb >> 8), *w++ = (uint8_t)lb;
            uint8_t want[32], got[32];
            reference_hmac(key, sizeof(key), s, (size_t)(w - s), want);
            const struct kdf_param p[] = {{p0, la}, {p1, lb}};
            assert_int_equal(kdf_3gpp(&h, 0x6a, p, 2, got), IOTSEC_OK);
            assert_memory_equal(got, want, 32);
        }
    }
    hmac_sha256_wipe(&h);
}

static void test_kdf_param_limit(void **state)
{
    (void)state;
    uint8_t key[32] = {0}, out[32];
    struct hmac_sha256 h;
    hmac_sha256_init(&h, key, sizeof(key));
    uint8_t *big = calloc(1, KDF_MAX_PARAM + 1);
    assert_non_null(big);
    const struct kdf_param ok[] = {{big, KDF_MAX_PARAM}};
    const struct kdf_param too_long[] = {{big, KDF_MAX_PARAM + 1}};
    assert_int_equal(kdf_3gpp(&h, 0x6c, ok, 1, out), IOTSEC_OK);
    assert_int_equal(kdf_3gpp(&h, 0x6c, too_long, 1, out), IOTSEC_ERR_INVALID);
    free(big);
}

static void test_res_star_length_bounds(void **state)
{
    (void)state;
    uint8_t ck[16] = {1}, ik[16] = {2}, rand[16] = {3}, res[17] = {4}, out[16];
    struct hmac_sha256 h;
    kdf_ck_ik_key(ck, ik, &h);
    assert_int_equal(kdf_res_star(&h, "x", 1, rand, res, 3, out), IOTSEC_ERR_INVALID);
    assert_int_equal(kdf_res_star(&h, "x", 1, rand, res, 4, out), IOTSEC_OK);
    assert_int_equal(kdf_res_star(&h, "x", 1, rand, res, 16, out), IOTSEC_OK);
    assert_int_equal(kdf_res_star(&h, "x", 1, rand, res, 17, out), IOTSEC_ERR_INVALID);
}

static void test_snn_build(void **state)
{
    (void)state;
    char snn[SNN_MAX];
    assert_int_equal(snn_build("208", "93", NULL, snn), IOTSEC_OK);
    assert_string_equal(snn, "5G:mnc093.mcc208.3gppnetwork.org");
    assert_int_equal(snn_build("310", "410", "", snn), IOTSEC_OK);
    assert_string_equal(snn, "5G:mnc410.mcc310.3gppnetwork.org");
    assert_int_equal(snn_build("001", "01", "000000000ab", snn), IOTSEC_OK);
    assert_string_equal(snn, "5G:mnc001.mcc001.3gppnetwork.org:000000000ab");
    assert_int_equal(snn_build("20", "93", NULL, snn), IOTSEC_ERR_INVALID);
    assert_int_equal(snn_build("208", "9", NULL, snn), IOTSEC_ERR_INVALID);
    assert_int_equal(snn_build("208", "9a3", NULL, snn), IOTSEC_ERR_INVALID);
    assert_int_equal(snn_build("208", "93", "xyz", snn), IOTSEC_ERR_INVALID);
}

static void test_snn_parse(void **state)
{
    (void)state;
    struct snn s;
    assert_int_equal(snn_parse("5G:mnc093.mcc208.3gppnetwork.org", &s), IOTSEC_OK);
    assert_string_equal(s.mcc, "208");
    assert_string_equal(s.mnc, "093");
    assert_string_equal(s.nid, "");
    assert_int_equal(snn_parse("5G:mnc001.mcc001.3gppnetwork.org:000000000AB", &s), IOTSEC_OK);
    assert_string_equal(s.nid, "000000000AB");
    static const char *bad[] = {
        "", "5G", "5G:mnc", "internet", "5G:mnc93.mcc208.3gppnetwork.org",
        "5G:mnc093.mcc208.3gppnetwork.com", "4G:mnc093.mcc208.3gppnetwork.org",
        "5G:mnc093.mcc208.3gppnetwork.org:", "5G:mnc093.mcc208.3gppnetwork.org:12",
        "5G:mnc093.mcc208.3gppnetwork.orgX", "5G:mncabc.mcc208.3gppnetwork.org",
        "5G:mnc093.mcc208.3gppnetwork.org:0000000000g",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (snn_parse(bad[i], &s) != IOTSEC_ERR_INVALID)
            fail_msg("accepted bad serving network name '%s'", bad[i]);
    }
    assert_int_equal(snn_parse(NULL, &s), IOTSEC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kdf_matches_reference),
        cmocka_unit_test(test_kdf_param_limit),
        cmocka_unit_test(test_res_star_length_bounds),
        cmocka_unit_test(test_snn_build),
        cmocka_unit_test(test_snn_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
