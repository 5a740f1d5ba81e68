/* HyperLogLog: accurate where the detectors rely on it, merge is a union. The estimate is
 * compared with the exact count of what was added (a counter, independent of the sketch). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/hll.h"

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static double rel_error(const uint8_t *regs, unsigned p, double truth)
{
    return fabs(hll_estimate(regs, p) - truth) / truth;
}

static void test_large_counts(void **state)
{
    (void)state;
    static uint8_t regs[HLL_BYTES(12)];
    memset(regs, 0, sizeof(regs));
    for (uint64_t i = 0; i < 100000; i++) {
        hll_add(regs, 12, mix(i));
        hll_add(regs, 12, mix(i)); /* duplicates change nothing */
    }
    assert_true(rel_error(regs, 12, 100000) < 0.05);
    for (uint64_t i = 100000; i < 1000000; i++)
        hll_add(regs, 12, mix(i));
    assert_true(rel_error(regs, 12, 1000000) < 0.05);
}

/* The per-device sketch (p = 6): good enough to tell 5 destinations from 500. */
static void test_device_sketch(void **state)
{
    (void)state;
    double worst_small = 0, worst_large = 0;
    for (uint64_t seed = 0; seed < 20; seed++) {
        uint8_t regs[HLL_BYTES(6)] = {0};
        for (uint64_t i = 0; i < 5; i++)
            hll_add(regs, 6, mix(seed << 32 | i));
        worst_small = fmax(worst_small, fabs(hll_estimate(regs, 6) - 5));
        for (uint64_t i = 5; i < 500; i++)
            hll_add(regs, 6, mix(seed << 32 | i));
        worst_large = fmax(worst_large, rel_error(regs, 6, 500));
    }
    assert_true(worst_small <= 1.0); /* linear counting: near exact when sparse */
    assert_true(worst_large < 0.45); /* 3.5 standard errors of 13% */
    uint8_t empty[HLL_BYTES(6)] = {0};
    assert_true(hll_estimate(empty, 6) == 0);
}

static void test_merge_is_union(void **state)
{
    (void)state;
    static uint8_t a[HLL_BYTES(10)], b[HLL_BYTES(10)], both[HLL_BYTES(10)];
    for (uint64_t i = 0; i < 20000; i++) {
        hll_add(i < 12000 ? a : b, 10, mix(i));
        hll_add(both, 10, mix(i));
        if (i >= 8000 && i < 12000)
            hll_add(b, 10, mix(i)); /* an overlap */
    }
    hll_merge(a, b, 10);
    assert_memory_equal(a, both, sizeof(a));
    assert_true(rel_error(a, 10, 20000) < 0.1);
    assert_true(hll_estimate(a, 3) == 0); /* p out of range */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_counts),
        cmocka_unit_test(test_device_sketch),
        cmocka_unit_test(test_merge_is_union),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
