/* The consent cache of decisions (nb_dcache.c): a hit is a faithful copy (strings, groups,
 * opt-out) that outlives the entry; an invalidation voids every entry at once; a fill that
 * raced with a write (its generation taken before the write's invalidation) is never used;
 * a device and a group with the same id are different targets; a full cache stays bounded
 * and frees what it evicts (ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "expose/nb_int.h"

static const char *keep(struct nb_consents *cs, const char *s)
{
    char *p = cs->buf + cs->used;
    memcpy(p, s, strlen(s) + 1);
    cs->used += strlen(s) + 1;
    return p;
}

/* Two consents of a device: its own and its group's. */
static void fill(struct nb_consents *cs, const char *af)
{
    memset(cs, 0, sizeof(*cs));
    cs->c[0] = (struct consent){.consent_id = keep(cs, "c-dev"), .af_id = keep(cs, af),
                                .services = EXPOSE_SVC_MONITORING_EVENT,
                                .target_kind = RESOURCE_DEVICE,
                                .target_id = keep(cs, "imsi-001010000000001"), .expires = 77};
    cs->c[1] = (struct consent){.consent_id = keep(cs, "c-grp"), .af_id = keep(cs, af),
                                .services = EXPOSE_SVC_MONITORING_EVENT,
                                .target_kind = RESOURCE_GROUP, .target_id = keep(cs, "fleet"),
                                .revoked = true};
    cs->groups[0] = cs->c[1].target_id;
    cs->n = 2;
    cs->n_groups = 1;
}

static const struct expose_target DEV = {.kind = RESOURCE_DEVICE,
                                         .supi = "imsi-001010000000001"};

static void test_hit_is_a_copy(void **state)
{
    (void)state;
    struct nb_dcache *c = nb_dcache_new(64);
    assert_non_null(c);
    struct nb_consents *in = malloc(sizeof(*in)), *out = malloc(sizeof(*out));
    bool opted = false;
    assert_false(nb_dcache_get(c, &DEV, DEV.supi, out, &opted));
    fill(in, "af-1");
    nb_dcache_put(c, nb_dcache_gen(c), &DEV, DEV.supi, in, true);
    memset(in, 0x5a, sizeof(*in)); /* the cache keeps its own copy */
    assert_true(nb_dcache_get(c, &DEV, DEV.supi, out, &opted));
    assert_true(opted);
    assert_int_equal(out->n, 2);
    assert_string_equal(out->c[0].consent_id, "c-dev");
    assert_string_equal(out->c[0].af_id, "af-1");
    assert_string_equal(out->c[0].target_id, "imsi-001010000000001");
    assert_int_equal(out->c[0].expires, 77);
    assert_false(out->c[0].revoked);
    assert_string_equal(out->c[1].consent_id, "c-grp");
    assert_true(out->c[1].revoked);
    assert_int_equal(out->c[1].target_kind, RESOURCE_GROUP);
    assert_int_equal(out->n_groups, 1);
    assert_string_equal(out->groups[0], "fleet");
    /* every string of the copy lives in the caller's buffer */
    assert_true(out->c[1].af_id >= out->buf && out->c[1].af_id < out->buf + out->used);
    assert_true(out->groups[0] >= out->buf && out->groups[0] < out->buf + out->used);
    /* a group named like the device is another target */
    struct expose_target grp = {.kind = RESOURCE_GROUP, .group_id = DEV.supi};
    assert_false(nb_dcache_get(c, &grp, DEV.supi, out, &opted));
    free(in);
    free(out);
    nb_dcache_free(c);
}

static void test_invalidation(void **state)
{
    (void)state;
    struct nb_dcache *c = nb_dcache_new(64);
    struct nb_consents *cs = malloc(sizeof(*cs));
    bool opted;
    fill(cs, "af-1");
    nb_dcache_put(c, nb_dcache_gen(c), &DEV, DEV.supi, cs, false);
    assert_true(nb_dcache_get(c, &DEV, DEV.supi, cs, &opted));
    /* a write committed (a revoke): the next decision reads the store */
    nb_dcache_invalidate(c);
    assert_false(nb_dcache_get(c, &DEV, DEV.supi, cs, &opted));
    /* a reader took the generation, read the store, then a write happened before its put:
     * what it read may predate the write, so it must never be used */
    uint64_t before = nb_dcache_gen(c);
    fill(cs, "af-1");
    nb_dcache_invalidate(c);
    nb_dcache_put(c, before, &DEV, DEV.supi, cs, false);
    assert_false(nb_dcache_get(c, &DEV, DEV.supi, cs, &opted));
    /* filled again at the current generation: a hit */
    fill(cs, "af-2");
    nb_dcache_put(c, nb_dcache_gen(c), &DEV, DEV.supi, cs, false);
    assert_true(nb_dcache_get(c, &DEV, DEV.supi, cs, &opted));
    assert_string_equal(cs->c[0].af_id, "af-2");
    free(cs);
    nb_dcache_free(c);
}

static void test_bounded(void **state)
{
    (void)state;
    struct nb_dcache *c = nb_dcache_new(4); /* one set of 4 ways */
    struct nb_consents *cs = malloc(sizeof(*cs));
    char supi[32];
    for (int i = 0; i < 50; i++) {
        snprintf(supi, sizeof(supi), "imsi-0010100000%05d", i);
        struct expose_target t = {.kind = RESOURCE_DEVICE, .supi = supi};
        fill(cs, "af-1");
        nb_dcache_put(c, nb_dcache_gen(c), &t, supi, cs, false);
        assert_true(nb_dcache_get(c, &t, supi, cs, &(bool){false})); /* the newest stays */
    }
    int hits = 0;
    for (int i = 0; i < 50; i++) {
        snprintf(supi, sizeof(supi), "imsi-0010100000%05d", i);
        struct expose_target t = {.kind = RESOURCE_DEVICE, .supi = supi};
        hits += nb_dcache_get(c, &t, supi, cs, &(bool){false});
    }
    assert_true(hits <= 4);
    free(cs);
    nb_dcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_is_a_copy),
        cmocka_unit_test(test_invalidation),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
