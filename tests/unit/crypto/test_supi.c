/* SUPI parsing and formatting (TS 23.003 §2.2A, TS 29.571 Supi) and the default MNC length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "crypto/supi.h"

static void test_parse_imsi(void **state)
{
    (void)state;
    struct supi s;
    assert_int_equal(supi_parse("imsi-274012001002086", &s), IOTSEC_OK);
    assert_int_equal(s.type, SUPI_IMSI);
    assert_string_equal(s.value, "274012001002086");
    assert_int_equal(supi_parse("imsi-12345", &s), IOTSEC_OK); /* shortest */
    assert_string_equal(s.value, "12345");
}

static void test_parse_imsi_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "imsi-1234",             /* 4 digits */
        "imsi-1234567890123456", /* 16 digits */
        "imsi-27401200100208a",
        "imsi-",
        "imsi-27401 2001002086",
        "imsi--27401200100208",
        "IMSI-274012001002086",
        "274012001002086",
        "imsi274012001002086",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct supi s;
        memset(&s, 0xa5, sizeof(s));
        if (supi_parse(bad[i], &s) != IOTSEC_ERR_INVALID)
            fail_msg("accepted '%s'", bad[i]);
        /* Nothing half-parsed is left behind. */
        assert_int_equal(s.value[0], '\0');
    }
}

static void test_parse_nai(void **state)
{
    (void)state;
    struct supi s;
    assert_int_equal(supi_parse("nai-verylongusername1@3gpp.com", &s), IOTSEC_OK);
    assert_int_equal(s.type, SUPI_NAI);
    assert_string_equal(s.value, "verylongusername1@3gpp.com");
    assert_int_equal(supi_parse("nai-a@b", &s), IOTSEC_OK);
    assert_int_equal(supi_parse("nai-user.name+tag@sub-domain.example-1.org", &s), IOTSEC_OK);
}

static void test_parse_nai_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "nai-",
        "nai-user",
        "nai-@realm",
        "nai-user@",
        "nai-us@er@realm",
        "nai-us er@realm",
        "nai-user@re alm",
        "nai-user\t@realm",
        "nai-us\x7f@realm",
        "nai-\xc3\xa9@realm",
        "NAI-user@realm",
        "nai-user@realm\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct supi s;
        if (supi_parse(bad[i], &s) != IOTSEC_ERR_INVALID)
            fail_msg("accepted '%s'", bad[i]);
    }
}

static void test_parse_nai_length(void **state)
{
    (void)state;
    char s[4 + SUPI_VALUE_MAX + 2];
    struct supi out;
    /* Exactly 253 octets: "u...u@r". */
    memcpy(s, "nai-", 4);
    memset(s + 4, 'u', SUPI_VALUE_MAX - 2);
    memcpy(s + 4 + SUPI_VALUE_MAX - 2, "@r", 3);
    assert_int_equal(supi_parse(s, &out), IOTSEC_OK);
    assert_int_equal(strlen(out.value), SUPI_VALUE_MAX);
    /* One more is too long. */
    memset(s + 4, 'u', SUPI_VALUE_MAX - 1);
    memcpy(s + 4 + SUPI_VALUE_MAX - 1, "@r", 3);
    assert_int_equal(supi_parse(s, &out), IOTSEC_ERR_INVALID);
}

static void test_parse_null(void **state)
{
    (void)state;
    struct supi s;
    assert_int_equal(supi_parse(NULL, &s), IOTSEC_ERR_INVALID);
    assert_int_equal(supi_parse("imsi-274012001002086", NULL), IOTSEC_ERR_INVALID);
}

static void test_format(void **state)
{
    (void)state;
    static const char *const ids[] = {"imsi-274012001002086", "nai-verylongusername1@3gpp.com"};
    for (size_t i = 0; i < 2; i++) {
        struct supi s;
        char buf[SUPI_STRING_MAX];
        assert_int_equal(supi_parse(ids[i], &s), IOTSEC_OK);
        assert_int_equal(supi_format(&s, buf, sizeof(buf)), IOTSEC_OK);
        assert_string_equal(buf, ids[i]);
        /* The exact size fits; one less does not, and leaves an empty string. */
        size_t need = strlen(ids[i]) + 1;
        assert_int_equal(supi_format(&s, buf, need), IOTSEC_OK);
        assert_int_equal(supi_format(&s, buf, need - 1), IOTSEC_ERR_INVALID);
        assert_string_equal(buf, "");
    }
}

static void test_format_invalid(void **state)
{
    (void)state;
    struct supi s;
    char buf[SUPI_STRING_MAX];
    assert_int_equal(supi_parse("imsi-274012001002086", &s), IOTSEC_OK);
    assert_int_equal(supi_format(NULL, buf, sizeof(buf)), IOTSEC_ERR_INVALID);
    assert_int_equal(supi_format(&s, NULL, sizeof(buf)), IOTSEC_ERR_INVALID);
    assert_int_equal(supi_format(&s, buf, 0), IOTSEC_ERR_INVALID);
    s.type = (enum supi_type)7;
    assert_int_equal(supi_format(&s, buf, sizeof(buf)), IOTSEC_ERR_INVALID);
    s.type = SUPI_NAI;
    memset(s.value, 'x', sizeof(s.value)); /* no terminating NUL */
    assert_int_equal(supi_format(&s, buf, sizeof(buf)), IOTSEC_ERR_INVALID);
}

static void test_default_mnc_length(void **state)
{
    (void)state;
    assert_int_equal(supi_default_mnc_length("310"), 3); /* United States */
    assert_int_equal(supi_default_mnc_length("316"), 3);
    assert_int_equal(supi_default_mnc_length("302"), 3); /* Canada */
    assert_int_equal(supi_default_mnc_length("334"), 3); /* Mexico */
    assert_int_equal(supi_default_mnc_length("405"), 3); /* India */
    assert_int_equal(supi_default_mnc_length("274"), 2); /* Iceland */
    assert_int_equal(supi_default_mnc_length("208"), 2); /* France */
    assert_int_equal(supi_default_mnc_length("001"), 2); /* test network */
    assert_int_equal(supi_default_mnc_length("404"), 2); /* India's other MCC */
    assert_int_equal(supi_default_mnc_length("31"), IOTSEC_ERR_INVALID);
    assert_int_equal(supi_default_mnc_length("3100"), IOTSEC_ERR_INVALID);
    assert_int_equal(supi_default_mnc_length("31a"), IOTSEC_ERR_INVALID);
    assert_int_equal(supi_default_mnc_length(""), IOTSEC_ERR_INVALID);
    assert_int_equal(supi_default_mnc_length(NULL), IOTSEC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_imsi),
        cmocka_unit_test(test_parse_imsi_invalid),
        cmocka_unit_test(test_parse_nai),
        cmocka_unit_test(test_parse_nai_invalid),
        cmocka_unit_test(test_parse_nai_length),
        cmocka_unit_test(test_parse_null),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_invalid),
        cmocka_unit_test(test_default_mnc_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
