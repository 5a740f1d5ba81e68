/* SQN blocks reserved ahead for a subscriber's neighbours (SUB_OP_RESERVE_SQN with a range), on
 * both engines: one statement gives each active neighbour a block above its own mark, disjoint
 * from every earlier and later block; nothing of a job that fails is kept; and on PostgreSQL a
 * neighbour another instance holds locked is skipped instead of waited for. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/err.h"
#include "subscriber/subscriber.h"
#include "test_db.h"

static const struct seal_kek kek = {.id = 1, .key = {0x42, 0x13, 0x37}};

static const struct store_migration migrations[] = {
    {1, "subscriber", SUBSCRIBER_MIGRATION_1, NULL},
    {8, "subscriber: SQN slots", SUBSCRIBER_MIGRATION_SQN_SLOTS, NULL},
    {23, "subscriber deks", SUBSCRIBER_MIGRATION_DEKS, SUBSCRIBER_MIGRATION_DEKS_PG}};

struct fixture {
    struct test_db db;
    struct store *store;
    int64_t id[7]; /* subscriptions imsi-00101000000001<i> */
};

static int open_store(const char *target, struct store **out)
{
    struct store_options opt;
    store_options_init(&opt);
    opt.migrations = migrations;
    opt.migration_count = 3;
    return store_open(target, &opt, out);
}

static int run(struct store *s, struct sub_op *op)
{
    op->kek = &kek;
    op->now = 1000;
    op->actor = "test";
    return store_write_sync(s, sub_op_run, op);
}

static void supi_of(int i, char out[SUPI_STRING_MAX])
{
    snprintf(out, SUPI_STRING_MAX, "imsi-00101000000001%d", i);
}

static uint64_t mark(struct fixture *f, int i)
{
    char supi[SUPI_STRING_MAX];
    supi_of(i, supi);
    struct subscription s;
    assert_int_equal(subscriber_get(f->store, supi, &s), IOTSEC_OK);
    return s.sqn.reserved;
}

/* Seven subscriptions, ids in creation order; the fourth (3) suspended. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    test_db_make(&f->db);
    if (open_store(f->db.target, &f->store) != IOTSEC_OK)
        return -1;
    for (int i = 0; i < 7; i++) {
        struct sub_input in = {.amf = {0x80}, .state = SUB_ACTIVE};
        char supi[SUPI_STRING_MAX];
        supi_of(i, supi);
        assert_int_equal(supi_parse(supi, &in.supi), IOTSEC_OK);
        in.keys.k[0] = (uint8_t)i;
        in.sqn = (uint64_t)(10 * i) << SQN_IND_BITS; /* marks 1, 11, 21, ... */
        struct sub_op op = {.kind = SUB_OP_CREATE, .input = &in};
        assert_int_equal(run(f->store, &op), IOTSEC_OK);
        f->id[i] = op.result.id;
    }
    struct sub_op suspend = {.kind = SUB_OP_EVENT, .event = SUB_EV_SUSPEND};
    supi_of(3, suspend.supi);
    assert_int_equal(run(f->store, &suspend), IOTSEC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->store);
    test_db_remove(&f->db);
    free(f);
    return 0;
}

static int by_id(const void *a, const void *b)
{
    int64_t x = ((const struct sqn_grant *)a)->id, y = ((const struct sqn_grant *)b)->id;
    return (x > y) - (x < y);
}

/* Reserves for subscriber i and ahead for ids [id[lo], id[hi]) (hi 7: past the last). */
static int reserve(struct fixture *f, struct store *s, int i, int lo, int hi, size_t cap,
                   struct sub_op *op, struct sqn_grant *grants)
{
    memset(op, 0, sizeof(*op));
    op->kind = SUB_OP_RESERVE_SQN;
    op->sqn_block = 1000;
    supi_of(i, op->supi);
    op->sqn_near_lo = f->id[lo];
    op->sqn_near_hi = hi < 7 ? f->id[hi] : f->id[6] + 1;
    op->sqn_near = grants;
    op->sqn_near_cap = cap;
    int rc = run(s, op);
    qsort(grants, op->sqn_near_count, sizeof(*grants), by_id); /* RETURNING has no order */
    return rc;
}

