/* AUTN construction and USIM-side verification; AUTS generation and SQN_MS recovery
 * (TS 33.102 §6.3), against the resynchronisation vectors and by round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "crypto/autn.h"
#include "vectors.h"

static void test_auts_vectors(void **state)
{
    (void)state;
    json_t *root = vectors_load("milenage.json");
    json_t *cases = vectors_array(root, "resync_auts_vectors");
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *id = vectors_str(c, "id");
        uint8_t k[16], opc[16], rand[16], auts[14], sqn_ms[6], rebuilt[14];
        vectors_hex(c, "k", k, 16);
        vectors_hex(c, "opc", opc, 16);
        vectors_hex(c, "rand", rand, 16);
        vectors_hex(c, "auts", auts, 14);
        assert_int_equal(auts_recover_sqn_ms(k, opc, rand, auts, sqn_ms), IOTSEC_OK);
        vectors_expect_hex(c, "expected_sqn_ms", sqn_ms, 6, id);
        /* The USIM side builds the very same AUTS from SQN_MS. */
        assert_int_equal(auts_build(k, opc, rand, sqn_ms, rebuilt), IOTSEC_OK);
        assert_memory_equal(rebuilt, auts, 14);
    }
    json_decref(root);
}

static void test_auts_tampered_is_rejected(void **state)
{
    (void)state;
    json_t *root = vectors_load("milenage.json");
    json_t *c = json_array_get(vectors_array(root, "resync_auts_vectors"), 0);
    uint8_t k[16], opc[16], rand[16], auts[14], sqn_ms[6];
    vectors_hex(c, "k", k, 16);
    vectors_hex(c, "opc", opc, 16);
    vectors_hex(c, "rand", rand, 16);
    vectors_hex(c, "auts", auts, 14);
    for (int byte = 0; byte < 14; byte++) {
        uint8_t bad[14];
        memcpy(bad, auts, 14);
        bad[byte] ^= 0x01;
        assert_int_equal(auts_recover_sqn_ms(k, opc, rand, bad, sqn_ms), IOTSEC_ERR_AUTH);
        static const uint8_t zero[6];
        assert_memory_equal(sqn_ms, zero, 6);
    }
    /* The right AUTS under another RAND does not verify either. */
    rand[0] ^= 0x80;
    assert_int_equal(auts_recover_sqn_ms(k, opc, rand, auts, sqn_ms), IOTSEC_ERR_AUTH);
    json_decref(root);
}

static void test_autn_round_trip(void **state)
{
    (void)state;
    json_t *root = vectors_load("milenage.json");
    json_t *sets = vectors_array(root, "ts35208_conformance_sets");
    size_t i;
    json_t *s;
    json_array_foreach(sets, i, s) {
        uint8_t k[16], opc[16], rand[16], sqn[6], amf[2], mac_a[8], ak[6], autn[16];
        vectors_hex(s, "k", k, 16);
        vectors_hex(s, "opc", opc, 16);
        vectors_hex(s, "rand", rand, 16);
        vectors_hex(s, "sqn", sqn, 6);
        vectors_hex(s, "amf", amf, 2);
        vectors_hex(s, "f1_mac_a", mac_a, 8);
        vectors_hex(s, "f5_ak", ak, 6);
        autn_build(sqn, ak, amf, mac_a, autn);
        for (int j = 0; j < 6; j++)
            assert_int_equal(autn[j], sqn[j] ^ ak[j]);

        uint8_t got_sqn[6];
        struct milenage_out out;
        assert_int_equal(autn_verify(k, opc, rand, autn, got_sqn, &out), IOTSEC_OK);
        assert_memory_equal(got_sqn, sqn, 6);
        uint8_t res[8];
        vectors_hex(s, "f2_res", res, 8);
        assert_memory_equal(out.res, res, 8);

        autn[15] ^= 0x40; /* a flipped MAC bit */
        assert_int_equal(autn_verify(k, opc, rand, autn, got_sqn, &out), IOTSEC_ERR_AUTH);
        autn[15] ^= 0x40;
        autn[7] ^= 0x01; /* a flipped AMF bit changes f1's input */
        assert_int_equal(autn_verify(k, opc, rand, autn, got_sqn, &out), IOTSEC_ERR_AUTH);
    }
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auts_vectors),
        cmocka_unit_test(test_auts_tampered_is_rejected),
        cmocka_unit_test(test_autn_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
