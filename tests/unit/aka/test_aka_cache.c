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

/* The database's high-water mark and its one atomic reservation statement
 * (subscriber_store.c): max(mark, floor) + block, returned. */
static pthread_mutex_t db_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t db_reserve(uint64_t *mark, uint64_t floor, uint64_t block)
{
    pthread_mutex_lock(&db_mu);
    *mark = (*mark > floor ? *mark : floor) + block;
    uint64_t hi = *mark;
    pthread_mutex_unlock(&db_mu);
    return hi;
}

static void test_generator_reserves_then_serves(void **state)
{
    (void)state;
    struct sqn_cache *c = sqn_cache_new();
    struct sqn_step st;
    uint64_t mark = 10; /* every SEQ below 10 may have been issued */
    /* First sight of subscription 7: nothing is this instance's yet. */
    assert_int_equal(sqn_cache_take(c, 7, 3, false, 0, 5, &st), IOTSEC_OK);
    assert_false(st.ok);
    assert_int_equal(st.reserve_floor, 0);
    sqn_cache_reserved(c, 7, db_reserve(&mark, st.reserve_floor, 5), 5);
    for (uint64_t seq = 10; seq < 15; seq++) {
        assert_int_equal(sqn_cache_take(c, 7, 3, false, 0, 5, &st), IOTSEC_OK);
        assert_true(st.ok);
        assert_int_equal(st.sqn, (seq << SQN_IND_BITS) | 3);
    }
    assert_int_equal(sqn_cache_take(c, 7, 3, false, 0, 5, &st), IOTSEC_OK);
    assert_false(st.ok); /* the block is used up */
    assert_int_equal(st.reserve_floor, 15);
    sqn_cache_reserved(c, 7, 12, 5); /* an older block never replaces the one held */
    assert_int_equal(sqn_cache_take(c, 7, 3, false, 0, 5, &st), IOTSEC_OK);
    assert_false(st.ok);
    assert_int_equal(sqn_cache_size(c), 1);
    sqn_cache_free(c);
}

