/* Console sessions (idle and absolute timeouts, tokens only by their hash, the oldest evicted)
 * and the per-address login limiter. Time is passed in: no waiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "console/console.h"

static void test_session_lifetimes(void **state)
{
    (void)state;
    struct console_sessions *s = console_sessions_new(60, 300);
    char t1[CONSOLE_TOKEN_LEN + 1], t2[CONSOLE_TOKEN_LEN + 1];
    struct console_session a, b, got;
    assert_int_equal(console_session_open(s, "alice", 1000, t1, &a), IOTSEC_OK);
    assert_int_equal(console_session_open(s, "bob", 1000, t2, &b), IOTSEC_OK);
    assert_int_equal(strlen(t1), CONSOLE_TOKEN_LEN);
    assert_string_not_equal(t1, t2);
    assert_string_not_equal(a.csrf, b.csrf);
    assert_string_not_equal(a.csrf, t1); /* the CSRF token is not the cookie */
    assert_int_equal(console_session_get(s, t1, 1030, &got), IOTSEC_OK);
    assert_string_equal(got.name, "alice");
    assert_string_equal(got.csrf, a.csrf);
    /* idle: each use moves the deadline; 60 s without one ends it */
    for (int64_t t = 1080; t < 1300; t += 50)
        assert_int_equal(console_session_get(s, t1, t, &got), IOTSEC_OK);
    assert_int_equal(console_session_get(s, t1, 1300, &got), IOTSEC_ERR_NOTFOUND); /* 300 s */
    assert_int_equal(console_session_get(s, t1, 1000, &got), IOTSEC_ERR_NOTFOUND); /* gone */
    assert_int_equal(console_session_get(s, t2, 1061, &got), IOTSEC_ERR_NOTFOUND); /* idle */
    /* unknown, malformed, closed */
    char t3[CONSOLE_TOKEN_LEN + 1];
    assert_int_equal(console_session_open(s, "carol", 2000, t3, &a), IOTSEC_OK);
    char wrong[CONSOLE_TOKEN_LEN + 1];
    strcpy(wrong, t3);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    assert_int_equal(console_session_get(s, wrong, 2001, &got), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(console_session_get(s, "short", 2001, &got), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(console_session_get(s, NULL, 2001, &got), IOTSEC_ERR_NOTFOUND);
    console_session_close(s, t3);
    assert_int_equal(console_session_get(s, t3, 2001, &got), IOTSEC_ERR_NOTFOUND);
    console_sessions_free(s);
}

static void test_session_table_full(void **state)
{
    (void)state;
    struct console_sessions *s = console_sessions_new(600, 6000);
    char first[CONSOLE_TOKEN_LEN + 1], t[CONSOLE_TOKEN_LEN + 1];
    struct console_session x;
    console_session_open(s, "first", 100, first, &x);
    for (int i = 1; i < CONSOLE_SESSIONS_MAX; i++)
        console_session_open(s, "other", 200, t, &x);
    assert_int_equal(console_session_get(s, first, 300, &x), IOTSEC_OK);
    /* full: the least recently used goes (not "first", used at 300) */
    console_session_open(s, "late", 301, t, &x);
    assert_int_equal(console_session_get(s, first, 302, &x), IOTSEC_OK);
    assert_int_equal(console_session_get(s, t, 302, &x), IOTSEC_OK);
    console_sessions_free(s);
}

static void test_limiter(void **state)
{
    (void)state;
    struct console_limiter *l = console_limiter_new(3, 10);
    for (int i = 0; i < 3; i++)
        assert_true(console_limiter_take(l, "192.0.2.1:5000", 100));
    assert_false(console_limiter_take(l, "192.0.2.1:5001", 100)); /* another port: same host */
    assert_true(console_limiter_take(l, "192.0.2.2:5000", 100));  /* another host */
    assert_false(console_limiter_take(l, "192.0.2.1:5000", 109));
    assert_true(console_limiter_take(l, "192.0.2.1:5000", 110)); /* one back after 10 s */
    assert_false(console_limiter_take(l, "192.0.2.1:5000", 110));
    console_limiter_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_lifetimes),
        cmocka_unit_test(test_session_table_full),
        cmocka_unit_test(test_limiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
