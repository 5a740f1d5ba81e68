/* The subscription cache (sub_cache.h) on both engines, with a test clock (no sleeping):
 * a second read of a subscriber is served from memory; a change written by "another instance"
 * (plain SQL on the table, no local hook) is served stale only until the next read of the
 * change log, and the trigger logs it whatever wrote it; a change made through this process's
 * subscriber jobs is seen at once; when the log cannot be read, nothing is served from memory
 * past the freshness bound; a gap in the log (pruned past the reader) drops everything; a
 * deleted subscription is gone after the next read of the log; the row count stays bounded; a
 * hit opens the credential from the cache's own envelope (no KEK, no data key), a miss through
 * the row's data key under the KEK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "subscriber/sub_cache.h"
#include "subscriber/subscriber.h"
#include "test_db.h"

static const struct seal_kek kek = {.id = 1, .key = {0x42, 0x13, 0x37}};

struct fixture {
    struct test_db db;
    struct store *store;
    struct sub_cache *cache;
    int64_t clock;
};

static int64_t test_clock(void *ctx)
{
    return *(int64_t *)ctx;
}

static void supi_of(int i, char out[SUPI_STRING_MAX])
{
    snprintf(out, SUPI_STRING_MAX, "imsi-0010100000%05d", i);
}

static int run(struct store *s, struct sub_op *op)
{
    op->kek = &kek;
    op->now = 1000;
    op->actor = "test";
    return store_write_sync(s, sub_op_run, op);
}

static void create(struct fixture *f, int i)
{
    struct sub_input in = {.amf = {0x80}, .state = SUB_ACTIVE};
    char supi[SUPI_STRING_MAX];
    supi_of(i, supi);
    assert_int_equal(supi_parse(supi, &in.supi), IOTSEC_OK);
    in.keys.k[0] = (uint8_t)i;
    in.keys.opc[0] = 0x55;
    struct sub_op op = {.kind = SUB_OP_CREATE, .input = &in};
    assert_int_equal(run(f->store, &op), IOTSEC_OK);
}

/* SQL run as a writer job, as another instance (or a tool) would change the table. */
static int exec_job(struct store_conn *conn, void *arg)
{
    return store_exec(conn, arg);
}

static void sql(struct fixture *f, const char *text)
{
    assert_int_equal(store_write_sync(f->store, exec_job, (void *)text), IOTSEC_OK);
}

static int setup(void **state)
{
    static const struct store_migration migrations[] = {
        {1, "subscriber", SUBSCRIBER_MIGRATION_1, NULL},
        {24, "subscriber deks", SUBSCRIBER_MIGRATION_DEKS, SUBSCRIBER_MIGRATION_DEKS_PG},
        {27, "subscriber: change log", SUBSCRIBER_MIGRATION_CHANGES,
         SUBSCRIBER_MIGRATION_CHANGES_PG}};
    struct fixture *f = calloc(1, sizeof(*f));
    test_db_make(&f->db);
    struct store_options opt;
    store_options_init(&opt);
    opt.migrations = migrations;
    opt.migration_count = 3;
    if (store_open(f->db.target, &opt, &f->store) != IOTSEC_OK)
        return -1;
    for (int i = 0; i < 4; i++)
        create(f, i);
    f->cache = sub_cache_new(f->store, &kek, 0);
    f->clock = 100000;
    sub_cache_set_clock(f->cache, test_clock, &f->clock);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sub_cache_free(f->cache);
    store_close(f->store);
    test_db_remove(&f->db);
    free(f);
    return 0;
}

/* Looks up subscriber i; returns the rc, its state in *st. */
static int get(struct fixture *f, int i, enum sub_state *st)
{
    char supi[SUPI_STRING_MAX];
    supi_of(i, supi);
    struct subscription row;
    struct sub_keys keys;
    int rc = sub_cache_get(f->cache, supi, &row, &keys);
    if (rc == IOTSEC_OK) {
        assert_int_equal(keys.k[0], (uint8_t)i); /* the right row's credentials, opened */
        assert_int_equal(keys.opc[0], 0x55);
        assert_string_equal(row.supi.value, supi + 5);
        *st = row.state;
    }
    return rc;
}

static uint64_t hits(struct fixture *f)
{
    struct sub_cache_stats s;
    sub_cache_stats(f->cache, &s);
    return s.hits;
}