/* Two instances (two caches) on one database mark: their SQNs never meet. */
static void test_two_instances_share_the_mark(void **state)
{
    (void)state;
    struct sqn_cache *a = sqn_cache_new(), *b = sqn_cache_new();
    uint64_t mark = 1, seen[400];
    size_t n = 0;
    for (int round = 0; round < 200; round++) {
        struct sqn_cache *c = round % 3 ? a : b;
        struct sqn_step st;
        assert_int_equal(sqn_cache_take(c, 5, round % 3 ? 0 : 4, false, 0, 7, &st), IOTSEC_OK);
        if (!st.ok) {
            sqn_cache_reserved(c, 5, db_reserve(&mark, st.reserve_floor, 7), 7);
            assert_int_equal(sqn_cache_take(c, 5, round % 3 ? 0 : 4, false, 0, 7, &st), 0);
            assert_true(st.ok);
        }
        seen[n++] = st.sqn >> SQN_IND_BITS;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_true(seen[i] != seen[j]);
    sqn_cache_free(a);
    sqn_cache_free(b);
}

/* Blocks reserved ahead: a neighbour's generator serves from its block with no reservation of
 * its own; a second block ahead for a generator in use skips the rest of the first (never
 * reissues it); an older one is ignored; ranges are claimed once. */
static void test_prefilled_generators(void **state)
{
    (void)state;
    struct sqn_cache *c = sqn_cache_new();
    struct sqn_step st;
    sqn_cache_prefill(c, 9, "imsi-001010000000009", 120, 20); /* [100, 120) */
    assert_int_equal(sqn_cache_take(c, 9, 1, false, 0, 20, &st), IOTSEC_OK);
    assert_true(st.ok);
    assert_int_equal(st.sqn >> SQN_IND_BITS, 100);
    assert_int_equal(sqn_cache_take(c, 9, 1, false, 0, 20, &st), IOTSEC_OK);
    assert_int_equal(st.sqn >> SQN_IND_BITS, 101);
    sqn_cache_prefill(c, 9, "imsi-001010000000009", 110, 20); /* older: ignored */
    assert_int_equal(sqn_cache_take(c, 9, 1, false, 0, 20, &st), IOTSEC_OK);
    assert_int_equal(st.sqn >> SQN_IND_BITS, 102);
    sqn_cache_prefill(c, 9, "imsi-001010000000009", 160,
                      20); /* newer: [140, 160), 103..119 skipped */
    assert_int_equal(sqn_cache_take(c, 9, 1, false, 0, 20, &st), IOTSEC_OK);
    assert_int_equal(st.sqn >> SQN_IND_BITS, 140);
    /* A generator never used is a first use; one that held a block is not. */
    assert_int_equal(sqn_cache_take(c, 10, 1, false, 0, 20, &st), IOTSEC_OK);
    assert_false(st.ok);
    assert_true(st.first_use);
    for (int i = 0; i < 19; i++) /* 141..159 */
        assert_int_equal(sqn_cache_take(c, 9, 1, false, 0, 20, &st), IOTSEC_OK);
    assert_int_equal(st.sqn >> SQN_IND_BITS, 159);
    assert_int_equal(sqn_cache_take(c, 9, 1, false, 0, 20, &st), IOTSEC_OK);
    assert_false(st.ok);
    assert_false(st.first_use);
    assert_int_equal(st.reserve_floor, 160);
    assert_int_equal(sqn_cache_size(c), 2);
    /* The same SUPI binding its generator keeps it; a new subscription that got id 9 after a
     * delete (SQLite reuses the largest rowid) starts empty, without the old one's block. */
    sqn_cache_prefill(c, 9, "imsi-001010000000009", 200, 20); /* [180, 200) */
    sqn_cache_bind(c, 9, "imsi-001010000000009");
    assert_int_equal(sqn_cache_take(c, 9, 1, false, 0, 20, &st), IOTSEC_OK);
    assert_int_equal(st.sqn >> SQN_IND_BITS, 180);
    sqn_cache_bind(c, 9, "imsi-001010000000099");
    assert_int_equal(sqn_cache_take(c, 9, 1, false, 0, 20, &st), IOTSEC_OK);
    assert_false(st.ok);
    assert_true(st.first_use);
    assert_int_equal(st.reserve_floor, 0);
    /* A block reserved ahead for the old SUPI is not given to the new one either. */
    sqn_cache_prefill(c, 9, "imsi-001010000000009", 300, 20);
    sqn_cache_bind(c, 9, "imsi-001010000000099");
    assert_int_equal(sqn_cache_take(c, 9, 1, false, 0, 20, &st), IOTSEC_OK);
    assert_false(st.ok);
    for (int64_t r = 0; r < 1000; r++)
        assert_true(sqn_cache_claim_range(c, r));
    for (int64_t r = 0; r < 1000; r++)
        assert_false(sqn_cache_claim_range(c, r));
    sqn_cache_free(c);
}

static void test_resync_counts_until_success(void **state)
{
    (void)state;
    struct sqn_cache *c = sqn_cache_new();
    struct sqn_step st;
    uint64_t mark = 100;
    sqn_cache_reserved(c, 9, 500, 50); /* unknown id: ignored */
    assert_int_equal(sqn_cache_take(c, 9, 0, true, 500ull << SQN_IND_BITS, 50, &st), 0);
    assert_int_equal(st.synch_failures, 1);
    assert_false(st.ok); /* SEQ_MS 500 is past anything held: reserve above it */
    assert_int_equal(st.reserve_floor, 501);
    sqn_cache_reserved(c, 9, db_reserve(&mark, st.reserve_floor, 50), 50);
    assert_int_equal(sqn_cache_take(c, 9, 0, false, 0, 50, &st), 0);
    assert_true(st.ok);
    assert_int_equal(st.sqn >> SQN_IND_BITS, 501);
    assert_int_equal(sqn_cache_take(c, 9, 0, true, 10ull << SQN_IND_BITS, 50, &st), 0);
    assert_int_equal(st.synch_failures, 2);
    assert_int_equal(st.sqn >> SQN_IND_BITS, 502); /* a stale SQN_MS never moves it back */
    sqn_cache_auth_success(c, 9);
    assert_int_equal(sqn_cache_take(c, 9, 0, true, 10ull << SQN_IND_BITS, 50, &st), 0);
    assert_int_equal(st.synch_failures, 1);
    sqn_cache_free(c);
}

struct hammer {
    struct sqn_cache *c;
    uint64_t *mark;
    uint64_t got[2000];
    size_t n;
};

static void *take_many(void *arg)
{
    struct hammer *h = arg;
    while (h->n < 2000) {
        struct sqn_step st;
        if (sqn_cache_take(h->c, 42, 0, false, 0, 10, &st) != IOTSEC_OK)
            return NULL;
        if (st.ok)
            h->got[h->n++] = st.sqn;
        else
            sqn_cache_reserved(h->c, 42, db_reserve(h->mark, st.reserve_floor, 10), 10);
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Four threads on one subscriber, reservations racing: every SQN handed out is distinct. */
static void test_concurrent_takes_never_repeat(void **state)
{
    (void)state;
    struct sqn_cache *c = sqn_cache_new();
    uint64_t mark = 1;
    struct hammer *h = calloc(4, sizeof(*h));
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        h[i].c = c;
        h[i].mark = &mark;
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
    free(h);
    sqn_cache_free(c);
}

static void test_many_subscribers_grow_the_table(void **state)
{
    (void)state;
    struct sqn_cache *c = sqn_cache_new();
    struct sqn_step st;
    for (int64_t id = 1; id <= 50000; id++) {
        uint64_t mark = (uint64_t)id + 10;
        assert_int_equal(sqn_cache_take(c, id, 1, false, 0, 5, &st), 0);
        assert_false(st.ok);
        sqn_cache_reserved(c, id, db_reserve(&mark, st.reserve_floor, 5), 5);
        assert_int_equal(sqn_cache_take(c, id, 1, false, 0, 5, &st), 0);
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
    assert_int_equal(auth_ctx_take(t, ctx.id, 1000, false, &out),
                     IOTSEC_ERR_NOTFOUND); /* expired */
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
        cmocka_unit_test(test_two_instances_share_the_mark),
        cmocka_unit_test(test_prefilled_generators),
        cmocka_unit_test(test_resync_counts_until_success),
        cmocka_unit_test(test_concurrent_takes_never_repeat),
        cmocka_unit_test(test_many_subscribers_grow_the_table),
        cmocka_unit_test(test_auth_contexts),
        cmocka_unit_test(test_confirmed_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
