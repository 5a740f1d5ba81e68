/* The AKA capability's in-memory state: SQN generators (reservation, resynchronisation,
 * synch-failure counting, concurrency) and AUSF contexts (consumed once, expiry, limit). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aka/aka_cache.h"
#include "base/err.h"

/* A generator as the database would hand it: nothing reserved ahead of next. */
#define DB(r) (&(struct sqn_gen){(r), (r)})

static void test_generator_reserves_then_serves(void **state)
{
    (void)state;
    struct sqn_cache *c = sqn_cache_new();
    struct sqn_step st;
    /* First sight of subscription 7, durable reservation 10: nothing may be served yet. */
    assert_int_equal(sqn_cache_take(c, 7, DB(10), 3, false, 0, 5, &st), IOTSEC_OK);
    assert_false(st.ok);
    assert_int_equal(st.reserve_target, 15);
    sqn_cache_reserved(c, 7, st.reserve_target);
    for (uint64_t seq = 10; seq < 15; seq++) {
        assert_int_equal(sqn_cache_take(c, 7, DB(10), 3, false, 0, 5, &st), IOTSEC_OK);
        assert_true(st.ok);
        assert_int_equal(st.sqn, (seq << SQN_IND_BITS) | 3);
    }
    assert_int_equal(sqn_cache_take(c, 7, DB(10), 3, false, 0, 5, &st), IOTSEC_OK);
    assert_false(st.ok); /* the block is used up */
    /* The db_reserved argument only matters the first time: the cache remembers. */
    assert_int_equal(st.reserve_target, 20);
    sqn_cache_reserved(c, 7, 12); /* an older, smaller reservation never lowers it */
    assert_int_equal(sqn_cache_take(c, 7, DB(0), 3, false, 0, 5, &st), IOTSEC_OK);
    assert_false(st.ok);
    assert_int_equal(sqn_cache_size(c), 1);
    sqn_cache_free(c);
}

static void test_loads_the_database_generator(void **state)
{
    (void)state;
    struct sqn_cache *c = sqn_cache_new();
    struct sqn_step st;
    /* A row with a block reserved ahead serves at once, from sqn_next. */
    struct sqn_gen db = {.next = 41, .reserved = 1041};
    assert_int_equal(sqn_cache_take(c, 5, &db, 2, false, 0, 1000, &st), IOTSEC_OK);
    assert_true(st.ok);
    assert_int_equal(st.sqn, (41ull << SQN_IND_BITS) | 2);
    /* A row whose next is beyond its reservation is not trusted past the reservation. */
    struct sqn_gen odd = {.next = 90, .reserved = 50};
    assert_int_equal(sqn_cache_take(c, 6, &odd, 0, false, 0, 10, &st), IOTSEC_OK);
    assert_false(st.ok);
    assert_int_equal(st.reserve_target, 60);
    sqn_cache_free(c);
}

static void test_resync_counts_until_success(void **state)
{
    (void)state;
    struct sqn_cache *c = sqn_cache_new();
    struct sqn_step st;
    sqn_cache_reserved(c, 9, 500); /* unknown id: ignored */
    assert_int_equal(sqn_cache_take(c, 9, DB(100), 0, true, 500ull << SQN_IND_BITS, 50, &st), 0);
    assert_int_equal(st.synch_failures, 1);
    assert_false(st.ok); /* SEQ_MS 500 is past the reservation: reserve first */
    assert_int_equal(st.reserve_target, 551);
    sqn_cache_reserved(c, 9, 551);
    assert_int_equal(sqn_cache_take(c, 9, DB(0), 0, false, 0, 50, &st), 0);
    assert_true(st.ok);
    assert_int_equal(st.sqn >> SQN_IND_BITS, 501);
    assert_int_equal(sqn_cache_take(c, 9, DB(0), 0, true, 10ull << SQN_IND_BITS, 50, &st), 0);
    assert_int_equal(st.synch_failures, 2);
    assert_int_equal(st.sqn >> SQN_IND_BITS, 502); /* a stale SQN_MS never moves it back */
    sqn_cache_auth_success(c, 9);
    assert_int_equal(sqn_cache_take(c, 9, DB(0), 0, true, 10ull << SQN_IND_BITS, 50, &st), 0);
    assert_int_equal(st.synch_failures, 1);
    sqn_cache_free(c);
}

struct hammer {
    struct sqn_cache *c;
    uint64_t got[2000];
    size_t n;
};