static void test_second_read_from_memory(void **state)
{
    struct fixture *f = *state;
    enum sub_state st;
    assert_int_equal(get(f, 1, &st), IOTSEC_OK); /* reads the log's position, then the row */
    assert_int_equal(st, SUB_ACTIVE);
    assert_int_equal(hits(f), 0);
    assert_int_equal(get(f, 1, &st), IOTSEC_OK);
    assert_int_equal(hits(f), 1);
    assert_int_equal(get(f, 7, &st), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(get(f, 7, &st), IOTSEC_ERR_NOTFOUND); /* absence is never cached */
    assert_int_equal(hits(f), 1);
}

static void test_other_instance_change_seen_at_next_log_read(void **state)
{
    struct fixture *f = *state;
    enum sub_state st;
    assert_int_equal(get(f, 1, &st), IOTSEC_OK);
    assert_int_equal(get(f, 1, &st), IOTSEC_OK);
    assert_int_equal(hits(f), 1);
    /* No hook runs here: only the trigger's log tells the cache. */
    sql(f, "UPDATE subscriptions SET state = 'suspended' WHERE supi = 'imsi-001010000000001'");
    assert_int_equal(get(f, 1, &st), IOTSEC_OK);
    assert_int_equal(st, SUB_ACTIVE); /* within the poll interval: still the cached copy */
    f->clock += SUB_CACHE_POLL_MS;
    assert_int_equal(get(f, 1, &st), IOTSEC_OK);
    assert_int_equal(st, SUB_SUSPENDED);
    /* An SQN reservation is not a change: the row stays cached. */
    uint64_t before = hits(f);
    sql(f, "UPDATE subscriptions SET sqn_reserved = sqn_reserved + 1000");
    f->clock += SUB_CACHE_POLL_MS;
    assert_int_equal(get(f, 1, &st), IOTSEC_OK);
    assert_int_equal(hits(f), before + 1);
}

static void test_local_change_at_once(void **state)
{
    struct fixture *f = *state;
    enum sub_state st;
    assert_int_equal(get(f, 2, &st), IOTSEC_OK);
    struct sub_op op = {.kind = SUB_OP_EVENT, .event = SUB_EV_SUSPEND};
    supi_of(2, op.supi);
    assert_int_equal(run(f->store, &op), IOTSEC_OK);
    assert_int_equal(get(f, 2, &st), IOTSEC_OK); /* same instant: no log read */
    assert_int_equal(st, SUB_SUSPENDED);
    struct sub_op del = {.kind = SUB_OP_DELETE};
    supi_of(2, del.supi);
    assert_int_equal(run(f->store, &del), IOTSEC_OK);
    assert_int_equal(get(f, 2, &st), IOTSEC_ERR_NOTFOUND);
}

static void test_no_log_no_memory(void **state)
{
    struct fixture *f = *state;
    enum sub_state st;
    assert_int_equal(get(f, 3, &st), IOTSEC_OK);
    assert_int_equal(get(f, 3, &st), IOTSEC_OK);
    assert_int_equal(hits(f), 1);
    /* The row changes (and the change is logged), then the log becomes unreadable. */
    sql(f, "UPDATE subscriptions SET state = 'revoked' WHERE supi = 'imsi-001010000000003'");
    sql(f, "ALTER TABLE subscription_changes RENAME TO subscription_changes_away");
    f->clock += SUB_CACHE_POLL_MS; /* the log read fails; the last good one is 200 ms old */
    assert_int_equal(get(f, 3, &st), IOTSEC_OK);
    assert_int_equal(st, SUB_ACTIVE); /* still within the freshness bound */
    f->clock += SUB_CACHE_FRESH_MS;   /* past the bound: the database answers */
    assert_int_equal(get(f, 3, &st), IOTSEC_OK);
    assert_int_equal(st, SUB_REVOKED);
    assert_int_equal(hits(f), 2);
    struct sub_cache_stats s;
    sub_cache_stats(f->cache, &s);
    assert_true(s.poll_failures >= 2);
    sql(f, "ALTER TABLE subscription_changes_away RENAME TO subscription_changes");
}

static void test_gap_drops_everything(void **state)
{
    struct fixture *f = *state;
    enum sub_state st;
    for (int i = 0; i < 4; i++)
        assert_int_equal(get(f, i, &st), IOTSEC_OK);
    struct sub_cache_stats s;
    sub_cache_stats(f->cache, &s);
    assert_int_equal(s.entries, 4);
    /* Two changes, the older one pruned before this instance read it. */
    sql(f, "UPDATE subscriptions SET not_after = 5 WHERE supi = 'imsi-001010000000000'");
    sql(f, "UPDATE subscriptions SET not_after = 5 WHERE supi = 'imsi-001010000000001'");
    sql(f, "DELETE FROM subscription_changes WHERE seq = (SELECT min(seq) FROM"
           " subscription_changes)");
    f->clock += SUB_CACHE_POLL_MS;
    assert_int_equal(get(f, 3, &st), IOTSEC_OK);
    sub_cache_stats(f->cache, &s);
    assert_int_equal(s.flushes, 2); /* the first read of the log, then the gap */
    assert_int_equal(s.entries, 1); /* 3, read again after the flush */
}

/* A database restored from an older copy (or a failover that lost committed changes) hands
 * out change numbers again: the same number for another SUPI must not pass for the change
 * already applied. */
static void test_rewound_log_drops_everything(void **state)
{
    struct fixture *f = *state;
    enum sub_state st;
    assert_int_equal(get(f, 1, &st), IOTSEC_OK);
    sql(f, "UPDATE subscriptions SET not_before = 0 WHERE supi = 'imsi-001010000000000'");
    sql(f, "UPDATE subscriptions SET not_before = 0 WHERE supi = 'imsi-001010000000000'");
    f->clock += SUB_CACHE_POLL_MS;
    assert_int_equal(get(f, 1, &st), IOTSEC_OK); /* applies 1 and 2 (both for ...0) */
    uint64_t before = hits(f);
    assert_int_equal(get(f, 1, &st), IOTSEC_OK);
    assert_int_equal(hits(f), before + 1);
    /* Rewound by one: number 2 is handed out again, for another subscriber. */
    sql(f, "DELETE FROM subscription_changes WHERE seq = 2");
    sql(f, "UPDATE subscription_change_seq SET seq = 1");
    sql(f, "UPDATE subscriptions SET state = 'suspended' WHERE supi = 'imsi-001010000000001'");
    f->clock += SUB_CACHE_POLL_MS;
    assert_int_equal(get(f, 1, &st), IOTSEC_OK);
    assert_int_equal(st, SUB_SUSPENDED);
    /* Rewound below the position: the anchor is gone. */
    assert_int_equal(get(f, 1, &st), IOTSEC_OK); /* cached again */
    sql(f, "DELETE FROM subscription_changes");
    sql(f, "UPDATE subscription_change_seq SET seq = 0");
    sql(f, "UPDATE subscriptions SET state = 'active' WHERE supi = 'imsi-001010000000001'");
    f->clock += SUB_CACHE_POLL_MS;
    assert_int_equal(get(f, 1, &st), IOTSEC_OK);
    assert_int_equal(st, SUB_ACTIVE);
}

/* A hit needs neither the KEK nor the row's data key: the credential kept is sealed under the
 * cache's own key. A miss does need them (here: a KEK that no longer opens anything). */
static void test_hit_opens_without_kek(void **state)
{
    struct fixture *f = *state;
    struct seal_kek changing = kek;
    sub_cache_free(f->cache);
    f->cache = sub_cache_new(f->store, &changing, 0);
    sub_cache_set_clock(f->cache, test_clock, &f->clock);
    enum sub_state st;
    assert_int_equal(get(f, 3, &st), IOTSEC_OK); /* a miss: opened under the KEK, then kept */
    changing.key[0] ^= 0xff;
    assert_int_equal(get(f, 3, &st), IOTSEC_OK); /* the right K and OPc (get checks them) */
    assert_int_equal(hits(f), 1);
    char supi[SUPI_STRING_MAX];
    supi_of(2, supi);
    struct subscription row;
    struct sub_keys keys;
    assert_int_equal(sub_cache_get(f->cache, supi, &row, &keys), IOTSEC_ERR_AUTH);
    assert_int_equal(sub_cache_get(f->cache, supi, &row, &keys), IOTSEC_ERR_AUTH); /* not kept */
    assert_int_equal(hits(f), 1);
}

static void test_bounded(void **state)
{
    struct fixture *f = *state;
    sub_cache_free(f->cache);
    f->cache = sub_cache_new(f->store, &kek, 64); /* one row per stripe */
    sub_cache_set_clock(f->cache, test_clock, &f->clock);
    for (int i = 4; i < 300; i++)
        create(f, i);
    enum sub_state st;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 300; i++)
            assert_int_equal(get(f, i, &st), IOTSEC_OK);
    struct sub_cache_stats s;
    sub_cache_stats(f->cache, &s);
    assert_true(s.entries <= 64);
    assert_true(s.entries > 0);
    assert_true(s.evictions > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_read_from_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_instance_change_seen_at_next_log_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_local_change_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_log_no_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_drops_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewound_log_drops_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hit_opens_without_kek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