static void test_ahead_blocks_are_disjoint(void **state)
{
    struct fixture *f = *state;
    uint64_t before[7];
    for (int i = 0; i < 7; i++)
        before[i] = mark(f, i);
    /* For 1, ahead over [0, 6): 0, 2, 4, 5 (not 1 itself, not the suspended 3, not 6). */
    struct sub_op op;
    struct sqn_grant g[8];
    assert_int_equal(reserve(f, f->store, 1, 0, 6, 8, &op, g), IOTSEC_OK);
    assert_int_equal(op.sqn_reserved, before[1] + 1000);
    assert_int_equal(op.sqn_near_count, 4);
    const int expect[4] = {0, 2, 4, 5};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(g[k].id, f->id[expect[k]]);
        char supi[SUPI_STRING_MAX];
        supi_of(expect[k], supi);
        assert_string_equal(g[k].supi, supi);
        assert_int_equal(g[k].hi, before[expect[k]] + 1000); /* [mark, mark + 1000) */
        assert_int_equal(mark(f, expect[k]), g[k].hi);       /* and the mark moved past it */
    }
    assert_int_equal(mark(f, 3), before[3]);
    assert_int_equal(mark(f, 6), before[6]);

    /* Again (another instance, or this one after a restart): the next blocks, never the same. */
    assert_int_equal(reserve(f, f->store, 2, 0, 7, 8, &op, g), IOTSEC_OK);
    assert_int_equal(op.sqn_reserved, before[2] + 2000);
    assert_int_equal(op.sqn_near_count, 5); /* 0, 1, 4, 5, 6 */
    assert_int_equal(g[0].hi, before[0] + 2000);
    assert_int_equal(g[1].hi, before[1] + 2000);
    assert_int_equal(g[4].id, f->id[6]);
    assert_int_equal(g[4].hi, before[6] + 1000);

    /* At most cap neighbours, the lowest ids first. */
    assert_int_equal(reserve(f, f->store, 6, 0, 7, 2, &op, g), IOTSEC_OK);
    assert_int_equal(op.sqn_near_count, 2);
    assert_int_equal(g[0].id, f->id[0]);
    assert_int_equal(g[1].id, f->id[1]);
    assert_int_equal(mark(f, 2), before[2] + 2000); /* past the cap: untouched */

    /* A neighbour whose mark cannot take another block is left out, not wrapped. */
    char supi[SUPI_STRING_MAX];
    supi_of(0, supi);
    struct sub_op high = {
        .kind = SUB_OP_RESERVE_SQN, .sqn_block = 1000, .sqn_floor = SQN_SEQ_MAX - 1500};
    strcpy(high.supi, supi);
    assert_int_equal(run(f->store, &high), IOTSEC_OK);
    assert_int_equal(reserve(f, f->store, 1, 0, 1, 8, &op, g), IOTSEC_OK);
    assert_int_equal(op.sqn_near_count, 0);
    assert_int_equal(mark(f, 0), high.sqn_reserved);
}

/* A job that fails after its reservation (a later statement failed, the writer crashed before
 * the commit) keeps nothing: its done callback sees the failure, so no block of it is ever
 * installed, and the marks are where they were. */
static int reserve_then_fail(struct store_conn *conn, void *arg)
{
    sub_op_run(conn, arg); /* checked by the test, not here: this is the writer thread */
    return IOTSEC_ERR_IO;
}

