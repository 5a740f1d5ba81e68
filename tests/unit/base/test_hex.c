#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/hex.h"

static void test_round_trip_all_bytes(void **state)
{
    (void)state;
    uint8_t in[256], out[256];
    char hex[513];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    hex_encode(in, sizeof(in), hex);
    assert_int_equal(strlen(hex), 512);
    assert_memory_equal(hex, "000102", 6);
    assert_string_equal(hex + 500, "fafbfcfdfeff");
    assert_int_equal(hex_decode(hex, out, sizeof(out)), IOTSEC_OK);
    assert_memory_equal(in, out, sizeof(in));
}

static void test_upper_case_accepted(void **state)
{
    (void)state;
    uint8_t out[4];
    assert_int_equal(hex_decode("DEADbeef", out, 4), IOTSEC_OK);
    assert_int_equal(out[0], 0xde);
    assert_int_equal(out[3], 0xef);
}

static void test_rejects_bad_input(void **state)
{
    (void)state;
    uint8_t out[4] = {1, 2, 3, 4}, zero[4] = {0};
    static const char *bad[] = {"", "abc", "abcdef", "abcdef0011", "abcdefg0", "abcd ef0",
                                "0x123456", "ab\xc3\xa9" "0000", "ab:cdef0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (hex_decode(bad[i], out, 4) != IOTSEC_ERR_INVALID)
            fail_msg("accepted '%s'", bad[i]);
        assert_memory_equal(out, zero, 4); /* never half-decoded */
    }
    assert_int_equal(hex_decode(NULL, out, 4), IOTSEC_ERR_INVALID);
    /* Digits next to the valid ranges: '/', ':', '@', 'G', '`', 'g'. */
    static const char *edges[] = {"/0", "0:", "@0", "G0", "`0", "0g"};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        assert_int_equal(hex_decode(edges[i], out, 1), IOTSEC_ERR_INVALID);
}

static void test_decode_var(void **state)
{
    (void)state;
    uint8_t out[8];
    size_t len = 99;
    assert_int_equal(hex_decode_var("0102ff", out, sizeof(out), &len), IOTSEC_OK);
    assert_int_equal(len, 3);
    assert_int_equal(out[2], 0xff);
    assert_int_equal(hex_decode_var("", out, sizeof(out), &len), IOTSEC_OK);
    assert_int_equal(len, 0);
    assert_int_equal(hex_decode_var("010", out, sizeof(out), &len), IOTSEC_ERR_INVALID);
    assert_int_equal(hex_decode_var("000102030405060708", out, sizeof(out), &len),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_all_bytes),
        cmocka_unit_test(test_upper_case_accepted),
        cmocka_unit_test(test_rejects_bad_input),
        cmocka_unit_test(test_decode_var),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