static void *take_many(void *arg)
{
    struct hammer *h = arg;
    while (h->n < 2000) {
        struct sqn_step st;
        if (sqn_cache_take(h->c, 42, DB(1), 0, false, 0, 10, &st) != IOTSEC_OK)
            return NULL;
        if (st.ok)
            h->got[h->n++] = st.sqn;
        else
            sqn_cache_reserved(h->c, 42, st.reserve_target);
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Four threads on one subscriber: every SQN handed out is distinct. */
static void test_concurrent_takes_never_repeat(void **state)
{
    (void)state;
    struct sqn_cache *c = sqn_cache_new();
    struct hammer h[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        h[i].c = c;
        h[i].n = 0;
        pthread_create(&t[i], NULL, take_many, &h[i]);
    }
    uint64_t *all = malloc(8000 * sizeof(uint64_t));
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(h[i].n, 2000);
        memcpy(all + n, h[i].got, 2000 * sizeof(uint64_t));
        n += 2000;
    }
    qsort(all, n, sizeof(uint64_t), cmp_u64);
    for (size_t i = 1; i < n; i++)
        assert_true(all[i] != all[i - 1]);
    free(all);
    sqn_cache_free(c);
}

static void test_many_subscribers_grow_the_table(void **state)
{
    (void)state;
    struct sqn_cache *c = sqn_cache_new();
    struct sqn_step st;
    for (int64_t id = 1; id <= 50000; id++) {
        assert_int_equal(sqn_cache_take(c, id, DB((uint64_t)id + 10), 1, false, 0, 5, &st), 0);
        assert_false(st.ok);
        sqn_cache_reserved(c, id, st.reserve_target);
        assert_int_equal(sqn_cache_take(c, id, DB(0), 1, false, 0, 5, &st), 0);
        assert_true(st.ok);
        assert_int_equal(st.sqn >> SQN_IND_BITS, (uint64_t)id + 10);
    }
    assert_int_equal(sqn_cache_size(c), 50000);
    sqn_cache_free(c);
}

static void test_auth_contexts(void **state)
{
    (void)state;
    struct auth_ctx_table *t = auth_ctx_table_new(3);
    struct auth_ctx ctx = {.kind = AUTH_CTX_5G_AKA, .expires_at_ms = 1000}, out;
    strcpy(ctx.supi, "imsi-001010000000001");
    ctx.xres_star[0] = 0xab;
    assert_int_equal(auth_ctx_put(t, &ctx), IOTSEC_OK);
    char id1[AUTH_CTX_ID_LEN + 1];
    strcpy(id1, ctx.id);
    assert_int_equal(strlen(id1), AUTH_CTX_ID_LEN);
    assert_int_equal(auth_ctx_put(t, &ctx), IOTSEC_OK);
    assert_string_not_equal(ctx.id, id1); /* fresh random ids */
    assert_int_equal(auth_ctx_put(t, &ctx), IOTSEC_OK);
    assert_int_equal(auth_ctx_put(t, &ctx), IOTSEC_ERR_BUSY); /* the limit */
    assert_int_equal(auth_ctx_count(t), 3);

    assert_int_equal(auth_ctx_take(t, id1, 999, false, &out), IOTSEC_OK);
    assert_int_equal(out.xres_star[0], 0xab);
    assert_string_equal(out.supi, "imsi-001010000000001");
    assert_int_equal(auth_ctx_take(t, id1, 999, false, &out), IOTSEC_ERR_NOTFOUND); /* once */
    assert_int_equal(auth_ctx_take(t, ctx.id, 1000, false, &out), IOTSEC_ERR_NOTFOUND); /* expired */
    assert_int_equal(auth_ctx_take(t, "short", 0, false, &out), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(auth_ctx_take(t, NULL, 0, false, &out), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(auth_ctx_count(t), 1);
    assert_int_equal(auth_ctx_expire(t, 999), 0);
    assert_int_equal(auth_ctx_expire(t, 1000), 1);
    assert_int_equal(auth_ctx_count(t), 0);
    assert_int_equal(auth_ctx_put(t, &ctx), IOTSEC_OK); /* room again */
    auth_ctx_table_free(t);
}

/* A confirmed result is kept without keys, cannot be confirmed again, can be deleted once,
 * has its own bound, and goes with the SUPI's deregistration. */
static void test_confirmed_results(void **state)
{
    (void)state;
    struct auth_ctx_table *t = auth_ctx_table_new(2);
    struct auth_ctx ctx = {.kind = AUTH_CTX_5G_AKA, .expires_at_ms = 1000}, out;
    strcpy(ctx.supi, "imsi-001010000000001");
    memset(ctx.kausf, 0x5a, sizeof(ctx.kausf));
    assert_int_equal(auth_ctx_put(t, &ctx), IOTSEC_OK);
    assert_int_equal(auth_ctx_take(t, ctx.id, 10, false, &out), IOTSEC_OK);
    assert_int_equal(auth_ctx_keep_result(t, &out, 5000), IOTSEC_OK);
    assert_int_equal(auth_ctx_count(t), 0); /* results are not pending contexts */
    assert_int_equal(auth_ctx_take(t, ctx.id, 20, false, &out), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(auth_ctx_take(t, ctx.id, 20, true, &out), IOTSEC_OK);
    assert_true(out.confirmed);
    assert_int_equal(out.kausf[0], 0); /* no key kept */
    assert_string_equal(out.supi, "imsi-001010000000001");
    assert_int_equal(auth_ctx_take(t, ctx.id, 20, true, &out), IOTSEC_ERR_NOTFOUND);
    /* the results' own bound */
    assert_int_equal(auth_ctx_keep_result(t, &ctx, 5000), IOTSEC_OK);
    ctx.id[0] = ctx.id[0] == 'a' ? 'b' : 'a';
    assert_int_equal(auth_ctx_keep_result(t, &ctx, 5000), IOTSEC_OK);
    assert_int_equal(auth_ctx_keep_result(t, &ctx, 5000), IOTSEC_ERR_BUSY);
    assert_int_equal(auth_ctx_put(t, &ctx), IOTSEC_OK); /* pending ones still fit */
    assert_int_equal(auth_ctx_drop_supi(t, "imsi-001010000000002"), 0);
    assert_int_equal(auth_ctx_drop_supi(t, "imsi-001010000000001"), 3);
    assert_int_equal(auth_ctx_keep_result(t, &ctx, 5000), IOTSEC_OK); /* room again */
    assert_int_equal(auth_ctx_expire(t, 5000), 1);
    auth_ctx_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator_reserves_then_serves),
        cmocka_unit_test(test_loads_the_database_generator),
        cmocka_unit_test(test_resync_counts_until_success),
        cmocka_unit_test(test_concurrent_takes_never_repeat),
        cmocka_unit_test(test_many_subscribers_grow_the_table),
        cmocka_unit_test(test_auth_contexts),
        cmocka_unit_test(test_confirmed_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