static void test_failed_job_keeps_nothing(void **state)
{
    struct fixture *f = *state;
    uint64_t before[7];
    for (int i = 0; i < 7; i++)
        before[i] = mark(f, i);
    struct sqn_grant g[8];
    struct sub_op op = {.kind = SUB_OP_RESERVE_SQN,
                        .sqn_block = 1000,
                        .kek = &kek,
                        .sqn_near = g,
                        .sqn_near_cap = 8};
    supi_of(4, op.supi);
    op.sqn_near_lo = f->id[0];
    op.sqn_near_hi = f->id[6] + 1;
    assert_int_equal(store_write_sync(f->store, reserve_then_fail, &op), IOTSEC_ERR_IO);
    assert_int_equal(op.rc, IOTSEC_OK); /* the reservation itself ran, ahead included */
    assert_int_equal(op.sqn_near_count, 5);
    for (int i = 0; i < 7; i++)
        assert_int_equal(mark(f, i), before[i]);
}

/* ---- PostgreSQL: two instances, one holding a neighbour's row locked ---- */

struct holder {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool locked, release;
    char supi[SUPI_STRING_MAX];
};

/* On instance A's writer: reserves for one subscriber and keeps the transaction (so the row
 * lock) open until the test lets go. */
static int hold_row(struct store_conn *conn, void *arg)
{
    struct holder *h = arg;
    struct sub_op op = {.kind = SUB_OP_RESERVE_SQN, .sqn_block = 1000};
    strcpy(op.supi, h->supi);
    int rc = sub_op_run(conn, &op);
    pthread_mutex_lock(&h->mu);
    h->locked = true;
    pthread_cond_broadcast(&h->cv);
    while (!h->release)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
    return rc;
}

static void test_pg_locked_neighbour_is_skipped(void **state)
{
    struct fixture *f = *state;
    if (!test_db_pg())
        skip(); /* SQLite has one writer per database: no concurrent transaction to skip */
    struct store *b;
    assert_int_equal(open_store(f->db.target, &b), IOTSEC_OK);
    uint64_t before2 = mark(f, 2);
    struct holder h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    supi_of(2, h.supi);
    struct store_job job = {hold_row, NULL, &h};
    assert_int_equal(store_submit(f->store, &job), IOTSEC_OK);
    pthread_mutex_lock(&h.mu);
    while (!h.locked)
        pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);

    /* B reserves for 0 and ahead over all: 2 is held by A, so B skips it (a wait here would
     * block this test, and in the daemon a whole group commit). */
    struct sub_op op;
    struct sqn_grant g[8];
    assert_int_equal(reserve(f, b, 0, 0, 7, 8, &op, g), IOTSEC_OK);
    assert_int_equal(op.sqn_near_count, 4); /* 1, 4, 5, 6 */
    for (size_t k = 0; k < op.sqn_near_count; k++)
        assert_true(g[k].id != f->id[2] && g[k].id != f->id[3]);
    /* B reserving for 2 itself does not wait either: busy, marked locked, nothing reserved. */
    assert_int_equal(reserve(f, b, 2, 0, 7, 8, &op, g), IOTSEC_ERR_BUSY);
    assert_true(op.sqn_locked);
    /* Unknown and exhausted stay "not found", not "locked". */
    struct sub_op unknown = {.kind = SUB_OP_RESERVE_SQN, .sqn_block = 1000};
    strcpy(unknown.supi, "imsi-001010000000999");
    assert_int_equal(run(b, &unknown), IOTSEC_ERR_NOTFOUND);
    assert_false(unknown.sqn_locked);

    pthread_mutex_lock(&h.mu);
    h.release = true;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    store_close(b);
    /* A's reservation committed after B's statement; 2's mark moved once, by A. */
    struct sub_op flush = {.kind = SUB_OP_RESERVE_SQN, .sqn_block = 1000};
    supi_of(2, flush.supi);
    assert_int_equal(run(f->store, &flush), IOTSEC_OK);
    assert_int_equal(flush.sqn_reserved, before2 + 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ahead_blocks_are_disjoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_job_keeps_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_locked_neighbour_is_skipped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
