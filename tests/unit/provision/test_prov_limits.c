/* The nonce table (single use, expiry, limit, deletion keeping probes correct) and the
 * per-enrollment token buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "provision/prov_int.h"

static void test_nonce_single_use_and_expiry(void **state)
{
    (void)state;
    struct prov_nonces *t = prov_nonces_new(4);
    uint8_t a[32], b[32], never[32] = {0};
    assert_int_equal(prov_nonce_issue(t, 100, a), IOTSEC_OK);
    assert_int_equal(prov_nonce_issue(t, 100, b), IOTSEC_OK);
    assert_true(prov_nonce_valid(t, a, 100));
    assert_false(prov_nonce_valid(t, never, 100));
    assert_true(prov_nonce_take(t, a, 101));
    assert_false(prov_nonce_take(t, a, 101)); /* once */
    assert_false(prov_nonce_valid(t, a, 101));
    assert_false(prov_nonce_valid(t, b, 100 + PROV_NONCE_TTL_S)); /* expired */
    assert_false(prov_nonce_take(t, b, 100 + PROV_NONCE_TTL_S));
    prov_nonces_free(t);
}

static void test_nonce_limit_and_expire(void **state)
{
    (void)state;
    struct prov_nonces *t = prov_nonces_new(3);
    uint8_t n[4][32];
    for (int i = 0; i < 3; i++)
        assert_int_equal(prov_nonce_issue(t, 10, n[i]), IOTSEC_OK);
    assert_int_equal(prov_nonce_issue(t, 10, n[3]), IOTSEC_ERR_BUSY);
    prov_nonces_expire(t, 10 + PROV_NONCE_TTL_S);
    assert_int_equal(prov_nonce_issue(t, 500, n[3]), IOTSEC_OK);
    assert_true(prov_nonce_valid(t, n[3], 501));
    prov_nonces_free(t);
}

static void test_nonce_many_deletions(void **state)
{
    (void)state;
    /* Fill, take every other one, check the rest are still found (backward shift). */
    enum { N = 2000 };
    struct prov_nonces *t = prov_nonces_new(N);
    uint8_t(*n)[32] = malloc(N * 32);
    for (int i = 0; i < N; i++)
        assert_int_equal(prov_nonce_issue(t, 1, n[i]), IOTSEC_OK);
    for (int i = 0; i < N; i += 2)
        assert_true(prov_nonce_take(t, n[i], 2));
    for (int i = 1; i < N; i += 2)
        assert_true(prov_nonce_valid(t, n[i], 2));
    for (int i = 0; i < N; i += 2)
        assert_false(prov_nonce_valid(t, n[i], 2));
    free(n);
    prov_nonces_free(t);
}

static void test_rate_limiter(void **state)
{
    (void)state;
    struct prov_limiter *l = prov_limiter_new(16);
    uint32_t ra = 0;
    /* 2 per second: a burst of 2, then refused with Retry-After 1. */
    assert_true(prov_limiter_take(l, 7, 2, 0, &ra));
    assert_true(prov_limiter_take(l, 7, 2, 0, &ra));
    assert_false(prov_limiter_take(l, 7, 2, 0, &ra));
    assert_int_equal(ra, 1);
    /* Another enrollment has its own bucket. */
    assert_true(prov_limiter_take(l, 8, 2, 0, &ra));
    /* Half a second later one token is back. */
    assert_true(prov_limiter_take(l, 7, 2, 500, &ra));
    assert_false(prov_limiter_take(l, 7, 2, 500, &ra));
    /* No limit configured. */
    for (int i = 0; i < 100; i++)
        assert_true(prov_limiter_take(l, 9, 0, 0, &ra));
    /* Slow rates ask for longer waits. */
    struct prov_limiter *slow = prov_limiter_new(4);
    assert_true(prov_limiter_take(slow, 1, 1, 0, &ra));
    assert_false(prov_limiter_take(slow, 1, 1, 100, &ra));
    assert_int_equal(ra, 1);
    prov_limiter_free(slow);
    prov_limiter_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonce_single_use_and_expiry),
        cmocka_unit_test(test_nonce_limit_and_expire),
        cmocka_unit_test(test_nonce_many_deletions),
        cmocka_unit_test(test_rate_limiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
