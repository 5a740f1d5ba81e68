/* Milenage against every set of TS 35.207 and TS 35.208 in tests/vectors/milenage.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "crypto/milenage.h"
#include "vectors.h"

static int check_set(json_t *set, const char *family)
{
    char name[64];
    snprintf(name, sizeof(name), "%s set %d", family,
             (int)json_integer_value(json_object_get(set, "set")));
    uint8_t k[16], op[16], opc[16], rand[16], sqn[6], amf[2];
    vectors_hex(set, "k", k, 16);
    vectors_hex(set, "op", op, 16);
    vectors_hex(set, "rand", rand, 16);
    vectors_hex(set, "sqn", sqn, 6);
    vectors_hex(set, "amf", amf, 2);

    assert_int_equal(milenage_opc(k, op, opc), IOTSEC_OK);
    vectors_expect_hex(set, "opc", opc, 16, name);

    struct milenage_out out;
    memset(&out, 0xee, sizeof(out));
    assert_int_equal(milenage_compute(k, opc, rand, sqn, amf, MILENAGE_ALL, &out), IOTSEC_OK);
    vectors_expect_hex(set, "f1_mac_a", out.mac_a, 8, name);
    vectors_expect_hex(set, "f1star_mac_s", out.mac_s, 8, name);
    vectors_expect_hex(set, "f2_res", out.res, 8, name);
    vectors_expect_hex(set, "f3_ck", out.ck, 16, name);
    vectors_expect_hex(set, "f4_ik", out.ik, 16, name);
    vectors_expect_hex(set, "f5_ak", out.ak, 6, name);
    vectors_expect_hex(set, "f5star_ak_star", out.ak_star, 6, name);

    /* Asking for a subset computes the same values and leaves the rest untouched. */
    struct milenage_out part;
    memset(&part, 0xee, sizeof(part));
    assert_int_equal(milenage_compute(k, opc, rand, NULL, NULL, MILENAGE_F3 | MILENAGE_F5_STAR,
                                      &part),
                     IOTSEC_OK);
    assert_memory_equal(part.ck, out.ck, 16);
    assert_memory_equal(part.ak_star, out.ak_star, 6);
    uint8_t untouched[16];
    memset(untouched, 0xee, sizeof(untouched));
    assert_memory_equal(part.ik, untouched, 16);
    assert_memory_equal(part.mac_a, untouched, 8);
    return 1;
}

static void test_ts35207_sets(void **state)
{
    (void)state;
    json_t *root = vectors_load("milenage.json");
    json_t *sets = vectors_array(root, "ts35207_implementors_sets");
    size_t i, n = 0;
    json_t *set;
    json_array_foreach(sets, i, set) n += check_set(set, "TS 35.207");
    assert_int_equal(n, 6);
    json_decref(root);
}

static void test_ts35208_sets(void **state)
{
    (void)state;
    json_t *root = vectors_load("milenage.json");
    json_t *sets = vectors_array(root, "ts35208_conformance_sets");
    size_t i, n = 0;
    json_t *set;
    json_array_foreach(sets, i, set) n += check_set(set, "TS 35.208");
    assert_int_equal(n, 10);
    json_decref(root);
}

static void test_f1_requires_sqn_and_amf(void **state)
{
    (void)state;
    uint8_t k[16] = {1}, opc[16] = {2}, rand[16] = {3};
    struct milenage_out out;
    assert_int_equal(milenage_compute(k, opc, rand, NULL, NULL, MILENAGE_F1, &out),
                     IOTSEC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts35207_sets),
        cmocka_unit_test(test_ts35208_sets),
        cmocka_unit_test(test_f1_requires_sqn_and_amf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
