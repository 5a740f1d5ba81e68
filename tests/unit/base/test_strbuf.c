/* strbuf_append_json_str: what it writes is the JSON string a parser reads back as the input,
 * whatever the bytes (quotes, backslashes, every control character, UTF-8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/err.h"
#include "base/strbuf.h"

static void round_trip(const char *s)
{
    struct strbuf b = {0};
    assert_int_equal(strbuf_append(&b, "[", 1), IOTSEC_OK);
    assert_int_equal(strbuf_append_json_str(&b, s), IOTSEC_OK);
    assert_int_equal(strbuf_append(&b, "]", 1), IOTSEC_OK);
    assert_int_equal(strlen(b.data), b.len);
    json_error_t err;
    json_t *v = json_loads(b.data, 0, &err);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_array_get(v, 0)), s);
    json_decref(v);
    strbuf_free(&b);
}

static void test_round_trips(void **state)
{
    (void)state;
    round_trip("");
    round_trip("pine-0123456789abcdef");
    round_trip("a\"b\\c/d");
    round_trip("caf\xc3\xa9 \xe2\x82\xac");
    char ctl[32];
    for (int i = 1; i < 32; i++)
        ctl[i - 1] = (char)i;
    ctl[31] = 0;
    round_trip(ctl);
}

static void test_exact_text_and_growth(void **state)
{
    (void)state;
    struct strbuf b = {0};
    assert_int_equal(strbuf_append_json_str(&b, "x\"\n"), IOTSEC_OK);
    assert_string_equal(b.data, "\"x\\\"\\u000a\"");
    /* past the first 1 KiB: the buffer grows for the worst case */
    char big[3000];
    memset(big, 1, sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(strbuf_append_json_str(&b, big), IOTSEC_OK);
    assert_int_equal(b.len, strlen("\"x\\\"\\u000a\"") + 2 + 6 * (sizeof(big) - 1));
    strbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_exact_text_and_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
